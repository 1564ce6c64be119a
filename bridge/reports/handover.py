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

from bridge.config.file import Config
from bridge.core.event_json import event_json, journal_json
from bridge.core.models import (
    Event,
    EventState,
    JobRun,
    JobRunStatus,
    JournalEntry,
    ScheduleAction,
    ScheduleChange,
)
from bridge.core.text import human_duration, human_time, human_utc, safe_text
from bridge.reports.levels import (
    CHANGE_HEADERS,
    Table,
    change_json,
    change_rows,
    render_markdown,
    render_text,
)
from bridge.schedule.engine import JobStatus, evaluate
from bridge.store.protocol import Store

__all__ = [
    "HANDOVER_ACTION",
    "NOTE_ACTION",
    "Escalation",
    "Handover",
    "HandoverData",
    "InForce",
    "ScheduleException",
    "Shelved",
    "accept_handover",
    "build_handover",
    "compute_handover",
    "handover_counts",
    "handover_heading",
    "handover_json",
    "handover_tables",
    "read_handover_data",
    "render_handover",
    "write_handover_note",
]

HANDOVER_ACTION = "handover"
NOTE_ACTION = "handover note"  # the outgoing operator's words for the next shift
# Journal entries written by bridge itself, not by a person on the bridge.
SYSTEM_ACTORS = frozenset({"bridge"})
NOTE_ACTIONS = (
    "note", "ack", "unack", "shelve", "unshelve", "escalate", "own", "disown", "assign",
    "resolve", "maintenance", "sign-on",
)  # fmt: skip
MAX_ITEMS = 500


@dataclass(frozen=True, slots=True)
class ScheduleException:
    """A job's trouble in the shift; repeated failures of one job are one item."""

    job: str
    state: str
    at: float | None  # the first time (a late occurrence: its due time)
    detail: str
    count: int = 1
    last: float | None = None  # the latest time, when more than one


@dataclass(frozen=True, slots=True)
class Shelved:
    """A shelved event: out of sight until `until`, and why."""

    event: Event
    until: float | None
    by: str
    why: str


@dataclass(frozen=True, slots=True)
class Escalation:
    """An operator's escalation still standing (the event not resolved since)."""

    event: Event
    by: str
    at: float
    note: str


@dataclass(frozen=True, slots=True)
class InForce:
    """A hold or reschedule that still governs an occurrence to come (or held)."""

    job: str
    state: str  # held or rescheduled
    scheduled: float
    due: float
    actor: str
    reason: str
    at: float


@dataclass
class Handover:
    start: float
    end: float
    previous: JournalEntry | None  # the handover this shift started from
    unacknowledged: list[Event] = field(default_factory=list)
    acknowledged: list[tuple[Event, list[JournalEntry]]] = field(default_factory=list)
    shelved: list[Shelved] = field(default_factory=list)
    owned: list[Event] = field(default_factory=list)
    escalated: list[Escalation] = field(default_factory=list)
    exceptions: list[ScheduleException] = field(default_factory=list)
    in_force: list[InForce] = field(default_factory=list)
    changes: list[ScheduleChange] = field(default_factory=list)
    written: list[JournalEntry] = field(default_factory=list)  # the outgoing shift's notes
    notes: list[JournalEntry] = field(default_factory=list)
    on_bridge: list[tuple[str, int]] = field(default_factory=list)
    outgoing: str | None = None  # who hands over: who wrote it, else signed on, else acted most


@dataclass(frozen=True, slots=True)
class HandoverData:
    """What a handover reads from the store; `compute_handover` is pure, so the
    console can run it in a thread while its event loop keeps answering keys."""

    since: float
    previous: JournalEntry | None
    events: list[Event]
    notes_of: dict[int, list[JournalEntry]]  # the journal of every unresolved event
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
    # Every unresolved event's journal: an escalation, a shelve or an owner may be
    # older than the shift and still stand.
    notes_of = {
        e.id: await store.journal(e.id, limit=50)
        for e in events
        if e.state is not EventState.RESOLVED
    }
    runs = await store.job_runs(since=since - 86400, limit=100_000)
    changes = await store.schedule_changes(since=since - 86400 * 31, limit=100_000)
    entries = await store.journal_between(since, now + 1e-6)
    return HandoverData(since, previous, events, notes_of, runs, changes, entries)


