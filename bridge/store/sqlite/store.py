"""The SQLite backend: one file, WAL, shared by every bridge process on a host."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bridge.core.actions import (
    NOTE_REQUIRED,
    Action,
    ActionError,
    ActionRefused,
    ActionResult,
    apply_action,
    check_name,
    check_note,
)
from bridge.core.models import (
    Change,
    CollectorHealth,
    Event,
    EventInput,
    JobRun,
    JobRunStatus,
    JobSignalError,
    JobStatusRecord,
    JournalEntry,
    LeaseInfo,
    MaintenanceWindow,
    ScheduleAction,
    ScheduleChange,
    Snapshot,
)
from bridge.core.query import EventQuery
from bridge.rules.lifecycle import (
    MAX_MESSAGE,
    MAX_OUTPUT_TAIL,
    MUTABLE,
    OPERATOR_WINDOW,
    WindowMatcher,
    action_note,
    check_schedule_change,
    fold_events,
    moot_resolve_note,
    moot_resolved,
    operator_window,
    operator_window_notes,
    schedule_change_note,
    schedule_keys,
    window_journal,
)
from bridge.store.protocol import ReadOnlyStoreError, StoreError
from bridge.store.rows import (
    CHANGE_COLUMNS,
    EVENT_COLUMNS,
    RUN_COLUMNS,
    STATE_RANK,
    event_from_row,
    run_from_row,
    schedule_change_from_row,
)
from bridge.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from bridge.store.sqlite.service import JOURNAL_COLUMNS, ServiceQueries
from collectors.base import Reading

__all__ = ["SqliteStore", "open_sqlite_store", "release_lease_now"]

BUSY_TIMEOUT_MS = 5000
CHANGE_RETENTION_S = 3600.0
WAIT_POLL_S = 0.1  # how often a waiting wait_for_changes looks at PRAGMA data_version


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes
    # the write lock up front instead of failing to upgrade a read transaction.
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        # aiosqlite's worker thread is not a daemon: an unclosed connection
        # keeps the process from exiting.
        await conn.close()
        raise
    return conn


class SqliteStore(ServiceQueries):
    """Implements `bridge.store.protocol.Store`.

    Two connections: `_db` for reads and writes, `_watch` only for the change
    feed, because `PRAGMA data_version` moves only for commits made by *other*
    connections — including this process's own writer.
    """

    def __init__(
        self,
        path: Path,
        db: aiosqlite.Connection,
        watch: aiosqlite.Connection,
        *,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self._db = db
        self._watch = watch
        self._write_lock = asyncio.Lock()
        self._host = socket.gethostname()
        # (data_version, seq): at that version nothing was committed after seq, so
        # a reader at or past seq need not read the change rows until it moves.
        self._quiet: tuple[int, int] | None = None

    def _writable(self) -> None:
        """Refuse a write on a read-only store before it reaches SQLite (whose own
        `mode=ro` and `query_only` would refuse it too, in its own words)."""
        if self.read_only:
            raise ReadOnlyStoreError(f"{self.path}: this store is open read-only")

    # -- plumbing --------------------------------------------------------------
    @asynccontextmanager
    async def _tx(self, at: float, kind: str, ref: str = "") -> AsyncIterator[int]:
        """A write transaction that records one change; yields its change seq."""
        self._writable()
        async with self._write_lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                cur = await self._db.execute(
                    "INSERT INTO changes(at, kind, ref) VALUES (?, ?, ?)", (at, kind, ref)
                )
                seq = cur.lastrowid
                assert seq is not None
                yield seq
                await self._db.execute("COMMIT")
            except BaseException:
                await _rollback(self._db)
                raise

    async def can_write(self) -> bool:
        # Opened read-only, the file itself is opened `mode=ro`: nothing can write
        # through this connection, whatever the file's permissions.
        return not self.read_only

    async def close(self) -> None:
        await self._watch.close()
        await self._db.close()

    # -- change feed -------------------------------------------------------------
    async def data_version(self) -> int:
        """SQLite's own: moves whenever another connection (this store's writer
        included) commits. Only wait_for_changes needs it; callers use that."""
        # One round trip to the connection's thread (execute + fetch + close would
        # be three): this runs twice a second in every console.
        rows = list(await self._watch.execute_fetchall("PRAGMA data_version"))
        return int(rows[0][0])

    async def last_seq(self) -> int:
        version = await self.data_version()  # before the read: a commit after it moves it
        async with self._watch.execute("SELECT COALESCE(MAX(seq), 0) FROM changes") as cur:
            row = await cur.fetchone()
        seq = int(row[0]) if row else 0
        self._quiet = (version, seq)
        return seq

    async def wait_for_changes(
        # A timeout of 0 (check once, cheaply) is what asyncio.timeout cannot say.
        self,
        after_seq: int,
        timeout: float,  # noqa: ASYNC109
        *,
        limit: int = 1000,
    ) -> list[Change]:
        """Polls `PRAGMA data_version` (one cheap statement) every WAIT_POLL_S and
        reads the change rows only when it moved, or for a reader behind the last
        seq this store knows of."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            version = await self.data_version()
            quiet = self._quiet
            if quiet is None or quiet[0] != version or after_seq < quiet[1]:
                batch = await self.changes_since(after_seq, limit)
                if len(batch) < limit:
                    # Everything committed by `version` is in the batch (or was before it).
                    self._quiet = (version, batch[-1].seq if batch else after_seq)
                if batch:
                    return batch
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            await asyncio.sleep(min(WAIT_POLL_S, left))

    async def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        rows = await self._watch.execute_fetchall(
            "SELECT seq, at, kind, ref FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [Change(*row) for row in rows]

    # -- readings ----------------------------------------------------------------
    async def write_reading(self, reading: Reading, levels: dict[str, str]) -> None:
        async with self._tx(reading.at, "reading", f"{reading.source}|{reading.resource}"):
            await self._db.execute(
                "INSERT INTO snapshots(source, resource, at, data, levels) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(source, resource) DO UPDATE SET at=excluded.at, data=excluded.data, "
                "levels=excluded.levels",
                (
                    reading.source,
                    reading.resource,
                    reading.at,
                    json.dumps(reading.detail, separators=(",", ":")),
                    json.dumps(levels),
                ),
            )
            await self._db.executemany(
                "INSERT INTO samples(source, resource, metric, at, value) VALUES (?, ?, ?, ?, ?)",
                [
                    (reading.source, reading.resource, name, reading.at, value)
                    for name, value in reading.metrics.items()
                ],
            )

    async def snapshots(self, source: str | None = None) -> list[Snapshot]:
        sql = "SELECT source, resource, at, data, levels FROM snapshots"
        args: tuple[Any, ...] = ()
        if source is not None:
            sql += " WHERE source = ?"
            args = (source,)
        rows = await self._db.execute_fetchall(sql + " ORDER BY source, resource", args)
        return [
            Snapshot(
                source=r[0], resource=r[1], at=r[2], data=json.loads(r[3]), levels=json.loads(r[4])
            )
            for r in rows
        ]

    async def snapshot(self, source: str, resource: str) -> Snapshot | None:
        async with self._db.execute(
            "SELECT at, data, levels FROM snapshots WHERE source = ? AND resource = ?",
            (source, resource),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return Snapshot(source, resource, row[0], json.loads(row[1]), json.loads(row[2]))

    async def series(
        self, source: str, resource: str, metric: str, since: float
    ) -> list[tuple[float, float]]:
        rows = await self._db.execute_fetchall(
            "SELECT at, value FROM samples WHERE source=? AND resource=? AND metric=? AND at>=? "
            "ORDER BY at",
            (source, resource, metric, since),
        )
        return [(r[0], r[1]) for r in rows]

    async def prune(self, now: float, sample_retention_s: float = 86400.0) -> int:
        async with self._tx(now, "prune") as seq:
            cur = await self._db.execute(
                "DELETE FROM samples WHERE at < ?", (now - sample_retention_s,)
            )
            removed = cur.rowcount
            await self._db.execute(
                "DELETE FROM changes WHERE at < ? AND seq < ?", (now - CHANGE_RETENTION_S, seq)
            )
        return removed

    # -- collector self-health ---------------------------------------------------
    async def record_health(self, health: CollectorHealth) -> None:
        async with self._tx(health.last_run or 0.0, "health", health.name):
            # Every column is replaced but first_run, which keeps the first run ever.
            await self._db.execute(
                "INSERT INTO collector_health(name, interval, last_run, last_success, "
                "latency_ms, runs, errors, consecutive_failures, last_error, timeouts, backoff, "
                "first_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET interval = excluded.interval, "
                "last_run = excluded.last_run, last_success = excluded.last_success, "
                "latency_ms = excluded.latency_ms, runs = excluded.runs, "
                "errors = excluded.errors, consecutive_failures = excluded.consecutive_failures, "
                "last_error = excluded.last_error, timeouts = excluded.timeouts, "
                "backoff = excluded.backoff, "
                "first_run = COALESCE(collector_health.first_run, excluded.first_run)",
                (
                    health.name,
                    health.interval,
                    health.last_run,
                    health.last_success,
                    health.latency_ms,
                    health.runs,
                    health.errors,
                    health.consecutive_failures,
                    health.last_error,
                    health.timeouts,
                    health.backoff,
                    health.last_run,
                ),
            )

    async def collector_health(self) -> list[CollectorHealth]:
        async with self._db.execute(
            "SELECT name, interval, last_run, last_success, latency_ms, runs, errors, "
            "consecutive_failures, last_error, timeouts, backoff FROM collector_health ORDER BY name"
        ) as cur:
            return [CollectorHealth(*row) for row in await cur.fetchall()]

    # -- events --------------------------------------------------------------------
    async def upsert_events(self, events: Sequence[EventInput], actor: str) -> None:
        """Apply raises and clears in one transaction, deduplicated on source+resource+check."""
        self._writable()
        if not events:
            return
        async with self._tx(events[-1].at, "events") as seq:
            await self._apply_events(events, actor, seq)

    async def _existing(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            # One round trip to the store's thread (not execute, fetch, close): under
            # load each trip waits its turn on the event loop.
            rows = await self._db.execute_fetchall(
                f"SELECT dedup_key, {', '.join(MUTABLE)} FROM events WHERE dedup_key IN ({marks})",
                chunk,
            )
            for key, *values in rows:
                found[key] = dict(zip(MUTABLE, values, strict=True))
        return found

    async def _apply_events(self, events: Sequence[EventInput], actor: str, seq: int) -> None:
        existing = await self._existing(e.key for e in events)
        # Read inside the write transaction: the lease holder opens and closes windows.
        # A window past its end no longer counts, even if no lease holder is left to close it.
        open_windows = await self._db.execute_fetchall(
            "SELECT name, hosts FROM maintenance_windows WHERE end IS NULL OR end > ?",
            (events[-1].at,),
        )
        windows = [(name, json.loads(hosts)) for name, hosts in open_windows]
        folded = fold_events(events, existing, WindowMatcher(windows), actor)
        inserts = [{**row, "seq": seq} for row in folded.inserts]
        updates = [{**row, "seq": seq, "key": key} for key, row in folded.updates.items()]
        evidence, journal = folded.evidence, folded.journal
        if inserts:
            cols = list(inserts[0])
            await self._db.executemany(
                f"INSERT INTO events({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})",
                inserts,
            )
        if updates:
            sets = ", ".join(f"{c} = :{c}" for c in MUTABLE)
            await self._db.executemany(
                f"UPDATE events SET {sets}, seq = :seq WHERE dedup_key = :key", updates
            )
        if evidence:
            await self._db.executemany(
                "UPDATE events SET evidence = ? WHERE dedup_key = ?",
                [(text, key) for key, text in evidence.items()],
            )
        if journal:
            await self._db.executemany(
                "INSERT INTO journal(event_id, at, actor, action, note) "
                "VALUES ((SELECT id FROM events WHERE dedup_key = ?), ?, ?, ?, ?)",
                journal,
            )

    async def list_events(
        self,
        *,
        include_resolved: bool = False,
        limit: int = 500,
        query: EventQuery | None = None,
        keep_unacked_resolved: bool = True,
    ) -> list[Event]:
        where, args = _where(query, include_resolved, keep_unacked_resolved)
        async with self._db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events {where} "
            f"ORDER BY {STATE_RANK}, severity DESC, last_seen DESC LIMIT ?",
            (*args, limit),
        ) as cur:
            return [event_from_row(row) for row in await cur.fetchall()]

    async def count_events(
        self,
        *,
        include_resolved: bool = True,
        query: EventQuery | None = None,
        keep_unacked_resolved: bool = True,
    ) -> int:
        where, args = _where(query, include_resolved, keep_unacked_resolved)
        async with self._db.execute(f"SELECT COUNT(*) FROM events {where}", args) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def get_event(self, event_id: int) -> Event | None:
        async with self._db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return event_from_row(row) if row else None

    async def find_event(self, key: str) -> Event | None:
        async with self._db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE dedup_key = ?", (key,)
        ) as cur:
            row = await cur.fetchone()
        return event_from_row(row) if row else None

    async def event_ids(self, keys: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.execute_fetchall(
                f"SELECT dedup_key, id FROM events WHERE dedup_key IN ({marks})", chunk
            )
            found.update((str(key), int(event_id)) for key, event_id in rows)
        return found

    async def evidence(self, event_id: int) -> dict[str, Any] | None:
        async with self._db.execute("SELECT evidence FROM events WHERE id = ?", (event_id,)) as cur:
            row = await cur.fetchone()
        if not row or not row[0]:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    async def journal(self, event_id: int | None = None, limit: int = 500) -> list[JournalEntry]:
        where, args = ("WHERE event_id = ?", (event_id,)) if event_id is not None else ("", ())
        async with self._db.execute(
            f"SELECT {JOURNAL_COLUMNS} FROM journal {where} ORDER BY at DESC, id DESC LIMIT ?",
            (*args, limit),
        ) as cur:
            return [JournalEntry(*row) for row in await cur.fetchall()]

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
        """Apply an operator action to each event in one transaction.

        The state is read inside the write lock, so two operators acting at once
        never lose an update: the second sees the first's change and is refused
        with who did it.
        """
        self._writable()
        note = check_note(note, required=action in NOTE_REQUIRED)
        if action is Action.ASSIGN:
            to = check_name(to or "")
        results: list[ActionResult] = []
        async with self._tx(now, "events") as seq:
            ids = list(dict.fromkeys(event_ids))
            current: dict[int, tuple[Any, ...]] = {}
            for i in range(0, len(ids), 500):  # one read for many marked rows
                chunk = ids[i : i + 500]
                async with self._db.execute(
                    "SELECT id, state, severity, acked_by, owner FROM events "
                    f"WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ) as cur:
                    for eid, *values in await cur.fetchall():
                        current[eid] = tuple(values)
            for event_id in ids:
                found = current.get(event_id)
                if found is None:
                    results.append(
                        ActionResult(event_id, False, f"no event {event_id}", unknown=True)
                    )
                    continue
                row = dict(zip(("state", "severity", "acked_by", "owner"), found, strict=True))
                try:
                    updates = apply_action(event_id, row, action, actor, now, until=until, to=to)
                except ActionRefused as exc:
                    results.append(ActionResult(event_id, False, str(exc)))
                    continue
                sets = ", ".join(f"{c} = :{c}" for c in updates)
                await self._db.execute(
                    f"UPDATE events SET {sets + ', ' if sets else ''}seq = :seq WHERE id = :id",
                    {**updates, "seq": seq, "id": event_id},
                )
                detail = action_note(action, row, updates, note, until=until, to=to)
                await self._db.execute(
                    "INSERT INTO journal(event_id, at, actor, action, note) VALUES (?, ?, ?, ?, ?)",
                    (event_id, now, actor, action.value, detail),
                )
                results.append(ActionResult(event_id, True, f"{action.value}: event {event_id}"))
        return results

    async def record(
        self, actor: str, action: str, note: str, now: float, *, event_id: int | None = None
    ) -> None:
        """A journal entry about the bridge itself (sign-on, handover), or with `event_id`
        a line on one event that changes none of its state (a silence written back)."""
        async with self._tx(now, "journal", "" if event_id is None else str(event_id)):
            await self._db.execute(
                "INSERT INTO journal(event_id, at, actor, action, note) VALUES (?, ?, ?, ?, ?)",
                (event_id, now, actor, action, note),
            )

    async def unshelve_expired(self, now: float, actor: str = "bridge") -> int:
        self._writable()
        async with self._db.execute(
            "SELECT id FROM events WHERE state = 'shelved' AND shelved_until <= ?", (now,)
        ) as cur:
            due = [row[0] for row in await cur.fetchall()]
        if not due:
            return 0
        results = await self.act(due, Action.UNSHELVE, actor, now, note="shelve time ended")
        return sum(r.ok for r in results)

    # -- job signals and the schedule ----------------------------------------------
    async def job_start(
        self, job: str, actor: str, now: float, *, run_id: str | None = None
    ) -> JobRun:
        # secrets (with hmac and hashlib) here and in job_finish: the console's
        # start opens a store but records no job signals.
        import secrets

        self._writable()
        given = run_id is not None
        run_id = run_id if run_id is not None else secrets.token_hex(6)
        async with self._tx(now, "jobs", job):
            if given:
                async with self._db.execute(
                    "SELECT job FROM job_runs WHERE run_id = ?", (run_id,)
                ) as cur:
                    taken = await cur.fetchone()
                if taken is not None:
                    raise JobSignalError(f"run {run_id!r} exists already (job {taken[0]!r})")
            cur = await self._db.execute(
                "INSERT INTO job_runs(job, run_id, started_at, status, actor, at) "
                "VALUES (?, ?, ?, 'running', ?, ?)",
                (job, run_id, now, actor, now),
            )
            row_id = cur.lastrowid
        assert row_id is not None
        return JobRun(row_id, job, run_id, now, None, JobRunStatus.RUNNING, actor=actor)

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
        """End a run: `run_id`'s, else the job's latest running one, else a run of its own."""
        import secrets

        self._writable()
        status = JobRunStatus.OK if ok else JobRunStatus.FAILED
        message = message.strip()[:MAX_MESSAGE]
        output_tail = output_tail[-MAX_OUTPUT_TAIL:]
        async with self._tx(now, "jobs", job):
            if run_id is not None:
                sql = f"SELECT {RUN_COLUMNS} FROM job_runs WHERE run_id = ?"
                args: tuple[Any, ...] = (run_id,)
            else:
                sql = (
                    f"SELECT {RUN_COLUMNS} FROM job_runs WHERE job = ? AND status = 'running' "
                    "ORDER BY at DESC, id DESC LIMIT 1"
                )
                args = (job,)
            async with self._db.execute(sql, args) as cur:
                row = await cur.fetchone()
            if row is None and run_id is not None:
                raise JobSignalError(f"no run {run_id!r} of job {job!r}")
            if row is None:
                new_id = secrets.token_hex(6)
                cur = await self._db.execute(
                    "INSERT INTO job_runs(job, run_id, ended_at, status, exit_code, message, "
                    "output_tail, actor, duration, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job, new_id, now, status.value, exit_code, message,
                     output_tail, actor, duration, now),
                )  # fmt: skip
                assert cur.lastrowid is not None
                return JobRun(
                    cur.lastrowid, job, new_id, None, now, status, exit_code, message, output_tail,
                    actor, duration,
                )  # fmt: skip
            found = run_from_row(row)
            if found.job != job:
                raise JobSignalError(f"run {run_id!r} belongs to job {found.job!r}, not {job!r}")
            if found.finished:
                raise JobSignalError(
                    f"run {found.run_id!r} of job {job!r} already ended ({found.status.value})"
                )
            if duration is None and found.started_at is not None:
                duration = max(0.0, now - found.started_at)
            await self._db.execute(
                "UPDATE job_runs SET ended_at = ?, status = ?, exit_code = ?, message = ?, "
                "output_tail = ?, duration = ? WHERE id = ?",
                (now, status.value, exit_code, message, output_tail, duration, found.id),
            )
        return JobRun(
            found.id, job, found.run_id, found.started_at, now, status, exit_code, message,
            output_tail, found.actor, duration,
        )  # fmt: skip

    async def job_runs(
        self, job: str | None = None, *, since: float | None = None, limit: int = 100
    ) -> list[JobRun]:
        where, args = _job_where(job, since)
        async with self._db.execute(
            f"SELECT {RUN_COLUMNS} FROM job_runs {where} ORDER BY at DESC, id DESC LIMIT ?",
            (*args, limit),
        ) as cur:
            return [run_from_row(row) for row in await cur.fetchall()]

    async def get_job_run(self, run_id: str) -> JobRun | None:
        async with self._db.execute(
            f"SELECT {RUN_COLUMNS} FROM job_runs WHERE run_id = ?", (run_id,)
        ) as cur:
            row = await cur.fetchone()
        return run_from_row(row) if row else None

    async def latest_job_runs(self) -> dict[str, JobRun]:
        async with self._db.execute(
            f"SELECT {RUN_COLUMNS} FROM job_runs AS r WHERE id = (SELECT id FROM job_runs "
            "WHERE job = r.job ORDER BY at DESC, id DESC LIMIT 1)"
        ) as cur:
            return {run.job: run for run in map(run_from_row, await cur.fetchall())}

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
        """An operator's change to one occurrence, journalled with actor and reason."""
        self._writable()
        reason = check_schedule_change(action, reason, new_time, now)
        note = schedule_change_note(job, occurrence, new_time, reason)
        async with self._tx(now, "jobs", job):
            cur = await self._db.execute(
                "INSERT INTO schedule_changes(job, occurrence, action, new_time, actor, reason, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job, occurrence, action.value, new_time, actor, reason, now),
            )
            change_id = cur.lastrowid
            await self._db.execute(
                "INSERT INTO journal(event_id, at, actor, action, note) VALUES (NULL, ?, ?, ?, ?)",
                (now, actor, f"job {action.value}", note),
            )
            if resolves:
                await self._resolve_moot(job, action, resolves, actor, reason, now)
        assert change_id is not None
        return ScheduleChange(change_id, job, occurrence, action, new_time, actor, reason, now)

    async def _resolve_moot(
        self,
        job: str,
        action: ScheduleAction,
        checks: Sequence[str],
        actor: str,
        reason: str,
        now: float,
    ) -> None:
        """Resolve the job's events a schedule change ends, inside its transaction."""
        keys = schedule_keys(job, checks)
        async with self._db.execute(
            f"SELECT id FROM events WHERE dedup_key IN ({','.join('?' * len(keys))}) "
            "AND state != 'resolved'",
            keys,
        ) as cur:
            ids = [row[0] for row in await cur.fetchall()]
        if not ids:
            return
        cur = await self._db.execute(
            "INSERT INTO changes(at, kind, ref) VALUES (?, 'events', '')", (now,)
        )
        seq = cur.lastrowid
        resolved = moot_resolved(now)
        sets = ", ".join(f"{c} = :{c}" for c in resolved)
        note = moot_resolve_note(action, reason)
        for event_id in ids:
            await self._db.execute(
                f"UPDATE events SET {sets}, seq = :seq WHERE id = :id",
                {**resolved, "seq": seq, "id": event_id},
            )
            await self._db.execute(
                "INSERT INTO journal(event_id, at, actor, action, note) VALUES (?, ?, ?, ?, ?)",
                (event_id, now, actor, "resolve", note),
            )

    async def schedule_changes(
        self, job: str | None = None, *, since: float | None = None, limit: int = 1000
    ) -> list[ScheduleChange]:
        where, args = _job_where(job, since)
        async with self._db.execute(
            f"SELECT {CHANGE_COLUMNS} FROM schedule_changes {where} ORDER BY at, id LIMIT ?",
            (*args, limit),
        ) as cur:
            return [schedule_change_from_row(row) for row in await cur.fetchall()]

    # -- the schedule engine's output ----------------------------------------------
    async def write_job_statuses(self, records: Sequence[JobStatusRecord], now: float) -> None:
        self._writable()
        if not records:
            return
        async with self._tx(now, "schedule") as seq:
            await self._db.executemany(
                "INSERT INTO job_status(job, state, exception, at, first_at, data, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(job) DO UPDATE SET "
                "state=excluded.state, exception=excluded.exception, at=excluded.at, "
                "data=excluded.data, seq=excluded.seq",
                [
                    (r.job, r.state, int(r.exception), r.at, r.first_at or r.at,
                     json.dumps(r.data, separators=(",", ":")), seq)
                    for r in records
                ],
            )  # fmt: skip

    async def job_statuses(self, *, after_seq: int = 0) -> list[JobStatusRecord]:
        async with self._db.execute(
            "SELECT job, state, exception, at, data, first_at, seq FROM job_status "
            "WHERE seq > ? ORDER BY seq",
            (after_seq,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            JobStatusRecord(r[0], r[1], bool(r[2]), r[3], json.loads(r[4]), r[5], r[6])
            for r in rows
        ]

    async def set_maintenance_windows(
        self, windows: Sequence[MaintenanceWindow], now: float
    ) -> None:
        async with self._tx(now, "maintenance"):
            async with self._db.execute("SELECT name FROM maintenance_windows") as cur:
                before = {row[0] for row in await cur.fetchall()}
            # Operators' windows are theirs to end (or their end time): not the lease holder's.
            await self._db.execute(
                "DELETE FROM maintenance_windows WHERE source != ? OR end <= ?",
                (OPERATOR_WINDOW, now),
            )
            async with self._db.execute("SELECT name FROM maintenance_windows") as cur:
                before -= {row[0] for row in await cur.fetchall()}
            await self._db.executemany(
                "INSERT INTO maintenance_windows(name, hosts, start, end, source) "
                "VALUES (?, ?, ?, ?, ?)",
                [(w.name, json.dumps(list(w.hosts)), w.start, w.end, w.source) for w in windows],
            )
            closed = before - {w.name for w in windows}
            for name in closed:
                # A problem outlasting its window alerts again; resolved ones keep the mark.
                await self._db.execute(
                    "UPDATE events SET suppressed_by = NULL WHERE suppressed_by = ? "
                    "AND state != 'resolved'",
                    (name,),
                )
            await self._db.executemany(
                "INSERT INTO journal(event_id, at, actor, action, note) "
                "VALUES (NULL, ?, 'bridge', ?, ?)",
                [
                    (now, action, name)
                    for action, name in window_journal({w.name for w in windows} - before, closed)
                ],
            )

    async def open_window_for(
        self, event_ids: Sequence[int], actor: str, reason: str, now: float, end: float
    ) -> list[str]:
        """An operator's maintenance window, now until `end`, for the hosts of these
        events; their unresolved events are muted at once. Journalled on each event
        and for the bridge. Returns the hosts; ActionError (nothing changed) for an
        empty reason, an end not in the future or no such event."""
        self._writable()
        reason = check_note(reason, required=True)
        if end <= now:
            raise ActionError("the window must end in the future")
        hosts: dict[str, list[int]] = {}
        async with self._tx(now, "maintenance"):
            for event_id in dict.fromkeys(event_ids):
                async with self._db.execute(
                    "SELECT resource FROM events WHERE id = ?", (event_id,)
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    raise ActionError(f"no event {event_id}")
                hosts.setdefault(row[0], []).append(event_id)
            for host, ids in hosts.items():
                name, globs = operator_window(host)  # a second window for a host replaces the first
                await self._db.execute(
                    "INSERT OR REPLACE INTO maintenance_windows(name, hosts, start, end, source) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, json.dumps(globs), now, end, OPERATOR_WINDOW),
                )
                await self._db.execute(
                    "UPDATE events SET suppressed_by = ? WHERE resource = ? AND state != 'resolved'",
                    (name, host),
                )
                note, own = operator_window_notes(name, host, end, reason)
                await self._db.executemany(
                    "INSERT INTO journal(event_id, at, actor, action, note) VALUES (?, ?, ?, ?, ?)",
                    [(i, now, actor, "maintenance", note) for i in ids]
                    + [(None, now, actor, "maintenance opened", own)],
                )
        return list(hosts)

    async def close_expired_windows(self, now: float) -> int:
        """End the operators' windows whose time is up; their events alert again."""
        self._writable()
        async with self._db.execute(
            "SELECT name FROM maintenance_windows WHERE source = ? AND end <= ?",
            (OPERATOR_WINDOW, now),
        ) as cur:
            due = [row[0] for row in await cur.fetchall()]
        if not due:
            return 0
        async with self._tx(now, "maintenance"):
            for name in due:
                await self._db.execute("DELETE FROM maintenance_windows WHERE name = ?", (name,))
                await self._db.execute(
                    "UPDATE events SET suppressed_by = NULL WHERE suppressed_by = ? "
                    "AND state != 'resolved'",
                    (name,),
                )
                await self._db.execute(
                    "INSERT INTO journal(event_id, at, actor, action, note) "
                    "VALUES (NULL, ?, 'bridge', 'maintenance closed', ?)",
                    (now, name),
                )
        return len(due)

    async def maintenance_windows(self) -> list[MaintenanceWindow]:
        async with self._db.execute(
            "SELECT name, hosts, start, end, source FROM maintenance_windows ORDER BY start, name"
        ) as cur:
            rows = await cur.fetchall()
        return [MaintenanceWindow(r[0], tuple(json.loads(r[1])), r[2], r[3], r[4]) for r in rows]

    # -- the collector lease -------------------------------------------------------
    async def try_lease(self, name: str, holder: str, ttl: float, now: float) -> bool:
        self._writable()
        async with self._write_lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                async with self._db.execute(
                    "SELECT holder, acquired_at, expires_at FROM leases WHERE name = ?", (name,)
                ) as cur:
                    row = await cur.fetchone()
                if row is not None and row[0] != holder and row[2] > now:
                    await self._db.execute("COMMIT")
                    return False
                taken = row is None or row[0] != holder
                acquired = now if taken or row is None else row[1]
                await self._db.execute(
                    "INSERT OR REPLACE INTO leases(name, holder, host, pid, acquired_at, "
                    "heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, holder, self._host, os.getpid(), acquired, now, now + ttl),
                )
                if taken:
                    await self._db.execute(
                        "INSERT INTO changes(at, kind, ref) VALUES (?, 'lease', ?)", (now, name)
                    )
                await self._db.execute("COMMIT")
                return True
            except BaseException:
                await _rollback(self._db)
                raise

    async def release_lease(self, name: str, holder: str) -> None:
        async with self._tx(0.0, "lease", name):
            await self._db.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
            )

    async def lease(self, name: str) -> LeaseInfo | None:
        async with self._db.execute(
            "SELECT name, holder, host, pid, acquired_at, heartbeat_at, expires_at "
            "FROM leases WHERE name = ?",
            (name,),
        ) as cur:
            row = await cur.fetchone()
        return LeaseInfo(*row) if row else None


def release_lease_now(path: Path, name: str, holder: str, timeout: float = 0.5) -> None:
    """Give up `holder`'s lease on a connection of its own, without an event loop.

    For a process about to end at once because its event loop is stuck (a dead
    terminal): the next console then polls at once instead of after the TTL.
    Releasing a lease that is not held changes nothing; a store whose write lock
    stays taken longer than `timeout` raises sqlite3.OperationalError.
    """
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
        if cur.rowcount:  # recorded as release_lease does, so readers see it go
            conn.execute("INSERT INTO changes(at, kind, ref) VALUES (0.0, 'lease', ?)", (name,))
        conn.execute("COMMIT")
    finally:
        conn.close()


async def _rollback(conn: aiosqlite.Connection) -> None:
    """Undo the open transaction, if any.

    aiosqlite runs statements in order on one thread and a cancelled await does not
    stop its statement, so this ROLLBACK also undoes a BEGIN whose await was
    cancelled (SIGTERM, a lost lease). Without it the connection would stay inside
    a transaction holding SQLite's write lock. "No transaction is active" (the
    BEGIN failed, or a cancelled COMMIT went through) is fine, and must not mask
    the original exception.
    """
    with contextlib.suppress(sqlite3.OperationalError):
        await conn.execute("ROLLBACK")


def _where(
    query: EventQuery | None, include_resolved: bool, keep_unacked_resolved: bool
) -> tuple[str, tuple[Any, ...]]:
    """SQL for a filter, so it reaches every event, not only the ones on screen."""
    clauses: list[str] = []
    args: list[Any] = []
    if not include_resolved:
        clauses.append(
            "(state != 'resolved' OR acked_by IS NULL)"
            if keep_unacked_resolved
            else "state != 'resolved'"
        )
    if query is not None:
        if query.severities:
            clauses.append(f"severity IN ({','.join('?' * len(query.severities))})")
            args.extend(int(s) for s in query.severities)
        if query.states:
            clauses.append(f"state IN ({','.join('?' * len(query.states))})")
            args.extend(s.value for s in query.states)
        for column, values in (
            ("resource", query.resource),
            ("check_name", query.check),
            ("source", query.source),
            ("owner", query.owner),
        ):
            for value in values:
                clauses.append(f"{column} LIKE ? ESCAPE '\\'")
                args.append(f"%{_like(value)}%")
        for word in query.words:
            clauses.append(
                "(resource LIKE ? ESCAPE '\\' OR check_name LIKE ? ESCAPE '\\' "
                "OR summary LIKE ? ESCAPE '\\')"
            )
            args.extend([f"%{_like(word)}%"] * 3)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _job_where(job: str | None, since: float | None) -> tuple[str, tuple[Any, ...]]:
    """The filter shared by job runs and schedule changes: one job, from a time."""
    clauses: list[str] = []
    args: list[Any] = []
    if job is not None:
        clauses.append("job = ?")
        args.append(job)
    if since is not None:
        clauses.append("at >= ?")
        args.append(since)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(args)


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL)"
    )
    try:
        await conn.execute("BEGIN IMMEDIATE")
        async with conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: store schema version {current} is newer than this bridge "
                f"understands ({SCHEMA_VERSION}); upgrade bridge"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1].split(";"):
                if statement.strip():
                    await conn.execute(statement)
            # From Python: SQLite before 3.42 knows no unixepoch('subsec') and stores NULL.
            await conn.execute(
                "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)",
                (version, time.time()),
            )
        await conn.execute("COMMIT")
    except BaseException:
        await _rollback(conn)
        raise


async def open_sqlite_store(path: Path) -> SqliteStore:
    """Open (creating and migrating as needed) the store at `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store's folder: {exc.strerror}") from None
    db: aiosqlite.Connection | None = None
    try:
        db = await _connect(path)
        await _migrate(db, path)
        watch = await _connect(path)
    except sqlite3.DatabaseError as exc:
        if db is not None:
            await db.close()
        raise StoreError(f"{path}: cannot open the store: {exc}") from None
    except BaseException:  # e.g. StoreError from _migrate: never leave a worker thread behind
        if db is not None:
            await db.close()
        raise
    return SqliteStore(path, db, watch)
