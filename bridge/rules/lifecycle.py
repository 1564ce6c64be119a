"""The event lifecycle every store backend applies: what an observation does to an
event, which maintenance window mutes it, and what the journal says about it.

Pure functions over plain event rows (a dict of the columns in `MUTABLE` plus
the identity columns of a new row), so SQLite and a server backend apply the
same rules from the same code and this is tested without any database. The
backends read the rows and windows inside their write transaction, call these,
and write what comes back.
"""

from __future__ import annotations

import fnmatch
import glob
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.core.actions import SCHEDULE_SOURCE, SCHEDULE_VERBS, Action
from bridge.core.models import EventInput, EventState, JobSignalError, ScheduleAction, Severity
from bridge.core.text import human_utc

__all__ = [
    "MAX_MESSAGE",
    "MAX_OUTPUT_TAIL",
    "MUTABLE",
    "OPERATOR_WINDOW",
    "Folded",
    "JournalLine",
    "WindowMatcher",
    "action_note",
    "check_schedule_change",
    "covers",
    "fold_events",
    "moot_resolve_note",
    "moot_resolved",
    "new_event_row",
    "operator_window",
    "operator_window_notes",
    "schedule_change_note",
    "schedule_keys",
    "transition",
    "window_journal",
]

OPERATOR_WINDOW = "operator"  # the source of a window an operator opened from an event
MAX_MESSAGE = 2000  # a job run's message, a schedule change's reason
MAX_OUTPUT_TAIL = 64 * 1024  # the end of a job's output that a run keeps
# What a raise or clear may change on an existing event.
MUTABLE = (
    "state", "severity", "summary", "count", "last_seen", "value", "resolved_at", "opened_at",
    "acked_by", "acked_at", "shelved_until", "suppressed_by", "operator_severity",
)  # fmt: skip

# (dedup key, at, actor, action, note): the journal line of one event.
JournalLine = tuple[str, float, str, str, str]


# -- maintenance suppression -----------------------------------------------------
def covers(hosts: Iterable[str], resource: str) -> bool:
    """Whether a window's host globs cover an event's resource (case matters)."""
    return any(fnmatch.fnmatchcase(resource, h) for h in hosts)


class WindowMatcher:
    """The open windows of one transaction: which (first) one mutes a resource.

    Remembers each answer, since a burst names the same few resources again and again.
    """

    def __init__(self, windows: Sequence[tuple[str, Sequence[str]]]) -> None:
        self._windows = list(windows)
        self._seen: dict[str, str | None] = {}

    def __call__(self, resource: str) -> str | None:
        if not self._windows:
            return None
        if resource not in self._seen:
            self._seen[resource] = next(
                (name for name, hosts in self._windows if covers(hosts, resource)), None
            )
        return self._seen[resource]


def operator_window(host: str) -> tuple[str, list[str]]:
    """The name and host globs of the window an operator opens for one host from its
    events: one per host (a second replaces the first), matching that host alone."""
    return f"{OPERATOR_WINDOW}:{host}", [glob.escape(host)]


def operator_window_notes(name: str, host: str, end: float, reason: str) -> tuple[str, str]:
    """(the note on each of the host's events, the note of the bridge's own line)."""
    until = human_utc(end)
    return f"{host} until {until}: {reason}", f"{name} until {until}: {reason}"


def window_journal(opened: Iterable[str], closed: Iterable[str]) -> list[tuple[str, str]]:
    """(action, note) of the bridge's journal lines for windows opened and closed, by name."""
    shut = set(closed)
    return [
        (f"maintenance {'closed' if name in shut else 'opened'}", name)
        for name in sorted(shut | set(opened))
    ]


# -- the state machine -------------------------------------------------------------
def new_event_row(e: EventInput, suppressed_by: str | None) -> dict[str, Any]:
    """The row a first raise creates (every column but the backend's id and seq)."""
    return {
        "dedup_key": e.key, "source": e.source, "resource": e.resource,
        "check_name": e.check, "severity": int(e.severity),
        "state": EventState.OPEN.value, "summary": e.summary, "detail": e.detail,
        "count": 1, "first_seen": e.at, "last_seen": e.at, "value": e.value,
        "resolved_at": None, "opened_at": e.at, "acked_by": None, "acked_at": None,
        "shelved_until": None, "operator_severity": None,
        "evidence": json.dumps(e.evidence) if e.evidence else None,
        "suppressed_by": suppressed_by,
    }  # fmt: skip


def transition(row: dict[str, Any], e: EventInput) -> tuple[str, str] | None:
    """Apply one raise or clear to a known event row; return the journal action, if any.

    An operator's decisions outlast the next observation: a severity an operator
    set is a floor (the rules may raise past it, never lower it) until the event
    resolves; owner and shelving are never touched by a raise.
    """
    state = row["state"]
    if e.severity is Severity.OK:
        if state == EventState.RESOLVED.value:
            return None
        row.update(
            state=EventState.RESOLVED.value,
            resolved_at=e.at,
            last_seen=e.at,
            operator_severity=None,
        )
        return ("resolve", e.summary)
    action: tuple[str, str] | None = None
    floor = row.get("operator_severity")
    severity = int(e.severity)
    if floor is not None and state != EventState.RESOLVED.value:
        severity = max(severity, int(floor))
    rose_after_ack = state == EventState.ACKNOWLEDGED.value and severity > row["severity"]
    if state == EventState.RESOLVED.value or rose_after_ack:
        row.update(
            state=EventState.OPEN.value,
            resolved_at=None,
            opened_at=e.at,
            acked_by=None,
            acked_at=None,
            shelved_until=None,
        )
        if state == EventState.RESOLVED.value:
            row["operator_severity"] = None
        action = ("reopen", e.summary)
    elif severity != row["severity"]:
        action = ("severity", f"{Severity(row['severity']).label} -> {Severity(severity).label}")
    row.update(
        severity=severity,
        summary=e.summary,
        count=row["count"] + 1,
        last_seen=e.at,
        value=e.value,
    )
    return action