def _shelve_why(note: str) -> str:
    """The reason typed with a shelve; its journal note is 'until <time>[: reason]'."""
    return note.split(": ", 1)[1] if note.startswith("until ") and ": " in note else ""


def compute_handover(data: HandoverData, config: Config, now: float) -> Handover:
    since = data.since
    out = Handover(since, now, data.previous)
    out.unacknowledged = [e for e in data.events if e.needs_ack]
    for e in data.events:
        journal = sorted(data.notes_of.get(e.id, []), key=lambda j: (j.at, j.id))
        if e.state is EventState.ACKNOWLEDGED:
            notes = [j for j in journal if _operator_note(j)]
            out.acknowledged.append((e, notes))
        if e.state is EventState.RESOLVED:
            continue
        if e.state is EventState.SHELVED:
            shelve = next((j for j in reversed(journal) if j.action == "shelve"), None)
            why = _shelve_why(shelve.note) if shelve is not None else ""
            if not why:  # shelved without a reason: the latest note says why, if any
                note = next((j for j in reversed(journal) if j.action == "note"), None)
                why = note.note if note is not None else ""
            out.shelved.append(
                Shelved(e, e.shelved_until, shelve.actor if shelve is not None else "", why)
            )
        if e.owner:
            out.owned.append(e)
        opened = e.opened_at if e.opened_at is not None else e.first_seen
        up = next((j for j in reversed(journal) if j.action == "escalate" and j.at >= opened), None)
        if up is not None:
            out.escalated.append(Escalation(e, up.actor, up.at, up.note))
    failures: dict[str, list[JobRun]] = {}
    for run in sorted(data.runs, key=lambda r: r.at):
        if run.status is JobRunStatus.FAILED and run.at >= since:
            failures.setdefault(run.job, []).append(run)
    for job, runs in failures.items():
        out.exceptions.append(
            ScheduleException(
                job,
                "failed",
                runs[0].at,
                _run_detail(runs[-1]),
                count=len(runs),
                last=runs[-1].at if len(runs) > 1 else None,
            )
        )
    statuses = evaluate(config.jobs, data.runs, data.changes, now)
    for name, status in statuses.items():
        if status.exception and not (status.state.value == "failed" and name in failures):
            occ = status.current or status.previous
            out.exceptions.append(
                ScheduleException(name, status.state.value, occ.due if occ else None, "now")
            )
    out.in_force = _in_force(data.changes, statuses, now)
    out.changes = [c for c in data.changes if c.at >= since]
    out.written = [
        j for j in data.entries if j.action == NOTE_ACTION and j.actor not in SYSTEM_ACTORS
    ]
    out.notes = [j for j in data.entries if _operator_note(j)]
    people = Counter(j.actor for j in data.entries if j.actor not in SYSTEM_ACTORS)
    out.on_bridge = sorted(people.items(), key=lambda kv: (-kv[1], kv[0]))
    out.outgoing = _outgoing(out, data.entries)
    return out


def _in_force(
    changes: list[ScheduleChange], statuses: dict[str, JobStatus], now: float
) -> list[InForce]:
    """Holds and reschedules that still govern an occurrence, however long ago made:
    the latest change to each occurrence, if it is a hold or a reschedule and the
    occurrence is still to come, or the engine still holds or waits for it."""
    latest: dict[tuple[str, float], ScheduleChange] = {}
    for c in sorted(changes, key=lambda c: (c.at, c.id)):
        latest[(c.job, c.occurrence)] = c
    out: list[InForce] = []
    for (job, scheduled), c in latest.items():
        if c.action not in (ScheduleAction.HOLD, ScheduleAction.RESCHEDULE):
            continue
        status = statuses.get(job)
        occ = None
        if status is not None:
            occ = next(
                (o for o in (status.current, status.previous) if o and o.scheduled == scheduled),
                None,
            )
        held = c.action is ScheduleAction.HOLD
        due = scheduled if held or c.new_time is None else c.new_time
        if occ is not None:
            standing = occ.state.value == ("held" if held else "rescheduled")
        else:
            standing = (scheduled if held else due) > now
        if standing:
            state = "held" if held else "rescheduled"
            out.append(InForce(job, state, scheduled, due, c.actor, c.reason, c.at))
    return sorted(out, key=lambda f: (f.due, f.job))


