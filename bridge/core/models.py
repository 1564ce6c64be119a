"""Core value types shared by the store, the rules and the UI."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Change",
    "CollectorHealth",
    "Event",
    "EventInput",
    "EventState",
    "JobRun",
    "JobRunStatus",
    "JobSignalError",
    "JobStatusRecord",
    "JournalEntry",
    "LeaseInfo",
    "MaintenanceWindow",
    "ScheduleAction",
    "ScheduleChange",
    "Severity",
    "Snapshot",
    "is_stale",
]


class Severity(enum.IntEnum):
    """Ordered so that a larger value is worse; OK clears."""

    OK = 0
    INFO = 1
    WARNING = 2
    MINOR = 3
    MAJOR = 4
    CRITICAL = 5

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            allowed = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (allowed: {allowed})") from None


class EventState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class EventInput:
    """What a rule or a script asks the store to raise (or clear, with OK)."""

    source: str
    resource: str
    check: str
    severity: Severity
    summary: str
    at: float
    detail: str = ""
    value: float | None = None
    # Context frozen at the moment of raising (top processes, the values then).
    evidence: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return f"{self.source}|{self.resource}|{self.check}"


@dataclass(frozen=True, slots=True)
class Event:
    """An event as the store holds it: one row per dedup key (source + resource +
    check), updated in place by repeats, which every view and report reads."""

    id: int
    key: str
    source: str
    resource: str
    check: str
    severity: Severity
    state: EventState
    summary: str
    detail: str
    count: int
    first_seen: float
    last_seen: float
    value: float | None
    owner: str | None
    acked_by: str | None
    acked_at: float | None
    resolved_at: float | None
    shelved_until: float | None
    seq: int
    opened_at: float | None = None
    # The maintenance window it was raised (or last updated) in: stored, not alerting.
    suppressed_by: str | None = None

    @property
    def needs_ack(self) -> bool:
        """Open, or resolved before anyone acknowledged it."""
        return self.state is EventState.OPEN or (
            self.state is EventState.RESOLVED and self.acked_by is None
        )

    @property
    def suppressed(self) -> bool:
        """In a maintenance window: shown muted, never counted as an alert or notified."""
        return self.suppressed_by is not None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A line of the append-only audit trail: who did what, when and why; no
    event for bridge-wide entries such as a sign-on."""

    id: int
    event_id: int | None
    at: float
    actor: str
    action: str
    note: str


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change feed: what kind of thing changed, and which."""

    seq: int
    at: float
    kind: str
    ref: str


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """Who holds a lease (the collector's: one poller per host) and until when, so
    a reader can tell a live poller from one that died."""

    name: str
    holder: str
    host: str
    pid: int
    acquired_at: float
    heartbeat_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class CollectorHealth:
    """A collector's own health, so a dead source is visible rather than silent."""

    name: str
    interval: float
    last_run: float | None = None
    last_success: float | None = None
    latency_ms: float | None = None
    runs: int = 0
    errors: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    timeouts: int = 0  # failures that were no answer at all (as opposed to a bad one)
    backoff: float = 1.0  # the next try waits this many intervals (grows while failing)

    def stale(self, now: float, after_intervals: float) -> bool:
        """No success for `after_intervals` intervals (or at all): its data is old."""
        return is_stale(self.last_success, now, self.interval, after_intervals)


def is_stale(last: float | None, now: float, interval: float, after_intervals: float) -> bool:
    """Data last fetched at `last` (None: never) is old once `after_intervals` polls of
    `interval` seconds have gone by without a newer one (the `stale_after_intervals` rule)."""
    return last is None or now - last > interval * after_intervals


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The latest full reading of one source/resource, as the collector produced it."""

    source: str
    resource: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)


# -- the operations schedule ---------------------------------------------------


class JobSignalError(ValueError):
    """A job signal or schedule change the store refuses; one line for the user."""


class JobRunStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of a job, as its signals reported it (`run_id` pairs start with end)."""

    id: int
    job: str
    run_id: str
    started_at: float | None
    ended_at: float | None
    status: JobRunStatus
    exit_code: int | None = None
    message: str = ""
    output_tail: str = ""
    actor: str | None = None
    duration: float | None = None

    @property
    def at(self) -> float:
        """When it happened: its start, or for a bare end signal, its end."""
        t = self.started_at if self.started_at is not None else self.ended_at
        return 0.0 if t is None else t

    @property
    def finished(self) -> bool:
        return self.status is not JobRunStatus.RUNNING

    @property
    def outcome(self) -> str:
        """The exit code and message said once: `exit 3: ORA-01555`, not `exit 3: exit 3`
        (a wrapped command's message is its exit code when it wrote nothing else)."""
        code = f"exit {self.exit_code}" if self.exit_code is not None else ""
        message = self.message.strip()
        if not message or message == code:
            return code
        return f"{code}: {message}" if code else message


class ScheduleAction(enum.StrEnum):
    RESCHEDULE = "reschedule"
    HOLD = "hold"
    RELEASE = "release"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class ScheduleChange:
    """An operator's change to one occurrence (its scheduled time), with who and why."""

    id: int
    job: str
    occurrence: float
    action: ScheduleAction
    new_time: float | None
    actor: str
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class JobStatusRecord:
    """A job's current status as the lease holder's schedule engine stored it.

    `data` holds the details consoles draw (next due, occurrences, last run,
    envelope); `seq` is the change sequence that wrote it, so a console reads only
    the rows newer than the ones it has.
    """

    job: str
    state: str
    exception: bool
    at: float
    data: dict[str, Any] = field(default_factory=dict)
    first_at: float = 0.0  # when the engine first judged this job: its horizon
    seq: int = 0


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """An open (or coming) maintenance window: events for `hosts` (globs) are suppressed."""

    name: str
    hosts: tuple[str, ...]
    start: float
    end: float | None  # None: until the job that opened it ends
    source: str = "config"  # "config", "job" (maintenance = true), "operator" (from an event)
