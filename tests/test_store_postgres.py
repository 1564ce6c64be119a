"""The PostgreSQL store on a real server (tests/pg_server.py): what only it does —
the URL and its errors, the change feed's commit order under concurrent writers,
LISTEN and catch-up, leases on the server's clock with a fencing generation, and
a read-only connection's refusal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from conftest import wait_until
from pg_server import PgServer

from bridge.core.actions import Action
from bridge.core.models import EventInput, JobStatusRecord, MaintenanceWindow, Severity
from bridge.core.query import EventQuery
from bridge.store import ReadOnlyStoreError, Store, StoreError, open_store
from bridge.store.postgres import PostgresStore
from bridge.store.postgres.store import CATCH_UP_S
from bridge.store.postgres.url import parse_url

pytestmark = pytest.mark.timeout(120)

T0 = 1_700_000_000.0


def ev(sev: Severity, at: float, resource: str = "web1", check: str = "cpu") -> EventInput:
    return EventInput("local", resource, check, sev, f"{check} on {resource}", at)


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PostgresStore]:
    store = await open_store(pg_url)
    assert isinstance(store, PostgresStore)
    try:
        yield store
    finally:
        await store.close()


# -- the URL and its errors ------------------------------------------------------------------
async def test_bad_url_is_one_line_without_the_password() -> None:
    with pytest.raises(StoreError) as bad_port:
        await open_store("postgresql://bob:hunter2@db.example:notaport/bridge")
    assert "hunter2" not in str(bad_port.value)
    assert "\n" not in str(bad_port.value)
    with pytest.raises(StoreError) as bad_option:
        await open_store("postgresql://bob:hunter2@127.0.0.1/bridge?nosuchoption=1")
    assert "hunter2" not in str(bad_option.value)
    assert "nosuchoption" in str(bad_option.value)
    assert parse_url("postgresql://bob:hunter2@h:5/db").shown == "postgresql://h:5/db"


async def test_refused_connection_is_one_line(pg_server: PgServer) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError) as refused:
        await open_store(f"postgresql://bob:hunter2@127.0.0.1:{port}/db")
    message = str(refused.value)
    assert "connection refused" in message and f"127.0.0.1:{port}" in message
    assert "hunter2" not in message and "\n" not in message


async def test_wrong_password_never_shows_the_password(pg_server: PgServer) -> None:
    url = pg_server.url(password="not-the-Right-one")
    with pytest.raises(StoreError) as wrong:
        await open_store(url)
    message = str(wrong.value)
    assert "refused user 'bridge_admin'" in message and "password" in message
    assert "not-the-Right-one" not in message and "\n" not in message


async def test_missing_database_is_named(pg_server: PgServer) -> None:
    with pytest.raises(StoreError, match='database "nosuchdb" does not exist'):
        await open_store(pg_server.url("nosuchdb"))


# -- the backend's behaviour, as SQLite's ---------------------------------------------------------
async def test_lifecycle_journal_and_query(pg: PostgresStore) -> None:
    await pg.upsert_events([ev(Severity.MAJOR, T0), ev(Severity.MAJOR, T0 + 1)], "t")
    await pg.upsert_events([ev(Severity.WARNING, T0, resource="DB_1", check="disk")], "t")
    (event,) = await pg.list_events(query=EventQuery(resource=("web",)))
    assert event.count == 2
    # ILIKE: case-insensitive, and _ or % in a query are literal characters.
    assert [e.resource for e in await pg.list_events(query=EventQuery(words=("db_",)))] == ["DB_1"]
    assert await pg.list_events(query=EventQuery(words=("d%",))) == []
    (acked,) = await pg.act([event.id], Action.ACK, "alice", T0 + 2)
    assert acked.ok
    (again,) = await pg.act([event.id], Action.ACK, "bob", T0 + 3)
    assert not again.ok and "alice" in again.message
    await pg.upsert_events([ev(Severity.OK, T0 + 4)], "t")
    actions = [j.action for j in await pg.journal(event.id)]
    assert actions == ["resolve", "ack", "raise"]
    many = await pg.events_by_id([event.id, 999_999])
    assert list(many) == [event.id]


async def test_maintenance_suppresses_and_its_end_unsuppresses(pg: PostgresStore) -> None:
    await pg.set_maintenance_windows([MaintenanceWindow("patch", ("web*",), T0, T0 + 60)], T0)
    await pg.upsert_events([ev(Severity.MAJOR, T0 + 1), ev(Severity.MAJOR, T0 + 1, "db1")], "t")
    marks = {e.resource: e.suppressed_by for e in await pg.list_events()}
    assert marks == {"web1": "patch", "db1": None}
    await pg.set_maintenance_windows([], T0 + 61)
    assert {e.suppressed_by for e in await pg.list_events()} == {None}


async def test_job_runs_and_statuses(pg: PostgresStore) -> None:
    run = await pg.job_start("backup", "cron", T0)
    done = await pg.job_finish("backup", "cron", T0 + 5, ok=True, run_id=run.run_id)
    assert done.duration == 5.0
    assert (await pg.latest_job_runs())["backup"].run_id == run.run_id
    await pg.write_job_statuses([JobStatusRecord("backup", "ok", False, T0, {"b": 1, "a": 2})], T0)
    (status,) = await pg.job_statuses()
    assert list(status.data) == ["b", "a"]  # json, not jsonb: the order written


# -- the change feed -------------------------------------------------------------------------------
async def test_seq_follows_commit_order_under_concurrent_writers(pg_url: str) -> None:
    """4 writers commit at once while a reader follows `seq > last`: it must see every
    change, each once, in order (a plain sequence would let it skip one)."""
    writers = [await open_store(pg_url) for _ in range(4)]
    reader = await open_store(pg_url)
    assert isinstance(reader, PostgresStore)
    per_writer = 60
    try:
        start = await reader.last_seq()
        seen: list[int] = []
        done = asyncio.Event()

        async def follow() -> None:
            last = start
            while not done.is_set() or last < await reader.last_seq():
                batch = await reader.changes_since(last)
                if batch:
                    seen.extend(c.seq for c in batch)
                    last = batch[-1].seq
                await asyncio.sleep(0)

        async def write(store: Store, n: int) -> None:
            for i in range(per_writer):
                await store.upsert_events([ev(Severity.WARNING, T0 + i, resource=f"h{n}-{i}")], "t")

        follower = asyncio.create_task(follow())
        await asyncio.gather(*(write(s, n) for n, s in enumerate(writers)))
        done.set()
        await asyncio.wait_for(follower, 30)
        everything = [c.seq for c in await reader.changes_since(start, 10_000)]
        assert len(everything) == 4 * per_writer
        assert seen == everything  # nothing skipped, nothing twice, in seq order
    finally:
        for s in (*writers, reader):
            await s.close()


async def test_wait_for_changes_wakes_on_another_process_commit(pg_url: str) -> None:
    watcher = await open_store(pg_url)
    writer = await open_store(pg_url)
    assert isinstance(watcher, PostgresStore)
    try:
        last = await watcher.last_seq()
        assert await watcher.wait_for_changes(last, timeout=0.2) == []
        waiting = asyncio.create_task(watcher.wait_for_changes(last, timeout=30))
        await writer.record("alice", "note", "hello", T0)
        changes = await asyncio.wait_for(waiting, 30)
        assert [c.kind for c in changes] == ["journal"]
        # Woken by the notification: the wait is shorter than CATCH_UP_S, so no
        # periodic read could have found it.
        assert CATCH_UP_S > 4
        waiting = asyncio.create_task(watcher.wait_for_changes(changes[-1].seq, timeout=4))
        await writer.record("alice", "note", "again", T0)
        assert [c.kind for c in await waiting] == ["journal"]
    finally:
        await watcher.close()
        await writer.close()


async def test_feed_catches_up_after_its_listen_connection_is_killed(
    pg_url: str, pg_server: PgServer
) -> None:
    watcher = await open_store(pg_url)
    writer = await open_store(pg_url)
    assert isinstance(watcher, PostgresStore)
    try:
        last = await watcher.last_seq()
        await watcher.wait_for_changes(last, timeout=0.1)  # starts the LISTEN connection

        async def listening() -> bool:
            out = pg_server.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bridge-listen'"
            )
            return int(out) >= 1

        await wait_until(listening, within=10, what="the LISTEN connection")
        pg_server.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bridge-listen'"
        )
        await writer.record("alice", "note", "while nobody listened", T0)
        changes = await asyncio.wait_for(watcher.wait_for_changes(last, timeout=30), 30)
        assert [c.kind for c in changes] == ["journal"]
    finally:
        await watcher.close()
        await writer.close()


# -- leases -------------------------------------------------------------------------------------
async def test_lease_uses_the_server_clock_and_fences_a_holder_that_lost_it(pg_url: str) -> None:
    a = await open_store(pg_url)
    b = await open_store(pg_url)
    assert isinstance(a, PostgresStore) and isinstance(b, PostgresStore)
    try:
        # The callers' clocks are far apart and wrong; the server's decides.
        assert await a.try_lease("collector", "a", ttl=0.5, now=0.0)
        held = await a.lease("collector")
        assert held is not None and held.expires_at - held.acquired_at == pytest.approx(0.5)
        assert held.acquired_at > T0  # the server's now(), not the caller's 0.0
        first = await a.lease_generation("collector")
        assert not await b.try_lease("collector", "b", ttl=0.5, now=10 * T0)

        async def taken_by_b() -> bool:
            return await b.try_lease("collector", "b", ttl=30, now=0.0)

        await wait_until(taken_by_b, within=10, what="a's lease to lapse on the server's clock")
        second = await b.lease_generation("collector")
        assert first is not None and second is not None and second > first
        # a comes back: it cannot renew, and its holder's writes are refused ...
        assert not await a.try_lease("collector", "a", ttl=0.5, now=0.0)
        with pytest.raises(StoreError, match="lost to another process"):
            await a.write_job_statuses([JobStatusRecord("backup", "ok", False, T0)], T0)
        assert await b.job_statuses() == []
        # ... while the new holder's go through, and anyone's operator actions too.
        await b.write_job_statuses([JobStatusRecord("backup", "ok", False, T0)], T0)
        await a.record("alice", "note", "an operator's note is no holder's duty", T0)
    finally:
        await a.close()
        await b.close()


# -- read-only ---------------------------------------------------------------------------------------
async def test_read_only_store_refuses_writes_and_changes_nothing(pg_url: str) -> None:
    writer = await open_store(pg_url)
    await writer.upsert_events([ev(Severity.MAJOR, T0)], "t")
    reader = await open_store(pg_url, read_only=True)
    try:
        assert len(await reader.list_events()) == 1
        before = await reader.last_seq()
        with pytest.raises(ReadOnlyStoreError, match="read-only"):
            await reader.upsert_events([ev(Severity.CRITICAL, T0 + 1)], "t")
        with pytest.raises(ReadOnlyStoreError, match="read-only"):
            await reader.act([1], Action.ACK, "wall", T0)
        assert await writer.last_seq() == before
    finally:
        await reader.close()
        await writer.close()


async def test_read_only_open_of_an_empty_database_says_so(pg_url: str) -> None:
    with pytest.raises(StoreError, match="no store here yet"):
        await open_store(pg_url, read_only=True)


async def test_cancelled_writes_leave_the_pool_usable(pg: PostgresStore) -> None:
    for yields in range(12):
        task = asyncio.ensure_future(pg.upsert_events([ev(Severity.WARNING, T0)], "t"))
        for _ in range(yields):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, StoreError):
            await task
        await pg.record("t", "note", "still writable", T0)
    assert len(await pg.journal()) >= 12


# -- the SQLite store's own tests that need no SQLite file, run here on PostgreSQL ------------------
@pytest.fixture
async def store(pg: PostgresStore) -> PostgresStore:
    return pg


from test_store import (  # noqa: E402  collected here, with the `store` fixture above
    test_burst_of_one_key_in_one_batch_is_one_row,
    test_clear_for_unknown_event_creates_nothing,
    test_collector_health_roundtrip,
    test_every_write_adds_a_change,
    test_evidence_is_of_the_raise_or_reopen_not_repeats_or_regrades,
    test_list_orders_open_worst_first,
    test_prune_removes_old_samples_only,
    test_readings_snapshots_and_series,
    test_upsert_dedups_on_source_resource_check,
)

__all__ = [
    "test_burst_of_one_key_in_one_batch_is_one_row",
    "test_clear_for_unknown_event_creates_nothing",
    "test_collector_health_roundtrip",
    "test_every_write_adds_a_change",
    "test_evidence_is_of_the_raise_or_reopen_not_repeats_or_regrades",
    "test_list_orders_open_worst_first",
    "test_prune_removes_old_samples_only",
    "test_readings_snapshots_and_series",
    "test_upsert_dedups_on_source_resource_check",
]
