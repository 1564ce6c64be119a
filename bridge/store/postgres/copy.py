"""`bridge store migrate`: a one-host SQLite store's history, copied onto PostgreSQL.

Everything a console shows of the past comes along: events with their journal
and evidence, job runs, schedule changes, the outbox, the change sequence, the
engine's job statuses, maintenance windows, the latest readings, their samples
and the collectors' health. Leases do not: they are live, and the first
collector on the new store takes its own.

The copy is one transaction on an empty store: COPY into each table keeping
its ids (so journal lines still point at their events and change seqs stay
in order), identity columns moved past the copied ids, and every table's count
compared with the source's before it commits. A mismatch or an error leaves
the target as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import psycopg

from bridge.store.postgres.schema import LOCK_KEY
from bridge.store.postgres.url import connect_error, parse_url
from bridge.store.protocol import StoreError

__all__ = ["TABLES", "copy_sqlite_store"]

# table -> (SQLite's columns, PostgreSQL's columns in the same order), parents first.
TABLES: dict[str, tuple[str, str]] = {
    "changes": ("seq, at, kind, ref", "seq, at, kind, ref"),
    "events": (
        "id, dedup_key, source, resource, check_name, severity, state, summary, detail, count, "
        "first_seen, last_seen, value, owner, acked_by, acked_at, resolved_at, shelved_until, "
        "evidence, seq, opened_at, suppressed_by, operator_severity",
    ) * 2,
    "journal": ("id, event_id, at, actor, action, note, data",) * 2,
    "job_runs": (
        "id, job, run_id, started_at, ended_at, exit_code, status, output_tail, actor, "
        "message, duration, at",
    ) * 2,
    "schedule_changes": ("id, job, occurrence, action, new_time, actor, reason, at",) * 2,
    "outbox": (
        "id, target, rule, event_id, payload, status, attempts, next_attempt_at, created_at, "
        "delivered_at, last_error",
    ) * 2,
    "job_status": ("job, state, exception != 0, at, first_at, data, seq",
                   "job, state, exception, at, first_at, data, seq"),
    "maintenance_windows": ("name, hosts, start, end, source",
                            "name, hosts, start, end_at, source"),
    "snapshots": ("source, resource, at, data, levels",) * 2,
    "samples": ("source, resource, metric, at, value",) * 2,
    "collector_health": (
        "name, interval, last_run, last_success, latency_ms, runs, errors, "
        "consecutive_failures, last_error, timeouts, backoff, first_run",
        'name, "interval", last_run, last_success, latency_ms, runs, errors, '
        "consecutive_failures, last_error, timeouts, backoff, first_run",
    ),
}  # fmt: skip
# Identity columns to move past the copied ids, so new rows do not collide.
_IDENTITIES = {"changes": "seq", "events": "id", "journal": "id", "job_runs": "id",
               "schedule_changes": "id", "outbox": "id"}  # fmt: skip


def _read_only(source: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"{source}: cannot read the store: {exc}") from None


async def copy_sqlite_store(source: Path, target: str) -> dict[str, int]:
    """Copy the SQLite store at `source` into the (new, empty) PostgreSQL store at
    `target`; returns each table's row count. StoreError for anything that stops it."""
    from bridge.store.postgres import open_postgres_store
    from bridge.store.sqlite.store import open_sqlite_store

    # Opened once as bridge would open them: the source migrated to this version's
    # schema, the target created with its own.
    await (await open_sqlite_store(source)).close()
    await (await open_postgres_store(target)).close()
    pg = parse_url(target)
    src = _read_only(source)
    try:
        conn = await psycopg.AsyncConnection.connect(pg.conninfo, connect_timeout=5)
    except psycopg.Error as exc:
        src.close()
        raise connect_error(pg, exc) from None
    counts: dict[str, int] = {}
    try:
        async with conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            for table in TABLES:
                cur = await conn.execute(f"SELECT count(*) FROM {table}")
                row = await cur.fetchone()
                if row and row[0]:
                    raise StoreError(
                        f"{pg.shown}: the target store is not empty ({row[0]} rows in "
                        f"{table}); migrate into a new database"
                    )
            for table, (src_cols, pg_cols) in TABLES.items():
                rows = src.execute(f"SELECT {src_cols} FROM {table}")
                async with (
                    conn.cursor() as cur,
                    cur.copy(f"COPY {table} ({pg_cols}) FROM STDIN") as copy,
                ):
                    for values in rows:
                        await copy.write_row(values)
                (expected,) = src.execute(f"SELECT count(*) FROM {table}").fetchone()
                cur = await conn.execute(f"SELECT count(*) FROM {table}")
                got = await cur.fetchone()
                if got is None or got[0] != expected:
                    raise StoreError(
                        f"{pg.shown}: {table}: copied {got[0] if got else 0} rows of "
                        f"{expected}; nothing was kept"
                    )
                counts[table] = int(expected)
            for table, column in _IDENTITIES.items():
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"GREATEST(MAX({column}), 1), MAX({column}) IS NOT NULL) FROM {table}"
                )
    except psycopg.Error as exc:
        raise StoreError(
            f"{pg.shown}: the copy failed, nothing was kept: {pg.scrub(str(exc))}"
        ) from None
    except sqlite3.Error as exc:
        raise StoreError(f"{source}: cannot read the store: {exc}") from None
    finally:
        src.close()
    return counts
