"""Operator actions on events: what each may do from each state.

Pure functions, so the lifecycle is testable without a store, and every backend
applies the same rules inside its own transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from bridge.core.models import EventState, ScheduleAction, Severity

__all__ = [
    "MAX_NAME",
    "MAX_NOTE",
    "NOTE_REQUIRED",
    "SCHEDULE_SOURCE",
    "SCHEDULE_VERBS",
    "Action",
    "ActionError",
    "ActionRefused",
    "ActionResult",
    "apply_action",
    "check_name",
    "check_note",
]

MAX_NOTE = 2000
# The source of the schedule engine's job events (resource: the job's name).
SCHEDULE_SOURCE = "schedule"
# How the journal names an operator's schedule change that resolved a job's event.
SCHEDULE_VERBS = {
    ScheduleAction.DONE: "marked done",
    ScheduleAction.HOLD: "held",
    ScheduleAction.RESCHEDULE: "rescheduled",
    ScheduleAction.RELEASE: "released",
}


class Action(enum.StrEnum):
    ACK = "ack"
    UNACK = "unack"
    NOTE = "note"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    ESCALATE = "escalate"
    OWN = "own"
    DISOWN = "disown"
    ASSIGN = "assign"
    RESOLVE = "resolve"


# A reason is required where the action cannot be told from what it did.
NOTE_REQUIRED = frozenset({Action.NOTE, Action.RESOLVE})
MAX_NAME = 64


class ActionError(ValueError):
    """The request itself is wrong (an empty note, a shelve time in the past)."""


class ActionRefused(Exception):
    """The event's state does not allow it (already acknowledged by someone else)."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What one operator action did to one event, refusals included, so each event
    can be answered for."""

    event_id: int
    ok: bool
    message: str
    unknown: bool = False


def check_note(note: str, *, required: bool) -> str:
    note = note.strip()
    if required and not note:
        raise ActionError("the note is empty")
    if len(note) > MAX_NOTE:
        raise ActionError(f"the note is {len(note)} characters; at most {MAX_NOTE}")
    return note


def check_name(name: str) -> str:
    """An operator's name, as the journal and the owner column keep it."""
    name = name.strip()
    if not name:
        raise ActionError("the name is empty")
    if len(name) > MAX_NAME or not name.isprintable():
        raise ActionError(f"the name must be at most {MAX_NAME} printable characters")
    return name


def _who(row: dict[str, Any]) -> str:
    return str(row.get("acked_by") or "someone")


def apply_action(
    event_id: int,
    row: dict[str, Any],
    action: Action,
    actor: str,
    now: float,
    *,
    until: float | None = None,
    to: str | None = None,
) -> dict[str, Any]:
    """The column updates `action` makes to an event `row`; raise ActionRefused if none.

    `to` is the operator an ASSIGN gives the event to.
    """
    state = EventState(row["state"])
    if action is Action.ACK:
        if state is EventState.ACKNOWLEDGED:
            raise ActionRefused(f"event {event_id} is already acknowledged by {_who(row)}")
        if state is EventState.RESOLVED:
            if row.get("acked_by"):
                raise ActionRefused(
                    f"event {event_id} is resolved and was acknowledged by {_who(row)}"
                )
            # Resolved unseen: the ack records that someone has now seen it.
            return {"acked_by": actor, "acked_at": now}
        return {
            "state": EventState.ACKNOWLEDGED.value,
            "acked_by": actor,
            "acked_at": now,
            "shelved_until": None,
        }
    if action is Action.UNACK:
        if state is not EventState.ACKNOWLEDGED:
            raise ActionRefused(f"event {event_id} is {state.value}, not acknowledged")
        return {"state": EventState.OPEN.value, "acked_by": None, "acked_at": None}
    if action is Action.NOTE:
        return {}
    if action is Action.SHELVE:
        if until is None or until <= now:
            raise ActionError("shelve needs a time in the future")
        if state is EventState.RESOLVED:
            raise ActionRefused(f"event {event_id} is resolved; nothing to shelve")
        return {"state": EventState.SHELVED.value, "shelved_until": until}
    if action is Action.UNSHELVE:
        if state is not EventState.SHELVED:
            raise ActionRefused(f"event {event_id} is {state.value}, not shelved")
        restored = EventState.ACKNOWLEDGED if row.get("acked_by") else EventState.OPEN
        return {"state": restored.value, "shelved_until": None}
    if action is Action.ESCALATE:
        severity = Severity(row["severity"])
        if severity >= Severity.CRITICAL:
            raise ActionRefused(f"event {event_id} is already critical")
        if state is EventState.RESOLVED:
            raise ActionRefused(f"event {event_id} is resolved; raise a new one instead")
        raised = Severity(severity + 1) if severity >= Severity.INFO else Severity.WARNING
        # The operator's grade stands: the rules may raise it further, never lower it.
        updates: dict[str, Any] = {"severity": int(raised), "operator_severity": int(raised)}
        if state is EventState.ACKNOWLEDGED:  # a severity rise re-opens, as for a device
            updates.update(state=EventState.OPEN.value, opened_at=now)
        return updates
    if action is Action.OWN:
        if row.get("owner") == actor:
            raise ActionRefused(f"event {event_id} is already yours")
        return {"owner": actor}
    if action is Action.DISOWN:
        if not row.get("owner"):
            raise ActionRefused(f"event {event_id} has no owner")
        return {"owner": None}
    if action is Action.ASSIGN:
        if to is None:
            raise ActionError("assign needs the name of an operator")
        name = check_name(to)
        if row.get("owner") == name:
            raise ActionRefused(f"event {event_id} is already {name}'s")
        return {"owner": name}
    if action is Action.RESOLVE:
        if state is EventState.RESOLVED:
            raise ActionRefused(f"event {event_id} is already resolved")
        # Resolved by a person, who has seen it: it does not wait in the list for an ack.
        updates = {"state": EventState.RESOLVED.value, "resolved_at": now, "shelved_until": None}
        if not row.get("acked_by"):
            updates.update(acked_by=actor, acked_at=now)
        return updates
    raise ActionError(f"unknown action {action!r}")  # pragma: no cover - exhaustive enum
