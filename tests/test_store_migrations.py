"""Migrations on the SQLite this machine has: each applied version records when,
as a real number, also where SQLite predates `unixepoch('subsec')` (3.42)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bridge.core.models import EventInput, Severity
from bridge.store import open_store
from bridge.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

OLD_APPLIED_AT = 1_600_000_000.0


def applied(path: Path) -> list[tuple[int, str, float | None]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT version, typeof(applied_at), applied_at FROM schema_version ORDER BY version"
        ).fetchall()
    return [(int(v), str(t), a) for v, t, a in rows]


def old_store(path: Path, version: int) -> None:
    """A store as a bridge with only the first `version` migrations left it."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL)")
        for v in range(1, version + 1):
            for statement in MIGRATIONS[v - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (v, OLD_APPLIED_AT))
        conn.execute(
            "INSERT INTO events (dedup_key, source, resource, check_name, severity, state,"
            " summary, first_seen, last_seen)"
            " VALUES ('local|web1|cpu', 'local', 'web1', 'cpu', ?, 'open', 'cpu high', 1, 1)",
            (int(Severity.WARNING),),
        )
    conn.close()


async def test_a_new_store_records_when_each_version_was_applied(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    before = time.time()
    await (await open_store(path)).close()
    after = time.time()
    rows = applied(path)
    assert [v for v, _, _ in rows] == list(range(1, SCHEMA_VERSION + 1))
    for version, kind, at in rows:
        assert kind == "real", (sqlite3.sqlite_version, version, kind)
        assert at is not None and before - 1 <= at <= after + 1, (version, at)


async def test_an_older_store_is_upgraded_and_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    old_store(path, 1)
    before = time.time()
    store = await open_store(path)
    try:
        assert await store.count_events() == 1
        await store.upsert_events(  # the tables of the later versions are usable
            [EventInput("local", "web1", "cpu", Severity.CRITICAL, "cpu higher", 2.0)], "tester"
        )
    finally:
        await store.close()
    rows = applied(path)
    assert rows[0] == (1, "real", OLD_APPLIED_AT)  # an applied version is not applied again
    assert [v for v, _, _ in rows] == list(range(1, SCHEMA_VERSION + 1))
    for version, kind, at in rows[1:]:
        assert kind == "real" and at is not None and at >= before - 1, (version, kind, at)
