"""The SQLite store, on real files: migrations, WAL, event dedup and lifecycle, readings."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bridge.core.models import CollectorHealth, EventInput, EventState, Severity
from bridge.store import Store, StoreError, open_store
from bridge.store.sqlite.schema import SCHEMA_VERSION
from bridge.store.sqlite.store import SqliteStore
from collectors.base import Reading

T0 = 1_700_000_000.0


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection, separate from the store's own."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def store_path(store: Store) -> Path:
    assert isinstance(store, SqliteStore)
    return store.path


def ev(
    severity: Severity,
    at: float,
    *,
    resource: str = "web1",
    check: str = "cpu",
    summary: str = "cpu high",
    value: float | None = None,
) -> EventInput:
    return EventInput(
        source="local",
        resource=resource,
        check=check,
        severity=severity,
        summary=summary,
        at=at,
        value=value,
    )


def journal(path: Path) -> list[tuple[str, str]]:
    with raw(path) as conn:
        rows = conn.execute(
            "SELECT e.dedup_key, j.action FROM journal j JOIN events e ON e.id = j.event_id "
            "ORDER BY j.id"
        ).fetchall()
    return [(str(k), str(a)) for k, a in rows]


# -- opening and migrating ------------------------------------------------------------------
async def test_migrations_create_schema_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bridge.db"
    store = await open_store(path)
    await store.close()
    assert path.exists()
    with raw(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table in ("events", "journal", "samples", "snapshots", "changes", "leases", "outbox"):
        assert table in tables


async def test_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    first = await open_store(path)
    await first.upsert_events([ev(Severity.WARNING, T0)], "tester")
    await first.close()
    second = await open_store(path)
    try:
        assert await second.count_events() == 1
    finally:
        await second.close()
    with raw(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    await (await open_store(path)).close()
    with raw(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this bridge"):
        await open_store(path)


async def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    path.write_bytes(b"definitely not sqlite " * 200)
    with pytest.raises(StoreError, match="not a database"):
        await open_store(path)


async def test_store_folder_blocked_by_a_file(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(StoreError, match="cannot create"):
        await open_store(tmp_path / "blocker" / "bridge.db")


# -- events -------------------------------------------------------------------------------
async def test_upsert_dedups_on_source_resource_check(store: Store) -> None:
    await store.upsert_events([ev(Severity.WARNING, T0, value=86.0)], "tester")
    await store.upsert_events([ev(Severity.WARNING, T0 + 5, value=88.0)], "tester")
    assert await store.count_events() == 1
    (event,) = await store.list_events()
    assert event.key == "local|web1|cpu"
    assert event.count == 2
    assert event.first_seen == T0
    assert event.last_seen == T0 + 5
    assert event.value == 88.0
    assert event.state is EventState.OPEN
    # A different check on the same resource is a different event.
    await store.upsert_events([ev(Severity.WARNING, T0 + 6, check="memory")], "tester")
    assert await store.count_events() == 2


async def test_event_ids_by_key_in_one_read(store: Store) -> None:
    keys = [f"web{i}" for i in range(700)]  # more than one chunk of the IN list
    await store.upsert_events([ev(Severity.MINOR, T0, resource=r) for r in keys], "tester")
    wanted = [f"local|{r}|cpu" for r in keys] + ["local|nowhere|cpu", "local|web1|cpu"]
    ids = await store.event_ids(wanted)
    assert set(ids) == {f"local|{r}|cpu" for r in keys}
    found = await store.find_event("local|web1|cpu")
    assert found is not None and ids["local|web1|cpu"] == found.id
    assert await store.event_ids([]) == {}


async def test_burst_of_one_key_in_one_batch_is_one_row(store: Store) -> None:
    await store.upsert_events([ev(Severity.MINOR, T0 + i) for i in range(500)], "tester")
    (event,) = await store.list_events()
    assert event.count == 500
    assert event.last_seen == T0 + 499


async def test_ok_resolves_and_raise_reopens(store: Store) -> None:
    path = store_path(store)
    await store.upsert_events([ev(Severity.MAJOR, T0)], "tester")
    await store.upsert_events([ev(Severity.OK, T0 + 10, summary="cpu normal")], "tester")
    # Resolved before anyone acknowledged it: still listed, unless configured not to be.
    assert await store.list_events(keep_unacked_resolved=False) == []
    (resolved,) = await store.list_events()
    assert resolved.needs_ack
    assert resolved.state is EventState.RESOLVED
    assert resolved.resolved_at == T0 + 10
    # A second clear changes nothing and journals nothing.
    await store.upsert_events([ev(Severity.OK, T0 + 11)], "tester")
    await store.upsert_events([ev(Severity.MAJOR, T0 + 20)], "tester")
    (reopened,) = await store.list_events()
    assert reopened.state is EventState.OPEN
    assert reopened.resolved_at is None
    assert reopened.id == resolved.id
    assert journal(path) == [
        ("local|web1|cpu", "raise"),
        ("local|web1|cpu", "resolve"),
        ("local|web1|cpu", "reopen"),
    ]


async def test_clear_for_unknown_event_creates_nothing(store: Store) -> None:
    await store.upsert_events([ev(Severity.OK, T0)], "tester")
    assert await store.count_events() == 0


async def test_severity_rise_after_ack_reopens(store: Store) -> None:
    path = store_path(store)
    await store.upsert_events([ev(Severity.WARNING, T0)], "tester")
    with raw(path) as conn:
        conn.execute(
            "UPDATE events SET state = 'acknowledged', acked_by = 'bob', acked_at = ?", (T0 + 1,)
        )
    (acked,) = await store.list_events()
    assert acked.state is EventState.ACKNOWLEDGED
    # Same severity again: stays acknowledged.
    await store.upsert_events([ev(Severity.WARNING, T0 + 2)], "tester")
    (still,) = await store.list_events()
    assert still.state is EventState.ACKNOWLEDGED
    # Worse: re-opened for someone to look at again.
    await store.upsert_events([ev(Severity.CRITICAL, T0 + 3)], "tester")
    (worse,) = await store.list_events()
    assert worse.state is EventState.OPEN
    assert worse.severity is Severity.CRITICAL
    assert worse.count == 3
    assert [a for _, a in journal(path)] == ["raise", "reopen"]


async def test_severity_change_is_journalled(store: Store) -> None:
    path = store_path(store)
    await store.upsert_events([ev(Severity.WARNING, T0), ev(Severity.MAJOR, T0 + 1)], "alice")
    (event,) = await store.list_events()
    assert event.severity is Severity.MAJOR
    with raw(path) as conn:
        rows = conn.execute("SELECT actor, action, note FROM journal ORDER BY id").fetchall()
    assert rows == [("alice", "raise", "cpu high"), ("alice", "severity", "warning -> major")]


async def test_list_orders_open_worst_first(store: Store) -> None:
    await store.upsert_events(
        [
            ev(Severity.WARNING, T0, resource="a"),
            ev(Severity.CRITICAL, T0, resource="b"),
            ev(Severity.MINOR, T0, resource="c"),
        ],
        "tester",
    )
    assert [e.resource for e in await store.list_events()] == ["b", "c", "a"]
    assert len(await store.list_events(limit=2)) == 2


# -- readings -------------------------------------------------------------------------------
def reading(at: float, cpu: float) -> Reading:
    return Reading(
        source="local",
        resource="web1",
        at=at,
        metrics={"cpu": cpu, "disk:/": 50.0},
        detail={"hostname": "web1", "cpu": {"total": cpu}},
    )


async def test_readings_snapshots_and_series(store: Store) -> None:
    await store.write_reading(reading(T0, 10.0), {"cpu": "ok"})
    await store.write_reading(reading(T0 + 2, 90.0), {"cpu": "warning"})
    (snap,) = await store.snapshots("local")
    assert snap.resource == "web1"
    assert snap.at == T0 + 2
    assert snap.data == {"hostname": "web1", "cpu": {"total": 90.0}}
    assert snap.levels == {"cpu": "warning"}
    assert await store.snapshots("snmp") == []
    assert len(await store.snapshots()) == 1
    assert await store.series("local", "web1", "cpu", T0) == [(T0, 10.0), (T0 + 2, 90.0)]
    assert await store.series("local", "web1", "cpu", T0 + 1) == [(T0 + 2, 90.0)]
    assert await store.series("local", "web1", "disk:/", 0) == [(T0, 50.0), (T0 + 2, 50.0)]


async def test_prune_removes_old_samples_only(store: Store) -> None:
    for i in range(10):
        await store.write_reading(reading(T0 + i * 60, float(i)), {})
    removed = await store.prune(now=T0 + 9 * 60, sample_retention_s=5 * 60)
    # Readings at minutes 0..3 are older than the cutoff (minute 4); two metrics each.
    assert removed == 4 * 2
    cpu = await store.series("local", "web1", "cpu", 0)
    assert [v for _, v in cpu] == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert len(await store.snapshots("local")) == 1  # the latest snapshot is kept


async def test_collector_health_roundtrip(store: Store) -> None:
    health = CollectorHealth(name="local", interval=2.0, last_run=T0, runs=3, errors=1)
    await store.record_health(health)
    await store.record_health(CollectorHealth(name="snmp:sw1", interval=30.0))
    assert await store.collector_health() == [health, CollectorHealth("snmp:sw1", 30.0)]


# -- changes and leases ----------------------------------------------------------------------
async def test_every_write_adds_a_change(store: Store) -> None:
    before = await store.last_seq()
    await store.upsert_events([ev(Severity.WARNING, T0)], "tester")
    await store.write_reading(reading(T0, 1.0), {})
    changes = await store.changes_since(before)
    assert [c.kind for c in changes] == ["events", "reading"]
    assert changes[1].ref == "local|web1"
    assert changes[0].seq < changes[1].seq == await store.last_seq()


async def test_lease_is_exclusive_until_it_expires(store: Store) -> None:
    assert await store.try_lease("collector", "a", ttl=6, now=T0)
    assert not await store.try_lease("collector", "b", ttl=6, now=T0 + 1)
    assert await store.try_lease("collector", "a", ttl=6, now=T0 + 2)  # renewal
    held = await store.lease("collector")
    assert held is not None
    assert (held.holder, held.acquired_at, held.expires_at) == ("a", T0, T0 + 8)
    assert not await store.try_lease("collector", "b", ttl=6, now=T0 + 7.9)
    assert await store.try_lease("collector", "b", ttl=6, now=T0 + 8.1)  # a lapsed
    taken = await store.lease("collector")
    assert taken is not None
    assert (taken.holder, taken.acquired_at) == ("b", T0 + 8.1)
    await store.release_lease("collector", "a")  # not the holder: no effect
    assert await store.lease("collector") is not None
    await store.release_lease("collector", "b")
    assert await store.lease("collector") is None


# -- cancellation (SIGTERM, lease loss) in the middle of a write ---------------------------------
async def test_cancelled_write_leaves_no_open_transaction(store: Store) -> None:
    """A write cancelled at any await must not leave its transaction (and SQLite's write
    lock) open: later writes here, and writes from other connections, must still work."""
    path = store_path(store)
    for yields in range(12):
        for write in (
            lambda: store.write_reading(reading(T0, 1.0), {}),
            lambda: store.upsert_events([ev(Severity.WARNING, T0)], "tester"),
            lambda: store.try_lease("collector", "x", ttl=6, now=T0),
        ):
            task = asyncio.ensure_future(write())
            for _ in range(yields):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            # This connection can start a new transaction ...
            await store.release_lease("collector", "x")
            # ... and no write lock is left behind for other connections.
            with raw(path) as other:
                other.execute("PRAGMA busy_timeout = 200")
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")


async def test_evidence_is_of_the_raise_or_reopen_not_repeats_or_regrades(store: Store) -> None:
    def cpu(sev: Severity, at: float, mark: str) -> EventInput:
        return EventInput("local", "h1", "cpu", sev, f"cpu {mark}", at, evidence={"mark": mark})

    async def evidence() -> object:
        event = await store.find_event("local|h1|cpu")
        assert event is not None
        found = await store.evidence(event.id)
        return None if found is None else found["mark"]

    await store.upsert_events([cpu(Severity.WARNING, 1.0, "raise")], actor="t")
    await store.upsert_events([cpu(Severity.WARNING, 2.0, "repeat")], actor="t")
    assert await evidence() == "raise"  # a repeat keeps the raise's picture
    await store.upsert_events([cpu(Severity.OK, 3.0, "clear")], actor="t")
    assert await evidence() == "raise"  # the recovery does not overwrite it
    await store.upsert_events([cpu(Severity.WARNING, 4.0, "reopen")], actor="t")
    assert await evidence() == "reopen"  # days later: what the host looks like now
    # A re-grade is not a raise: the evidence stays the moment the event was raised,
    # as its details say ("EVIDENCE at raise").
    await store.upsert_events([cpu(Severity.CRITICAL, 5.0, "worse")], actor="t")
    assert await evidence() == "reopen"
