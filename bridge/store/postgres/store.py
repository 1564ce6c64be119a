"""The PostgreSQL backend: one server shared by every host's collectors and consoles.

A pool of connections does the work; one more connection, opened only by a
process that follows the change feed, does nothing but LISTEN (psycopg's
`notifies()` holds its connection while it waits).

Every write transaction first takes one advisory lock (`LOCK_KEY`) and then
appends its change row, so change seqs are handed out in commit order: a
sequence alone does not give that (a transaction that drew a lower seq can
commit after one with a higher seq, and a reader at `seq > last` would skip
it). The lock also gives every read-then-write (dedup, an operator's action
racing another's, claiming outbox items) the serial order SQLite's write lock
gives the SQLite store. The same statement notifies the new seq; the
notification is only a wake-up: readers always catch up with `seq > last`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Json, Jsonb
from psycopg_pool import AsyncConnectionPool

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
from bridge.store.postgres.schema import CHANNEL, LOCK_KEY
from bridge.store.postgres.service import JOURNAL_COLUMNS, PgServiceQueries
from bridge.store.postgres.url import PgUrl
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
from collectors.base import Reading

__all__ = ["CATCH_UP_S", "Conn", "PostgresStore"]

log = logging.getLogger(__name__)

Conn = psycopg.AsyncConnection[TupleRow]
CHANGE_RETENTION_S = 3600.0
# Notifications are lossy (a dropped LISTEN connection loses them): a follower of
# the feed reads the changes table at least this often whatever it was told.
CATCH_UP_S = 5.0
LISTEN_NAME = "bridge-listen"  # the LISTEN connection's application_name, for pg_stat_activity
# Lock, append, notify: one round trip. The lock is taken before the identity
# column draws the seq, so seqs follow the order the transactions commit in.
_APPEND = (
    "WITH l AS (SELECT pg_advisory_xact_lock(%s)) "
    "INSERT INTO changes(at, kind, ref) SELECT %s, %s, %s FROM l "
    f"RETURNING seq, pg_notify('{CHANNEL}', seq::text)"
)
_DB_NOW = "extract(epoch from now())::double precision"


class PostgresStore(PgServiceQueries):
    """Implements `bridge.store.protocol.Store` on PostgreSQL."""

    def __init__(
        self,
        pg: PgUrl,
        pool: AsyncConnectionPool[Conn],
        connect: dict[str, Any],
        *,
        read_only: bool,
    ) -> None:
        self.url = pg.shown
        self.read_only = read_only
        self._pg = pg
        self._pool = pool
        self._connect = connect
        self._host = socket.gethostname()
        # The leases this store took, with the fencing generation it took them at:
        # kept after a lost renewal, so writes as their holder are refused (see _fence).
        self._held: dict[str, tuple[str, int]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()  # replaced (after being set) at every wake-up
        # The newest seq this store knows was committed (notified, read or written
        # by itself): a reader past it need not read the table, until the next
        # catch-up (`_last_read` + CATCH_UP_S) or a LISTEN connection that is not up.
        self._known_seq = 0
        self._listening = False
        self._last_read = 0.0

    # -- plumbing --------------------------------------------------------------
    def _error(self, exc: psycopg.Error) -> StoreError:
        """A database error as one line naming the store, never the password."""
        text = self._pg.scrub(str(exc)) or type(exc).__name__
        if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
            return ReadOnlyStoreError(f"{self.url}: the store is read-only here: {text}")
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return StoreError(f"{self.url}: this database role may not do that: {text}")
        if isinstance(exc, psycopg.OperationalError):
            return StoreError(f"{self.url}: the store's connection failed: {text}")
        return StoreError(f"{self.url}: {text}")

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise self._error(exc) from None

    async def _rows(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> list[TupleRow]:
        async with self._conn() as conn:
            cur = await conn.execute(sql, args)
            return await cur.fetchall()

    async def _one(self, sql: str, args: Sequence[Any] = ()) -> TupleRow | None:
        async with self._conn() as conn:
            cur = await conn.execute(sql, args)
            return await cur.fetchone()

    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStoreError(f"{self.url}: this store is open read-only")

    @asynccontextmanager
    async def _tx(
        self, at: float, kind: str, ref: str = "", *, fenced: bool = False
    ) -> AsyncIterator[tuple[Conn, int]]:
        """A write transaction that records one change; yields its connection and seq.

        `fenced`: a lease holder's duty, refused once this store lost a lease it took."""
        self._writable()
        async with self._conn() as conn:
            async with conn.transaction():
                cur = await conn.execute(_APPEND, (LOCK_KEY, at, kind, ref))
                row = await cur.fetchone()
                assert row is not None
                if fenced:
                    await self._fence(conn)
                yield conn, int(row[0])
            self._saw(int(row[0]))  # committed: this store's own feed sees it at once

    async def _append(self, conn: Conn, at: float, kind: str, ref: str = "") -> int:
        """One more change row inside an open write transaction (the lock is held)."""
        cur = await conn.execute(_APPEND, (LOCK_KEY, at, kind, ref))
        row = await cur.fetchone()
        assert row is not None
        self._saw(int(row[0]))  # early, but harmless: a reader finds nothing new yet
        return int(row[0])

    async def _fence(self, conn: Conn) -> None:
        """Refuse a holder's write once another process took a lease this one held:
        a collector stalled past its TTL comes back to find its generation gone."""
        for name, (holder, generation) in list(self._held.items()):
            cur = await conn.execute(
                "SELECT 1 FROM leases WHERE name = %s AND holder = %s AND generation = %s",
                (name, holder, generation),
            )
            if await cur.fetchone() is None:
                raise StoreError(
                    f"{self.url}: lease {name!r} (generation {generation}) was lost to another "
                    "process; not writing as its holder"
                )

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._pool.close()

    # -- change feed -------------------------------------------------------------
    def _saw(self, seq: int) -> None:
        if seq > self._known_seq:
            self._known_seq = seq
        woken, self._woken = self._woken, asyncio.Event()
        woken.set()

    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="bridge-pg-listen"
            )

    async def _listen(self) -> None:
        """LISTEN on a connection of its own. On every (re)connect, read the newest
        seq after LISTEN, so what was committed while no one listened is read too."""
        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._pg.conninfo,
                    autocommit=True,
                    **{**self._connect, "application_name": LISTEN_NAME},
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    cur = await conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes")
                    row = await cur.fetchone()
                    self._listening = True
                    backoff = 0.5
                    self._saw(int(row[0]) if row else 0)
                    async for note in conn.notifies():
                        self._saw(int(note.payload) if note.payload.isdigit() else 0)
            except psycopg.Error as exc:
                log.warning("change feed: %s", self._error(exc))
            finally:
                self._listening = False
            self._saw(0)  # wake the waiters: they read the table while no one listens
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, CATCH_UP_S)

    async def wait_for_changes(
        self,
        after_seq: int,
        timeout: float,  # noqa: ASYNC109 - the feed contract: a bounded wait
        *,
        limit: int = 1000,
    ) -> list[Change]:
        """The changes after `after_seq`, waiting up to `timeout` s for the first one.

        Reads the changes table only when a notification (or this store's own
        commit) says there is something past `after_seq`, when the LISTEN
        connection is down, and once per CATCH_UP_S besides: an idle console's
        check (timeout 0, several a second) is no query at all."""
        self._ensure_listener()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            woken = self._woken  # taken before the read: a commit after it wakes us
            now = loop.time()
            if (
                not self._listening
                or self._known_seq > after_seq
                or now - self._last_read >= CATCH_UP_S
            ):
                self._last_read = now
                found = await self.changes_since(after_seq, limit)
                if found:
                    self._known_seq = max(self._known_seq, found[-1].seq)
                    return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), min(remaining, CATCH_UP_S))

    async def last_seq(self) -> int:
        row = await self._one("SELECT COALESCE(MAX(seq), 0) FROM changes")
        return int(row[0]) if row else 0

    async def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        rows = await self._rows(
            "SELECT seq, at, kind, ref FROM changes WHERE seq > %s ORDER BY seq LIMIT %s",
            (seq, limit),
        )
        return [Change(int(r[0]), r[1], r[2], r[3]) for r in rows]

    # -- readings ----------------------------------------------------------------
    async def write_reading(self, reading: Reading, levels: dict[str, str]) -> None:
        ref = f"{reading.source}|{reading.resource}"
        async with self._tx(reading.at, "reading", ref, fenced=True) as (conn, _):
            await conn.execute(
                "INSERT INTO snapshots(source, resource, at, data, levels) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT(source, resource) DO UPDATE SET "
                "at = excluded.at, data = excluded.data, levels = excluded.levels",
                (reading.source, reading.resource, reading.at, Json(reading.detail), Json(levels)),
            )
            if reading.metrics:
                names = list(reading.metrics)
                await conn.execute(
                    "INSERT INTO samples(source, resource, metric, at, value) "
                    "SELECT %s, %s, m, %s, v FROM unnest(%s::text[], %s::float8[]) AS u(m, v)",
                    (reading.source, reading.resource, reading.at, names,
                     [float(reading.metrics[n]) for n in names]),
                )  # fmt: skip

    async def snapshots(self, source: str | None = None) -> list[Snapshot]:
        sql = "SELECT source, resource, at, data, levels FROM snapshots"
        args: tuple[Any, ...] = ()
        if source is not None:
            sql += " WHERE source = %s"
            args = (source,)
        rows = await self._rows(sql + " ORDER BY source, resource", args)
        return [Snapshot(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def snapshot(self, source: str, resource: str) -> Snapshot | None:
        row = await self._one(
            "SELECT at, data, levels FROM snapshots WHERE source = %s AND resource = %s",
            (source, resource),
        )
        return None if row is None else Snapshot(source, resource, row[0], row[1], row[2])

    async def series(
        self, source: str, resource: str, metric: str, since: float
    ) -> list[tuple[float, float]]:
        rows = await self._rows(
            "SELECT at, value FROM samples WHERE source = %s AND resource = %s AND metric = %s "
            "AND at >= %s ORDER BY at",
            (source, resource, metric, since),
        )
        return [(r[0], r[1]) for r in rows]

    async def prune(self, now: float, sample_retention_s: float = 86400.0) -> int:
        async with self._tx(now, "prune", fenced=True) as (conn, seq):
            cur = await conn.execute(
                "DELETE FROM samples WHERE at < %s", (now - sample_retention_s,)
            )
            removed = cur.rowcount
            await conn.execute(
                "DELETE FROM changes WHERE at < %s AND seq < %s", (now - CHANGE_RETENTION_S, seq)
            )
        return removed

    # -- collector self-health ---------------------------------------------------
    async def record_health(self, health: CollectorHealth) -> None:
        async with self._tx(health.last_run or 0.0, "health", health.name, fenced=True) as (
            conn,
            _,
        ):
            await conn.execute(
                'INSERT INTO collector_health(name, "interval", last_run, last_success, '
                "latency_ms, runs, errors, consecutive_failures, last_error, timeouts, backoff, "
                "first_run) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                'ON CONFLICT(name) DO UPDATE SET "interval" = excluded."interval", '
                "last_run = excluded.last_run, last_success = excluded.last_success, "
                "latency_ms = excluded.latency_ms, runs = excluded.runs, "
                "errors = excluded.errors, consecutive_failures = excluded.consecutive_failures, "
                "last_error = excluded.last_error, timeouts = excluded.timeouts, "
                "backoff = excluded.backoff, "
                "first_run = COALESCE(collector_health.first_run, excluded.first_run)",
                (health.name, health.interval, health.last_run, health.last_success,
                 health.latency_ms, health.runs, health.errors, health.consecutive_failures,
                 health.last_error, health.timeouts, health.backoff, health.last_run),
            )  # fmt: skip

    async def collector_health(self) -> list[CollectorHealth]:
        rows = await self._rows(
            'SELECT name, "interval", last_run, last_success, latency_ms, runs, errors, '
            "consecutive_failures, last_error, timeouts, backoff FROM collector_health ORDER BY name"
        )
        return [CollectorHealth(*row) for row in rows]

    # -- events --------------------------------------------------------------------
    async def upsert_events(self, events: Sequence[EventInput], actor: str) -> None:
        """Apply raises and clears in one transaction, deduplicated on source+resource+check."""
        if not events:
            return
        async with self._tx(events[-1].at, "events") as (conn, seq):
            await self._apply_events(conn, events, actor, seq)

    async def _existing(self, conn: Conn, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        cur = await conn.execute(
            f"SELECT dedup_key, {', '.join(MUTABLE)} FROM events WHERE dedup_key = ANY(%s)",
            (list(dict.fromkeys(keys)),),
        )
        return {
            key: dict(zip(MUTABLE, values, strict=True)) for key, *values in await cur.fetchall()
        }

    async def _apply_events(
        self, conn: Conn, events: Sequence[EventInput], actor: str, seq: int
    ) -> None:
        existing = await self._existing(conn, (e.key for e in events))
        # Read inside the write transaction (the lease holder opens and closes
        # windows); a window past its end no longer counts.
        cur = await conn.execute(
            "SELECT name, hosts FROM maintenance_windows WHERE end_at IS NULL OR end_at > %s",
            (events[-1].at,),
        )
        windows = [(str(name), list(hosts)) for name, hosts in await cur.fetchall()]
        folded = fold_events(events, existing, WindowMatcher(windows), actor)
        inserts = [{**row, "seq": seq} for row in folded.inserts]
        updates = [{**row, "seq": seq, "key": key} for key, row in folded.updates.items()]
        evidence, journal = folded.evidence, folded.journal
        async with conn.cursor() as c:
            if inserts:
                # COPY: a burst of new events is one stream, not a statement per row.
                cols = list(inserts[0])
                async with c.copy(f"COPY events ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in inserts:
                        await copy.write_row([row[col] for col in cols])
            if updates:
                sets = ", ".join(f"{c} = %({c})s" for c in MUTABLE)
                await c.executemany(
                    f"UPDATE events SET {sets}, seq = %(seq)s WHERE dedup_key = %(key)s", updates
                )
            if evidence:
                await c.executemany(
                    "UPDATE events SET evidence = %s::jsonb WHERE dedup_key = %s",
                    [(value, key) for key, value in evidence.items()],
                )
            if journal:
                # One statement for the batch's lines, in their order (ORDINALITY),
                # each joined to its event's id by dedup key.
                keys, ats, actors, actions, notes = (
                    list(col) for col in zip(*journal, strict=True)
                )
                await c.execute(
                    "INSERT INTO journal(event_id, at, actor, action, note) "
                    "SELECT e.id, j.at, j.actor, j.action, j.note "
                    "FROM unnest(%s::text[], %s::float8[], %s::text[], %s::text[], %s::text[]) "
                    "WITH ORDINALITY AS j(key, at, actor, action, note, n) "
                    "JOIN events AS e ON e.dedup_key = j.key ORDER BY j.n",
                    (keys, ats, actors, actions, notes),
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
        rows = await self._rows(
            f"SELECT {EVENT_COLUMNS} FROM events {where} "
            f"ORDER BY {STATE_RANK}, severity DESC, last_seen DESC LIMIT %s",
            (*args, limit),
        )
        return [event_from_row(row) for row in rows]

    async def count_events(
        self,
        *,
        include_resolved: bool = True,
        query: EventQuery | None = None,
        keep_unacked_resolved: bool = True,
    ) -> int:
        where, args = _where(query, include_resolved, keep_unacked_resolved)
        row = await self._one(f"SELECT COUNT(*) FROM events {where}", args)
        return int(row[0]) if row else 0

    async def get_event(self, event_id: int) -> Event | None:
        row = await self._one(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = %s", (event_id,))
        return event_from_row(row) if row else None

    async def find_event(self, key: str) -> Event | None:
        row = await self._one(f"SELECT {EVENT_COLUMNS} FROM events WHERE dedup_key = %s", (key,))
        return event_from_row(row) if row else None

    async def evidence(self, event_id: int) -> dict[str, Any] | None:
        row = await self._one("SELECT evidence FROM events WHERE id = %s", (event_id,))
        if not row or not row[0]:
            return None
        return row[0] if isinstance(row[0], dict) else None

    async def journal(self, event_id: int | None = None, limit: int = 500) -> list[JournalEntry]:
        where, args = ("WHERE event_id = %s", (event_id,)) if event_id is not None else ("", ())
        rows = await self._rows(
            f"SELECT {JOURNAL_COLUMNS} FROM journal {where} ORDER BY at DESC, id DESC LIMIT %s",
            (*args, limit),
        )
        return [JournalEntry(*row) for row in rows]

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
        """Apply an operator action to each event in one transaction; the state is read
        under the write lock, so of two operators acting at once the second is refused."""
        note = check_note(note, required=action in NOTE_REQUIRED)
        if action is Action.ASSIGN:
            to = check_name(to or "")
        results: list[ActionResult] = []
        async with self._tx(now, "events") as (conn, seq):
            ids = list(dict.fromkeys(event_ids))
            cur = await conn.execute(
                "SELECT id, state, severity, acked_by, owner FROM events WHERE id = ANY(%s)",
                (ids,),
            )
            current = {eid: tuple(values) for eid, *values in await cur.fetchall()}
            journal: list[tuple[int, float, str, str, str]] = []
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
                sets = ", ".join(f"{c} = %({c})s" for c in updates)
                await conn.execute(
                    f"UPDATE events SET {sets + ', ' if sets else ''}seq = %(seq)s WHERE id = %(id)s",
                    {**updates, "seq": seq, "id": event_id},
                )
                detail = action_note(action, row, updates, note, until=until, to=to)
                journal.append((event_id, now, actor, action.value, detail))
                results.append(ActionResult(event_id, True, f"{action.value}: event {event_id}"))
            if journal:
                async with conn.cursor() as c:
                    await c.executemany(
                        "INSERT INTO journal(event_id, at, actor, action, note) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        journal,
                    )
        return results

    async def record(
        self, actor: str, action: str, note: str, now: float, *, event_id: int | None = None
    ) -> None:
        """A journal entry about the bridge itself, or with `event_id` a line on one
        event that changes none of its state (a silence written back)."""
        ref = "" if event_id is None else str(event_id)
        async with self._tx(now, "journal", ref) as (conn, _):
            await conn.execute(
                "INSERT INTO journal(event_id, at, actor, action, note) "
                "VALUES (%s, %s, %s, %s, %s)",
                (event_id, now, actor, action, note),
            )

    async def unshelve_expired(self, now: float, actor: str = "bridge") -> int:
        rows = await self._rows(
            "SELECT id FROM events WHERE state = 'shelved' AND shelved_until <= %s", (now,)
        )
        if not rows:
            return 0
        results = await self.act(
            [r[0] for r in rows], Action.UNSHELVE, actor, now, note="shelve time ended"
        )
        return sum(r.ok for r in results)

    # -- job signals and the schedule ----------------------------------------------
    async def job_start(
        self, job: str, actor: str, now: float, *, run_id: str | None = None
    ) -> JobRun:
        given = run_id is not None
        run_id = run_id if run_id is not None else os.urandom(6).hex()
        async with self._tx(now, "jobs", job) as (conn, _):
            if given:
                cur = await conn.execute("SELECT job FROM job_runs WHERE run_id = %s", (run_id,))
                taken = await cur.fetchone()
                if taken is not None:
                    raise JobSignalError(f"run {run_id!r} exists already (job {taken[0]!r})")
            cur = await conn.execute(
                "INSERT INTO job_runs(job, run_id, started_at, status, actor, at) "
                "VALUES (%s, %s, %s, 'running', %s, %s) RETURNING id",
                (job, run_id, now, actor, now),
            )
            row = await cur.fetchone()
        assert row is not None
        return JobRun(int(row[0]), job, run_id, now, None, JobRunStatus.RUNNING, actor=actor)

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
        status = JobRunStatus.OK if ok else JobRunStatus.FAILED
        message = message.strip()[:MAX_MESSAGE]
        output_tail = output_tail[-MAX_OUTPUT_TAIL:]
        async with self._tx(now, "jobs", job) as (conn, _):
            if run_id is not None:
                cur = await conn.execute(
                    f"SELECT {RUN_COLUMNS} FROM job_runs WHERE run_id = %s", (run_id,)
                )
            else:
                cur = await conn.execute(
                    f"SELECT {RUN_COLUMNS} FROM job_runs WHERE job = %s AND status = 'running' "
                    "ORDER BY at DESC, id DESC LIMIT 1",
                    (job,),
                )
            row = await cur.fetchone()
            if row is None and run_id is not None:
                raise JobSignalError(f"no run {run_id!r} of job {job!r}")
            if row is None:
                new_id = os.urandom(6).hex()
                cur = await conn.execute(
                    "INSERT INTO job_runs(job, run_id, ended_at, status, exit_code, message, "
                    "output_tail, actor, duration, at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (job, new_id, now, status.value, exit_code, message,
                     output_tail, actor, duration, now),
                )  # fmt: skip
                made = await cur.fetchone()
                assert made is not None
                return JobRun(
                    int(made[0]), job, new_id, None, now, status, exit_code, message, output_tail,
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
            await conn.execute(
                "UPDATE job_runs SET ended_at = %s, status = %s, exit_code = %s, message = %s, "
                "output_tail = %s, duration = %s WHERE id = %s",
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
        rows = await self._rows(
            f"SELECT {RUN_COLUMNS} FROM job_runs {where} ORDER BY at DESC, id DESC LIMIT %s",
            (*args, limit),
        )
        return [run_from_row(row) for row in rows]

    async def get_job_run(self, run_id: str) -> JobRun | None:
        row = await self._one(f"SELECT {RUN_COLUMNS} FROM job_runs WHERE run_id = %s", (run_id,))
        return run_from_row(row) if row else None

    async def latest_job_runs(self) -> dict[str, JobRun]:
        rows = await self._rows(
            f"SELECT DISTINCT ON (job) {RUN_COLUMNS} FROM job_runs ORDER BY job, at DESC, id DESC"
        )
        return {run.job: run for run in map(run_from_row, rows)}

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
        reason = check_schedule_change(action, reason, new_time, now)
        note = schedule_change_note(job, occurrence, new_time, reason)
        async with self._tx(now, "jobs", job) as (conn, _):
            cur = await conn.execute(
                "INSERT INTO schedule_changes(job, occurrence, action, new_time, actor, reason, at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (job, occurrence, action.value, new_time, actor, reason, now),
            )
            made = await cur.fetchone()
            await conn.execute(
                "INSERT INTO journal(event_id, at, actor, action, note) "
                "VALUES (NULL, %s, %s, %s, %s)",
                (now, actor, f"job {action.value}", note),
            )
            if resolves:
                await self._resolve_moot(conn, job, action, resolves, actor, reason, now)
        assert made is not None
        return ScheduleChange(int(made[0]), job, occurrence, action, new_time, actor, reason, now)

    async def _resolve_moot(
        self,
        conn: Conn,
        job: str,
        action: ScheduleAction,
        checks: Sequence[str],
        actor: str,
        reason: str,
        now: float,
    ) -> None:
        cur = await conn.execute(
            "SELECT id FROM events WHERE dedup_key = ANY(%s) AND state != 'resolved'",
            (schedule_keys(job, checks),),
        )
        ids = [row[0] for row in await cur.fetchall()]
        if not ids:
            return
        seq = await self._append(conn, now, "events")
        resolved = moot_resolved(now)
        sets = ", ".join(f"{c} = %({c})s" for c in resolved)
        await conn.execute(
            f"UPDATE events SET {sets}, seq = %(seq)s WHERE id = ANY(%(ids)s)",
            {**resolved, "seq": seq, "ids": ids},
        )
        note = moot_resolve_note(action, reason)
        async with conn.cursor() as c:
            await c.executemany(
                "INSERT INTO journal(event_id, at, actor, action, note) "
                "VALUES (%s, %s, %s, %s, %s)",
                [(event_id, now, actor, "resolve", note) for event_id in ids],
            )

    async def schedule_changes(
        self, job: str | None = None, *, since: float | None = None, limit: int = 1000
    ) -> list[ScheduleChange]:
        where, args = _job_where(job, since)
        rows = await self._rows(
            f"SELECT {CHANGE_COLUMNS} FROM schedule_changes {where} ORDER BY at, id LIMIT %s",
            (*args, limit),
        )
        return [schedule_change_from_row(row) for row in rows]

    # -- the schedule engine's output ----------------------------------------------
    async def write_job_statuses(self, records: Sequence[JobStatusRecord], now: float) -> None:
        if not records:
            return
        async with self._tx(now, "schedule", fenced=True) as (conn, seq), conn.cursor() as c:
            await c.executemany(
                "INSERT INTO job_status(job, state, exception, at, first_at, data, seq) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT(job) DO UPDATE SET "
                "state = excluded.state, exception = excluded.exception, at = excluded.at, "
                "data = excluded.data, seq = excluded.seq",
                [
                    (r.job, r.state, bool(r.exception), r.at, r.first_at or r.at, Json(r.data), seq)
                    for r in records
                ],
            )

    async def job_statuses(self, *, after_seq: int = 0) -> list[JobStatusRecord]:
        rows = await self._rows(
            "SELECT job, state, exception, at, data, first_at, seq FROM job_status "
            "WHERE seq > %s ORDER BY seq",
            (after_seq,),
        )
        return [JobStatusRecord(r[0], r[1], bool(r[2]), r[3], r[4], r[5], int(r[6])) for r in rows]

    async def set_maintenance_windows(
        self, windows: Sequence[MaintenanceWindow], now: float
    ) -> None:
        async with self._tx(now, "maintenance", fenced=True) as (conn, _):
            cur = await conn.execute("SELECT name FROM maintenance_windows")
            before = {row[0] for row in await cur.fetchall()}
            await conn.execute(
                "DELETE FROM maintenance_windows WHERE source != %s OR end_at <= %s",
                (OPERATOR_WINDOW, now),
            )
            cur = await conn.execute("SELECT name FROM maintenance_windows")
            before -= {row[0] for row in await cur.fetchall()}
            async with conn.cursor() as c:
                await c.executemany(
                    "INSERT INTO maintenance_windows(name, hosts, start, end_at, source) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [(w.name, Jsonb(list(w.hosts)), w.start, w.end, w.source) for w in windows],
                )
            closed = before - {w.name for w in windows}
            if closed:
                await conn.execute(
                    "UPDATE events SET suppressed_by = NULL WHERE suppressed_by = ANY(%s) "
                    "AND state != 'resolved'",
                    (sorted(closed),),
                )
            lines = window_journal({w.name for w in windows} - before, closed)
            if lines:
                async with conn.cursor() as c:
                    await c.executemany(
                        "INSERT INTO journal(event_id, at, actor, action, note) "
                        "VALUES (NULL, %s, 'bridge', %s, %s)",
                        [(now, action, name) for action, name in lines],
                    )

    async def open_window_for(
        self, event_ids: Sequence[int], actor: str, reason: str, now: float, end: float
    ) -> list[str]:
        reason = check_note(reason, required=True)
        if end <= now:
            raise ActionError("the window must end in the future")
        hosts: dict[str, list[int]] = {}
        async with self._tx(now, "maintenance") as (conn, _):
            ids = list(dict.fromkeys(event_ids))
            cur = await conn.execute("SELECT id, resource FROM events WHERE id = ANY(%s)", (ids,))
            resource = {int(r[0]): str(r[1]) for r in await cur.fetchall()}
            for event_id in ids:
                if event_id not in resource:
                    raise ActionError(f"no event {event_id}")
                hosts.setdefault(resource[event_id], []).append(event_id)
            journal: list[tuple[int | None, float, str, str, str]] = []
            for host, host_ids in hosts.items():
                name, globs = operator_window(host)  # a second window for a host replaces it
                await conn.execute(
                    "INSERT INTO maintenance_windows(name, hosts, start, end_at, source) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT(name) DO UPDATE SET "
                    "hosts = excluded.hosts, start = excluded.start, end_at = excluded.end_at, "
                    "source = excluded.source",
                    (name, Jsonb(globs), now, end, OPERATOR_WINDOW),
                )
                await conn.execute(
                    "UPDATE events SET suppressed_by = %s WHERE resource = %s "
                    "AND state != 'resolved'",
                    (name, host),
                )
                note, own = operator_window_notes(name, host, end, reason)
                journal += [(i, now, actor, "maintenance", note) for i in host_ids]
                journal.append((None, now, actor, "maintenance opened", own))
            async with conn.cursor() as c:
                await c.executemany(
                    "INSERT INTO journal(event_id, at, actor, action, note) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    journal,
                )
        return list(hosts)

    async def close_expired_windows(self, now: float) -> int:
        rows = await self._rows(
            "SELECT name FROM maintenance_windows WHERE source = %s AND end_at <= %s",
            (OPERATOR_WINDOW, now),
        )
        if not rows:
            return 0
        due = [row[0] for row in rows]
        async with self._tx(now, "maintenance", fenced=True) as (conn, _):
            await conn.execute("DELETE FROM maintenance_windows WHERE name = ANY(%s)", (due,))
            await conn.execute(
                "UPDATE events SET suppressed_by = NULL WHERE suppressed_by = ANY(%s) "
                "AND state != 'resolved'",
                (due,),
            )
            async with conn.cursor() as c:
                await c.executemany(
                    "INSERT INTO journal(event_id, at, actor, action, note) "
                    "VALUES (NULL, %s, 'bridge', 'maintenance closed', %s)",
                    [(now, name) for name in due],
                )
        return len(due)

    async def maintenance_windows(self) -> list[MaintenanceWindow]:
        rows = await self._rows(
            "SELECT name, hosts, start, end_at, source FROM maintenance_windows "
            "ORDER BY start, name"
        )
        return [MaintenanceWindow(r[0], tuple(r[1]), r[2], r[3], r[4]) for r in rows]

    # -- the collector lease (on the database's clock) ------------------------------
    async def try_lease(self, name: str, holder: str, ttl: float, now: float) -> bool:
        """Take or renew `name` for `holder`. Times are the server's (`now()`), not the
        caller's: hosts whose clocks disagree still agree on when a lease lapses.
        `now` is ignored here; it is the caller's clock, which other backends use."""
        self._writable()
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cur = await conn.execute(
                f"SELECT l.holder, l.acquired_at, l.expires_at, l.generation, {_DB_NOW} "
                "FROM (SELECT 1) AS one LEFT JOIN leases AS l ON l.name = %s",
                (name,),
            )
            row = await cur.fetchone()
            assert row is not None
            current, acquired, expires, generation, db_now = row
            if current is not None and current != holder and expires > db_now:
                return False
            taken = current != holder
            if taken:
                cur = await conn.execute("SELECT nextval('lease_generation')")
                drawn = await cur.fetchone()
                assert drawn is not None
                generation, acquired = int(drawn[0]), db_now
            await conn.execute(
                "INSERT INTO leases(name, holder, host, pid, acquired_at, heartbeat_at, "
                "expires_at, generation) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, host = excluded.host, "
                "pid = excluded.pid, acquired_at = excluded.acquired_at, "
                "heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at, "
                "generation = excluded.generation",
                (name, holder, self._host, os.getpid(), acquired, db_now, db_now + ttl,
                 generation),
            )  # fmt: skip
            if taken:
                await conn.execute(
                    f"INSERT INTO changes(at, kind, ref) VALUES (%s, 'lease', %s) "
                    f"RETURNING pg_notify('{CHANNEL}', seq::text)",
                    (db_now, name),
                )
            self._held[name] = (holder, int(generation))
            return True

    async def release_lease(self, name: str, holder: str) -> None:
        async with self._tx(0.0, "lease", name) as (conn, _):
            await conn.execute("DELETE FROM leases WHERE name = %s AND holder = %s", (name, holder))
        if self._held.get(name, ("", 0))[0] == holder:
            del self._held[name]

    async def lease(self, name: str) -> LeaseInfo | None:
        row = await self._one(
            "SELECT name, holder, host, pid, acquired_at, heartbeat_at, expires_at "
            "FROM leases WHERE name = %s",
            (name,),
        )
        return LeaseInfo(*row) if row else None

    async def lease_generation(self, name: str) -> int | None:
        """The fencing token of `name`'s current holder (it rises at every takeover)."""
        row = await self._one("SELECT generation FROM leases WHERE name = %s", (name,))
        return int(row[0]) if row else None

    # -- the wall's check --------------------------------------------------------------
    async def can_write(self) -> bool:
        """Whether this connection's role may change any of the store's tables."""
        row = await self._one(
            "SELECT COALESCE(bool_or(has_table_privilege(c.oid, "
            "'INSERT, UPDATE, DELETE, TRUNCATE')), false) "
            "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = current_schema()"
        )
        return bool(row and row[0])


async def grant_readonly(store: PostgresStore, role: str) -> str:
    """Let `role` read the store and nothing else (the wall's role); returns the schema.

    Grants CONNECT, USAGE on the store's schema and SELECT on its tables (and on
    tables later migrations add, by default privileges), revokes every write
    privilege, and makes the role's sessions read-only by default."""
    from psycopg import sql

    ident = sql.Identifier(role)
    async with store._conn() as conn, conn.transaction():
        cur = await conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,))
        found = await cur.fetchone()
        if found is None:
            raise StoreError(
                f"{store.url}: no role {role!r}; create it first, e.g. "
                f"CREATE ROLE {role} LOGIN PASSWORD '...'"
            )
        if found[0]:
            raise StoreError(f"{store.url}: role {role!r} is a superuser: it can always write")
        cur = await conn.execute("SELECT current_database(), current_schema()")
        names = await cur.fetchone()
        assert names is not None
        database, schema = sql.Identifier(names[0]), sql.Identifier(names[1])
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {role}",
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "REVOKE CREATE ON SCHEMA {schema} FROM {role}",
            "REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
            "ON ALL TABLES IN SCHEMA {schema} FROM {role}",
            "REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role}",
        ):
            await conn.execute(sql.SQL(statement).format(db=database, schema=schema, role=ident))
        # Read-only sessions by default as well: needs CREATEROLE, which the store's
        # owner may lack. The grants above are the lock; this only says so sooner.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            async with conn.transaction():
                await conn.execute(
                    sql.SQL("ALTER ROLE {role} SET default_transaction_read_only = on").format(
                        role=ident
                    )
                )
    return str(names[1])


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
            clauses.append("severity = ANY(%s)")
            args.append([int(s) for s in query.severities])
        if query.states:
            clauses.append("state = ANY(%s)")
            args.append([s.value for s in query.states])
        for column, values in (
            ("resource", query.resource),
            ("check_name", query.check),
            ("source", query.source),
            ("owner", query.owner),
        ):
            for value in values:
                clauses.append(f"{column} ILIKE %s")
                args.append(f"%{_like(value)}%")
        for word in query.words:
            clauses.append("(resource ILIKE %s OR check_name ILIKE %s OR summary ILIKE %s)")
            args.extend([f"%{_like(word)}%"] * 3)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def _like(text: str) -> str:
    """A literal for ILIKE, whose escape character is the backslash by default."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _job_where(job: str | None, since: float | None) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    args: list[Any] = []
    if job is not None:
        clauses.append("job = %s")
        args.append(job)
    if since is not None:
        clauses.append("at >= %s")
        args.append(since)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(args)
