"""The narrow interface every part of bridge uses to reach its data.

SQLite is the embedded backend and PostgreSQL the one server for many hosts;
either serves the UI and the collectors unchanged, so nothing outside
`bridge.store` sees SQL. The interface is split by role, so a part of
bridge can say which data it needs (the wall reads events and readings, a job
signal needs the schedule) and a backend can be read in parts; `Store` is all
of them. The contract every backend keeps is in docs/architecture.md
("The store's contract") and is tested by tests/store_contract/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bridge.core.actions import Action, ActionResult
from bridge.core.models import (
    Change,
    CollectorHealth,
    Event,
    EventInput,
    JobRun,
    JobStatusRecord,
    JournalEntry,
    LeaseInfo,
    MaintenanceWindow,
    ScheduleAction,
    ScheduleChange,
    Snapshot,
)
from bridge.core.outbox import OutboxItem, OutboxNew
from bridge.core.query import EventQuery
from collectors.base import Reading

__all__ = [
    "WRITE_METHODS",
    "ChangeFeedStore",
    "EventStore",
    "LeaseStore",
    "ReadOnlyStoreError",
    "ReadingStore",
    "ScheduleStore",
    "ServiceStore",
    "Store",
    "StoreError",
]


class StoreError(Exception):
    """The store cannot be opened or used; the message is for the operator."""


class ReadOnlyStoreError(StoreError):
    """A write asked of a store opened read-only (the wall's): nothing was changed."""


# Every protocol method that changes the store: a read-only store raises
# ReadOnlyStoreError from each (tests/store_contract/ checks every one, and that
# every other protocol method is a read).
WRITE_METHODS = frozenset(
    {
        "write_reading", "prune", "record_health",
        "upsert_events", "act", "record", "unshelve_expired",
        "job_start", "job_finish", "change_schedule", "write_job_statuses",
        "set_maintenance_windows", "open_window_for", "close_expired_windows",
        "try_lease", "release_lease",
        "outbox_enqueue", "outbox_claim", "outbox_settle", "outbox_recover",
    }
)  # fmt: skip


class ChangeFeedStore(Protocol):
    """The change sequence: how every process learns of every commit.

    Each write transaction appends its change rows (`Change`: seq, at, kind, ref)
    in the same transaction; `seq` increases in commit order, so a reader that
    has seen everything up to `seq` never misses a later commit by asking for
    what comes after it.
    """

    async def last_seq(self) -> int:
        """The newest committed change's seq (0 for none): where a new reader starts."""
        ...

    async def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        """Committed changes after `seq`, oldest first, at most `limit`."""
        ...

    async def wait_for_changes(
        # A timeout of 0 (check once, cheaply) is what asyncio.timeout cannot say.
        self,
        after_seq: int,
        timeout: float,  # noqa: ASYNC109
        *,
        limit: int = 1000,
    ) -> list[Change]:
        """Changes after `after_seq` (at most `limit`, oldest first) once there are any,
        or [] when `timeout` seconds pass without one.

        `timeout` 0 checks once and must be cheap when nothing changed (the console
        asks several times a second): SQLite asks `PRAGMA data_version`, a server
        backend its last notification. Commits of this store's own connections count.
        """
        ...


class ReadingStore(Protocol):
    """Readings (latest snapshot, metric samples) and the collectors' own health."""

    async def write_reading(self, reading: Reading, levels: dict[str, str]) -> None: ...

    async def snapshots(self, source: str | None = None) -> list[Snapshot]: ...

    async def snapshot(self, source: str, resource: str) -> Snapshot | None:
        """One resource's latest reading: a console reloads only what changed."""
        ...

    async def series(
        self, source: str, resource: str, metric: str, since: float
    ) -> list[tuple[float, float]]: ...

    async def prune(self, now: float, sample_retention_s: float = 86400.0) -> int: ...

    async def record_health(self, health: CollectorHealth) -> None: ...

    async def collector_health(self) -> list[CollectorHealth]: ...


class EventStore(Protocol):
    """Events, their journal and the operators' actions on them."""

    async def upsert_events(self, events: Sequence[EventInput], actor: str) -> None: ...

    async def list_events(
        self,
        *,
        include_resolved: bool = False,
        limit: int = 500,
        query: EventQuery | None = None,
        keep_unacked_resolved: bool = True,
    ) -> list[Event]:
        """Events in console order (state, severity, recency), at most `limit`."""
        ...

    async def count_events(
        self,
        *,
        include_resolved: bool = True,
        query: EventQuery | None = None,
        keep_unacked_resolved: bool = True,
    ) -> int: ...

    async def get_event(self, event_id: int) -> Event | None: ...

    async def find_event(self, key: str) -> Event | None:
        """By dedup key (source|resource|check)."""
        ...

    async def event_ids(self, keys: Sequence[str]) -> dict[str, int]:
        """The ids of the events with these dedup keys (absent keys left out), in one
        read: the intake answers a whole group commit's requests with their ids."""
        ...

    async def evidence(self, event_id: int) -> dict[str, Any] | None: ...

    async def journal(
        self, event_id: int | None = None, limit: int = 500
    ) -> list[JournalEntry]: ...

    async def act(
        self,
        event_ids: Sequence[int],
        action: Action,
        actor: str,
        now: float,
        *,
        note: str = "",
        until: float | None = None,
        to: str | None = None,
    ) -> list[ActionResult]:
        """An operator action, journalled; raises ActionError for a bad request.

        `to` names the operator an ASSIGN gives the events to."""
        ...

    async def record(
        self, actor: str, action: str, note: str, now: float, *, event_id: int | None = None
    ) -> None:
        """A journal entry that changes no state: about the bridge itself, or with
        `event_id` a line on that event (what was done about it elsewhere)."""
        ...

    async def unshelve_expired(self, now: float, actor: str = "bridge") -> int: ...


class ScheduleStore(Protocol):
    """Job runs, operators' schedule changes, the engine's statuses, maintenance windows."""

    async def job_start(
        self, job: str, actor: str, now: float, *, run_id: str | None = None
    ) -> JobRun:
        """Record a start; the returned run's `run_id` pairs it with its end. A given
        `run_id` (the caller's own, e.g. its scheduler's) must be new: JobSignalError."""
        ...

    async def job_finish(
        self,
        job: str,
        actor: str,
        now: float,
        *,
        ok: bool,
        run_id: str | None = None,
        exit_code: int | None = None,
        message: str = "",
        output_tail: str = "",
        duration: float | None = None,
    ) -> JobRun:
        """End `run_id`, else the job's latest running run, else record an end alone.

        Raises JobSignalError for an unknown run, another job's run or one already ended.
        """
        ...

    async def job_runs(
        self, job: str | None = None, *, since: float | None = None, limit: int = 100
    ) -> list[JobRun]:
        """Runs, newest first."""
        ...

    async def get_job_run(self, run_id: str) -> JobRun | None: ...

    async def latest_job_runs(self) -> dict[str, JobRun]:
        """The newest run of each job that has one."""
        ...

    async def change_schedule(
        self,
        job: str,
        action: ScheduleAction,
        occurrence: float,
        actor: str,
        reason: str,
        now: float,
        *,
        new_time: float | None = None,
        resolves: Sequence[str] = (),
    ) -> ScheduleChange:
        """Reschedule, hold, release or mark done one occurrence; journalled.

        `resolves`: the job's schedule checks the change ends (its late or failed
        event), resolved in the same transaction with the actor and reason.

        Raises JobSignalError (nothing changed) for an empty reason or a new time in the past.
        """
        ...

    async def schedule_changes(
        self, job: str | None = None, *, since: float | None = None, limit: int = 1000
    ) -> list[ScheduleChange]:
        """Oldest first, so applying them in order leaves the latest in force."""
        ...

    # The schedule engine's output (written by the lease holder).
    async def write_job_statuses(self, records: Sequence[JobStatusRecord], now: float) -> None:
        """Upsert the changed jobs' statuses in one transaction (change kind 'schedule')."""
        ...

    async def job_statuses(self, *, after_seq: int = 0) -> list[JobStatusRecord]:
        """Statuses written after change `after_seq` (all with 0), oldest first."""
        ...

    async def set_maintenance_windows(
        self, windows: Sequence[MaintenanceWindow], now: float
    ) -> None:
        """Replace the open windows; events raised meanwhile for their hosts are suppressed.

        A window that closes un-suppresses its events that are still unresolved.
        """
        ...

    async def maintenance_windows(self) -> list[MaintenanceWindow]: ...

    async def open_window_for(
        self, event_ids: Sequence[int], actor: str, reason: str, now: float, end: float
    ) -> list[str]:
        """An operator's window, now until `end`, for these events' hosts; journalled.

        The lease holder's set_maintenance_windows keeps it; close_expired_windows ends it.
        """
        ...

    async def close_expired_windows(self, now: float) -> int: ...


class LeaseStore(Protocol):
    """Named leases: at most one holder each, atomic across processes and hosts."""

    async def try_lease(self, name: str, holder: str, ttl: float, now: float) -> bool:
        """Take or renew `name` for `holder`; False while someone else holds it."""
        ...

    async def release_lease(self, name: str, holder: str) -> None: ...

    async def lease(self, name: str) -> LeaseInfo | None: ...


class ServiceStore(Protocol):
    """Service levels, handover and the notification outbox (bridge/store/sqlite/service.py)."""

    async def journal_between(
        self,
        start: float,
        end: float,
        *,
        actions: Sequence[str] | None = None,
        limit: int = 200_000,
    ) -> list[JournalEntry]:
        """Journal entries in [start, end), oldest first."""
        ...

    async def journal_after(
        self, after_id: int | None, *, actions: Sequence[str], limit: int = 1000
    ) -> tuple[list[JournalEntry], int]:
        """Entries with these actions after entry `after_id`, oldest first (by id), and
        the id to continue after; `after_id` None: no entries, where the journal ends."""
        ...

    async def events_by_id(self, ids: Sequence[int]) -> dict[int, Event]: ...

    async def last_journal(self, action: str) -> JournalEntry | None: ...

    async def first_runs(self) -> dict[str, float]:
        """When each collector (by name) first ran: where availability starts counting."""
        ...

    async def outbox_enqueue(self, items: Sequence[OutboxNew], now: float) -> int: ...

    async def outbox_claim(self, now: float, limit: int) -> list[OutboxItem]: ...

    async def outbox_settle(
        self, item_id: int, now: float, *, error: str | None, retry_at: float | None
    ) -> None: ...

    async def outbox_recover(self, now: float) -> int: ...

    async def outbox_items(self, limit: int = 200) -> list[OutboxItem]: ...

    async def outbox_counts(self) -> dict[str, int]: ...


class Store(
    ChangeFeedStore, ReadingStore, EventStore, ScheduleStore, LeaseStore, ServiceStore, Protocol
):
    """All of the roles: what `open_store` returns."""

    # Opened with read_only=True: every method in WRITE_METHODS raises ReadOnlyStoreError.
    read_only: bool

    async def close(self) -> None: ...

    async def can_write(self) -> bool:
        """Whether this connection's credentials could change the store, whatever mode
        it was opened in: the wall refuses to run where they could (a SQLite file
        opened read-only cannot be written through it; a server's role decides)."""
        ...
