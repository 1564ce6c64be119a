"""The shift handover: what the outgoing shift leaves to the incoming one.

The shift is the time since the last accepted handover (or the configured
number of hours when none was): what is still open, what is acknowledged but
not fixed (with the notes that say why), what went wrong in the schedule, the
operators' notes, and who was on the bridge. The incoming operator accepts it,
and that acceptance is a journal entry with their name: the next shift starts
there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bridge.config import Config
from bridge.event_json import event_json, journal_json
from bridge.models import Event, EventState, JobRun, JobRunStatus, JournalEntry, ScheduleChange
from bridge.reports import (
    CHANGE_HEADERS,
    Table,
    change_json,
    change_rows,
    render_markdown,
    render_text,
)
from bridge.schedule import evaluate
from bridge.store.base import Store
from bridge.text import human_duration, human_time, human_utc, safe_text

__all__ = [
    "HANDOVER_ACTION",
    "Handover",
    "HandoverData",
    "accept_handover",
    "build_handover",
    "compute_handover",
    "handover_heading",
    "handover_json",
    "handover_tables",
    "read_handover_data",
    "render_handover",
]

HANDOVER_ACTION = "handover"
# Journal entries written by bridge itself, not by a person on the bridge.
SYSTEM_ACTORS = frozenset({"bridge"})
NOTE_ACTIONS = ("note", "ack", "unack", "shelve", "escalate", "own", "sign-on")
MAX_ITEMS = 500


@dataclass(frozen=True, slots=True)
class ScheduleException:
    job: str
    state: str
    at: float | None
    detail: str


@dataclass
class Handover:
    start: float
    end: float
    previous: JournalEntry | None  # the handover this shift started from
    unacknowledged: list[Event] = field(default_factory=list)
    acknowledged: list[tuple[Event, list[JournalEntry]]] = field(default_factory=list)
    exceptions: list[ScheduleException] = field(default_factory=list)
    changes: list[ScheduleChange] = field(default_factory=list)
    notes: list[JournalEntry] = field(default_factory=list)
    on_bridge: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HandoverData:
    """What a handover reads from the store; `compute_handover` is pure, so the
    console can run it in a thread while its event loop keeps answering keys."""

    since: float
    previous: JournalEntry | None
    events: list[Event]
    notes_of: dict[int, list[JournalEntry]]
    runs: list[JobRun]
    changes: list[ScheduleChange]
    entries: list[JournalEntry]


async def read_handover_data(
    store: Store, config: Config, now: float, *, since: float | None = None
) -> HandoverData:
    previous = await store.last_journal(HANDOVER_ACTION)
    if since is None:
        default = now - config.reports.handover_hours * 3600
        since = previous.at if previous is not None else default
    keep = config.events.keep_unacknowledged_resolved
    events = await store.list_events(limit=MAX_ITEMS, keep_unacked_resolved=keep)
    notes_of = {
        e.id: await store.journal(e.id, limit=50)
        for e in events
        if e.state is EventState.ACKNOWLEDGED
    }
    runs = await store.job_runs(since=since - 86400, limit=100_000)
    changes = await store.schedule_changes(since=since - 86400 * 31, limit=100_000)
    entries = await store.journal_between(since, now + 1e-6)
    return HandoverData(since, previous, events, notes_of, runs, changes, entries)


def compute_handover(data: HandoverData, config: Config, now: float) -> Handover:
    since = data.since
    out = Handover(since, now, data.previous)
    out.unacknowledged = [e for e in data.events if e.needs_ack]
    for e in data.events:
        if e.id in data.notes_of:
            notes = [j for j in data.notes_of[e.id] if _operator_note(j)]
            out.acknowledged.append((e, sorted(notes, key=lambda j: (j.at, j.id))))
    for run in sorted(data.runs, key=lambda r: r.at):
        if run.status is JobRunStatus.FAILED and run.at >= since:
            out.exceptions.append(ScheduleException(run.job, "failed", run.at, _run_detail(run)))
    failed = {x.job for x in out.exceptions}
    for name, status in evaluate(config.jobs, data.runs, data.changes, now).items():
        if status.exception and not (status.state.value == "failed" and name in failed):
            occ = status.current or status.previous
            out.exceptions.append(
                ScheduleException(name, status.state.value, occ.due if occ else None, "now")
            )
    out.changes = [c for c in data.changes if c.at >= since]
    out.notes = [j for j in data.entries if _operator_note(j)]
    people = Counter(j.actor for j in data.entries if j.actor not in SYSTEM_ACTORS)
    out.on_bridge = sorted(people.items(), key=lambda kv: (-kv[1], kv[0]))
    return out


async def build_handover(
    store: Store, config: Config, now: float, *, since: float | None = None
) -> Handover:
    return compute_handover(await read_handover_data(store, config, now, since=since), config, now)


def _operator_note(j: JournalEntry) -> bool:
    """Words a person wrote, not the summaries bridge journals when it raises."""
    return bool(j.note) and j.action in NOTE_ACTIONS and j.actor not in SYSTEM_ACTORS


def _run_detail(run: JobRun) -> str:
    code = f"exit {run.exit_code}" if run.exit_code is not None else "failed"
    return f"{code}: {run.message}" if run.message else code


async def accept_handover(store: Store, handover: Handover, actor: str, now: float) -> None:
    """The incoming operator takes over: journalled, and the next shift starts here."""
    note = (
        f"accepted the handover of {human_utc(handover.start)} to {human_utc(handover.end)}: "
        f"{len(handover.unacknowledged)} unacknowledged, {len(handover.acknowledged)} "
        f"acknowledged and unresolved, {len(handover.exceptions)} schedule exceptions"
    )
    await store.record(actor, HANDOVER_ACTION, note, now)


def _event_cells(e: Event, now: float) -> tuple[str, ...]:
    return (
        str(e.id),
        e.severity.label,
        e.state.value,
        human_duration(now - e.first_seen),
        safe_text(e.resource, limit=30),
        safe_text(e.summary, limit=80),
    )


def handover_tables(h: Handover) -> list[Table]:
    acked_rows: list[tuple[str, ...]] = []
    for e, notes in h.acknowledged:
        acked_rows.append((*_event_cells(e, h.end), safe_text(e.acked_by or "", limit=20)))
        acked_rows.extend(
            ("", "", "", "", "", f"  {safe_text(j.actor, limit=20)}: "
             f"{safe_text(j.note, limit=100)}", "")
            for j in notes
        )  # fmt: skip
    return [
        Table("Open and unacknowledged", ("id", "severity", "state", "age", "resource", "summary"),
              [_event_cells(e, h.end) for e in h.unacknowledged]),
        Table("Acknowledged, not resolved (with notes)",
              ("id", "severity", "state", "age", "resource", "summary", "by"), acked_rows),
        Table("Schedule exceptions", ("job", "state", "at", "detail"),
              [(safe_text(x.job, limit=30), x.state, human_time(x.at), safe_text(x.detail, limit=80))
               for x in h.exceptions]),
        Table("Reschedules and holds", CHANGE_HEADERS, change_rows(h.changes)),
        Table("Operator notes", ("when", "who", "action", "event", "note"),
              [(human_time(j.at), safe_text(j.actor, limit=20), j.action,
                "" if j.event_id is None else str(j.event_id), safe_text(j.note, limit=100))
               for j in h.notes]),
        Table("On the bridge", ("operator", "actions"),
              [(safe_text(a, limit=30), str(n)) for a, n in h.on_bridge], "nobody acted"),
    ]  # fmt: skip


def handover_heading(h: Handover) -> list[str]:
    since = (
        f"since {safe_text(h.previous.actor, limit=30)} accepted the last handover"
        if h.previous is not None and h.previous.at == h.start
        else "no handover accepted in this period"
    )
    return [
        f"Shift handover {human_time(h.start)} to {human_time(h.end)}",
        f"The shift: {human_duration(h.end - h.start)}, {since}.",
    ]


def render_handover(h: Handover, *, markdown: bool = False) -> str:
    render = render_markdown if markdown else render_text
    return render(handover_heading(h), handover_tables(h))


def handover_json(h: Handover) -> dict[str, Any]:
    return {
        "from": h.start,
        "to": h.end,
        "previous_handover": None if h.previous is None else journal_json(h.previous),
        "unacknowledged": [event_json(e) for e in h.unacknowledged],
        "acknowledged_unresolved": [
            {**event_json(e), "notes": [journal_json(j) for j in notes]}
            for e, notes in h.acknowledged
        ],
        "schedule_exceptions": [
            {"job": x.job, "state": x.state, "at": x.at, "detail": x.detail} for x in h.exceptions
        ],
        "schedule_changes": [change_json(c) for c in h.changes],
        "notes": [journal_json(j) for j in h.notes],
        "on_bridge": dict(h.on_bridge),
    }