@dataclass
class Folded:
    """What a batch of observations does, for the backend to write in one transaction.

    `rows`: every touched event by dedup key (new ones in `created`, the rest to
    update in the `MUTABLE` columns); `evidence`: new evidence (JSON) for events
    re-opened; `journal`: their lines in order.
    """

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    evidence: dict[str, str] = field(default_factory=dict)
    journal: list[JournalLine] = field(default_factory=list)

    @property
    def inserts(self) -> list[dict[str, Any]]:
        return [row for key, row in self.rows.items() if key in self.created]

    @property
    def updates(self) -> dict[str, dict[str, Any]]:
        return {key: row for key, row in self.rows.items() if key not in self.created}


def fold_events(
    events: Sequence[EventInput],
    existing: Mapping[str, dict[str, Any]],
    window_of: WindowMatcher,
    actor: str,
) -> Folded:
    """Apply raises and clears, in order, to the events they name.

    `existing`: the stored rows (the `MUTABLE` columns) of the keys the batch names;
    they are updated in place. Rows are folded in memory, so a burst that repeats
    one key becomes one write with the right count rather than thousands of updates.
    """
    out = Folded()
    for e in events:
        row = out.rows.get(e.key)
        if row is None and e.key in existing:
            row = out.rows[e.key] = existing[e.key]
        if row is None:
            if e.severity is Severity.OK:
                continue  # a clear for something never raised
            out.rows[e.key] = new_event_row(e, window_of(e.resource))
            out.created.add(e.key)
            out.journal.append((e.key, e.at, actor, "raise", e.summary))
            continue
        if e.severity is not Severity.OK:
            row["suppressed_by"] = window_of(e.resource)
        action = transition(row, e)
        if action is not None:
            out.journal.append((e.key, e.at, actor, *action))
            # A re-opened event shows what the host looked like when it was
            # raised again, not at its first raise days ago; a re-grade keeps
            # the evidence of the raise, which is what the details call it.
            # Kept apart from the other columns: a backend need not read every
            # event's evidence to fold.
            if e.evidence and action[0] == "reopen" and e.key not in out.created:
                out.evidence[e.key] = json.dumps(e.evidence)
    return out


# -- the journal text of operators' actions ------------------------------------------
def action_note(
    action: Action,
    row: Mapping[str, Any],
    updates: Mapping[str, Any],
    note: str,
    *,
    until: float | None = None,
    to: str | None = None,
) -> str:
    """The journal note of an operator action on one event: what it did, then the
    operator's note. `row` is the event before, `updates` what the action changed."""
    suffix = f": {note}" if note else ""
    if action is Action.SHELVE and until is not None:
        return f"until {human_utc(until)}{suffix}"
    if action is Action.ESCALATE:
        before, after = Severity(row["severity"]).label, Severity(updates["severity"]).label
        return f"{before} -> {after}{suffix}"
    if action is Action.DISOWN or (action is Action.OWN and row["owner"]):
        return f"from {row['owner']}{suffix}"
    if action is Action.ASSIGN:
        return f"to {to}{suffix}"
    return note


# -- the schedule --------------------------------------------------------------------
def check_schedule_change(
    action: ScheduleAction, reason: str, new_time: float | None, now: float
) -> str:
    """The reason, stripped; JobSignalError (nothing changed) for a change that
    cannot be made: no reason, a reschedule without a future time, a time otherwise."""
    reason = reason.strip()
    if not reason:
        raise JobSignalError("a reason is required")
    if len(reason) > MAX_MESSAGE:
        raise JobSignalError(f"the reason is {len(reason)} characters; at most {MAX_MESSAGE}")
    if action is ScheduleAction.RESCHEDULE:
        if new_time is None:
            raise JobSignalError("reschedule needs a new time")
        if new_time <= now:
            raise JobSignalError(f"the new time {human_utc(new_time)} is in the past")
    elif new_time is not None:
        raise JobSignalError(f"{action.value} takes no new time")
    return reason


def schedule_change_note(job: str, occurrence: float, new_time: float | None, reason: str) -> str:
    """The bridge's journal note of an operator's schedule change."""
    note = f"job {job} occurrence {human_utc(occurrence)}"
    if new_time is not None:
        note += f" -> {human_utc(new_time)}"
    return f"{note}: {reason}"


def schedule_keys(job: str, checks: Iterable[str]) -> list[str]:
    """The dedup keys of a job's schedule events (`checks`: late, failed, ...)."""
    return [f"{SCHEDULE_SOURCE}|{job}|{check}" for check in checks]


def moot_resolved(now: float) -> dict[str, Any]:
    """The columns of a job's event that a schedule change ends, as a clear sets them."""
    return {
        "state": EventState.RESOLVED.value,
        "resolved_at": now,
        "last_seen": now,
        "operator_severity": None,
    }


def moot_resolve_note(action: ScheduleAction, reason: str) -> str:
    """The journal note on a job's event that an operator's schedule change resolved."""
    return f"{SCHEDULE_VERBS.get(action, action.value)}: {reason}"