def _outgoing(h: Handover, entries: list[JournalEntry]) -> str | None:
    """Who hands over: the author of the last handover note, else the last to sign on,
    else whoever acted most in the shift."""
    for action in (NOTE_ACTION, "sign-on"):
        last = next(
            (j for j in reversed(entries) if j.action == action and j.actor not in SYSTEM_ACTORS),
            None,
        )
        if last is not None:
            return last.actor
    return h.on_bridge[0][0] if h.on_bridge else None


async def build_handover(
    store: Store, config: Config, now: float, *, since: float | None = None
) -> Handover:
    return compute_handover(await read_handover_data(store, config, now, since=since), config, now)


def _operator_note(j: JournalEntry) -> bool:
    """Words a person wrote, not the summaries bridge journals when it raises."""
    return bool(j.note) and j.action in NOTE_ACTIONS and j.actor not in SYSTEM_ACTORS


def _run_detail(run: JobRun) -> str:
    """A failed run in a few words, the exit code said once (`exit 3: ORA-01555`)."""
    return run.outcome or "failed"


async def write_handover_note(store: Store, actor: str, note: str, now: float) -> None:
    """The outgoing operator's words for the next shift: part of the handover."""
    await store.record(actor, NOTE_ACTION, note.strip(), now)


def handover_counts(h: Handover) -> str:
    return (
        f"{len(h.unacknowledged)} unacknowledged, {len(h.acknowledged)} acknowledged and "
        f"unresolved, {len(h.shelved)} shelved, {len(h.owned)} owned, {len(h.escalated)} "
        f"escalated, {len(h.exceptions)} schedule exceptions, {len(h.in_force)} holds and "
        "reschedules in force"
    )


async def accept_handover(
    store: Store, handover: Handover, actor: str, now: float, *, outgoing: str | None = None
) -> None:
    """The incoming operator takes over: journalled with both names, and the next
    shift starts here."""
    given = outgoing if outgoing is not None else handover.outgoing
    who = f"from {given} to {actor}" if given else f"to {actor}"
    note = (
        f"{who}: accepted the handover of {human_utc(handover.start)} to "
        f"{human_utc(handover.end)}: {handover_counts(handover)}"
    )
    await store.record(actor, HANDOVER_ACTION, note, now)


def _event_cells(e: Event, now: float) -> tuple[str, ...]:
    return (
        str(e.id),
        e.severity.label,
        e.state.value,
        human_duration(now - e.first_seen),
        safe_text(e.resource),
        safe_text(e.summary),
    )


_EVENT_HEADERS = ("id", "severity", "state", "age", "resource", "summary")


def _exception_cells(x: ScheduleException) -> tuple[str, ...]:
    return (
        safe_text(x.job),
        x.state,
        str(x.count),
        human_time(x.at),
        human_time(x.last) if x.last is not None else "",
        safe_text(x.detail),
    )


def handover_tables(h: Handover) -> list[Table]:
    acked_rows: list[tuple[str, ...]] = []
    for e, notes in h.acknowledged:
        acked_rows.append((*_event_cells(e, h.end), safe_text(e.acked_by or "")))
        acked_rows.extend(
            ("", "", "", "", "", f"  {safe_text(j.actor)}: "
             f"{safe_text(j.note)}", "")
            for j in notes
        )  # fmt: skip
    return [
        Table("From the outgoing shift", ("when", "who", "note"),
              [(human_time(j.at), safe_text(j.actor), safe_text(j.note))
               for j in h.written], "no handover note written"),
        Table("Unacknowledged (open or resolved)", _EVENT_HEADERS,
              [_event_cells(e, h.end) for e in h.unacknowledged]),
        Table("Acknowledged, not resolved (with notes)", (*_EVENT_HEADERS, "by"), acked_rows),
        Table("Shelved", (*_EVENT_HEADERS, "until", "by", "why"),
              [(*_event_cells(s.event, h.end), human_time(s.until), safe_text(s.by),
                safe_text(s.why)) for s in h.shelved]),
        Table("Owned", (*_EVENT_HEADERS, "owner"),
              [(*_event_cells(e, h.end), safe_text(e.owner or "")) for e in h.owned]),
        Table("Escalated", (*_EVENT_HEADERS, "by", "when", "note"),
              [(*_event_cells(x.event, h.end), safe_text(x.by), human_time(x.at),
                safe_text(x.note)) for x in h.escalated]),
        Table("Schedule exceptions", ("job", "state", "times", "first", "last", "detail"),
              [_exception_cells(x) for x in h.exceptions]),
        Table("Holds and reschedules in force", ("job", "state", "occurrence", "due", "by", "reason"),
              [(safe_text(f.job), f.state, human_time(f.scheduled),
                human_time(f.due) if f.state == "rescheduled" else "held",
                safe_text(f.actor), safe_text(f.reason)) for f in h.in_force]),
        Table("Reschedules and holds", CHANGE_HEADERS, change_rows(h.changes)),
        Table("Operator notes", ("when", "who", "action", "event", "note"),
              [(human_time(j.at), safe_text(j.actor), j.action,
                "" if j.event_id is None else str(j.event_id), safe_text(j.note))
               for j in h.notes]),
        Table("On the bridge", ("operator", "actions"),
              [(safe_text(a), str(n)) for a, n in h.on_bridge], "nobody acted"),
    ]  # fmt: skip


def handover_heading(h: Handover) -> list[str]:
    since = (
        f"since {safe_text(h.previous.actor)} accepted the last handover"
        if h.previous is not None and h.previous.at == h.start
        else "no handover accepted in this period"
    )
    lines = [
        f"Shift handover {human_time(h.start)} to {human_time(h.end)}",
        f"The shift: {human_duration(h.end - h.start)}, {since}.",
    ]
    if h.outgoing:
        lines.append(f"Handed over by {safe_text(h.outgoing)}.")
    return lines


def render_handover(h: Handover, *, markdown: bool = False, width: int | None = None) -> str:
    """The handover as Markdown, or as text fitted to `width` (see `render_text`)."""
    if markdown:
        return render_markdown(handover_heading(h), handover_tables(h))
    return render_text(handover_heading(h), handover_tables(h), width)


def handover_json(h: Handover) -> dict[str, Any]:
    return {
        "from": h.start,
        "to": h.end,
        "outgoing": h.outgoing,
        "previous_handover": None if h.previous is None else journal_json(h.previous),
        "handover_notes": [journal_json(j) for j in h.written],
        "unacknowledged": [event_json(e) for e in h.unacknowledged],
        "acknowledged_unresolved": [
            {**event_json(e), "notes": [journal_json(j) for j in notes]}
            for e, notes in h.acknowledged
        ],
        "shelved": [{**event_json(s.event), "shelved_by": s.by, "why": s.why} for s in h.shelved],
        "owned": [event_json(e) for e in h.owned],
        "escalated": [
            {**event_json(x.event), "escalated_by": x.by, "escalated_at": x.at, "note": x.note}
            for x in h.escalated
        ],
        "schedule_exceptions": [
            {
                "job": x.job,
                "state": x.state,
                "at": x.at,
                "detail": x.detail,
                "count": x.count,
                "first": x.at,
                "last": x.last if x.last is not None else x.at,
            }
            for x in h.exceptions
        ],
        "in_force": [
            {
                "job": f.job,
                "state": f.state,
                "occurrence": f.scheduled,
                "due": f.due,
                "actor": f.actor,
                "reason": f.reason,
                "at": f.at,
            }
            for f in h.in_force
        ],
        "schedule_changes": [change_json(c) for c in h.changes],
        "notes": [journal_json(j) for j in h.notes],
        "on_bridge": dict(h.on_bridge),
    }
