"""Batched event inserts: through the Store interface, next to raw sqlite3 executemany.

    python bench/store.py [--rows N] [--batch B] [--url postgresql://...]

Both runs insert the same N distinct events in batches of B into fresh SQLite
files in a temporary folder, with the same pragmas (WAL, synchronous=NORMAL) and
the same `events` table and indexes (the project's own migrations). The store
also does what it must per batch: look up existing keys for dedup, append a
journal row per new event and a change-feed row per transaction. The ratio
store/raw is the price of that.

With `--url postgresql://...` the same runs go to that PostgreSQL database
instead: the store in a schema of its own (created, then dropped), next to raw
psycopg `executemany` of the same rows into the same events table (the
PostgreSQL store's own migration) in another schema, one transaction per batch.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.core.models import EventInput, EventState, Severity
from bridge.store import open_store
from bridge.store.sqlite.schema import MIGRATIONS

SEVERITIES = (Severity.INFO, Severity.WARNING, Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
T0 = 1_700_000_000.0


@dataclass(frozen=True)
class Result:
    name: str
    sent: int
    stored: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else float("inf")


def make_events(rows: int) -> list[EventInput]:
    """`rows` events with distinct dedup keys (source|resource|check)."""
    return [
        EventInput(
            source="bench",
            resource=f"host{i // 100:05d}",
            check=f"check{i % 100:02d}",
            severity=SEVERITIES[i % len(SEVERITIES)],
            summary=f"synthetic event {i}",
            at=T0 + i * 0.001,
            value=float(i % 100),
        )
        for i in range(rows)
    ]


def batches(events: list[EventInput], size: int) -> list[list[EventInput]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


async def through_store(path: Path | str, events: list[EventInput], batch: int) -> Result:
    store = await open_store(path)
    try:
        chunks = batches(events, batch)
        started = time.perf_counter()
        for chunk in chunks:
            await store.upsert_events(chunk, "bench")
        seconds = time.perf_counter() - started
        stored = await store.count_events()
    finally:
        await store.close()
    return Result("store (open_store + upsert_events)", len(events), stored, seconds)


def raw_sqlite(path: Path, events: list[EventInput], batch: int) -> Result:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(MIGRATIONS[0])  # the same events table and indexes
        sql = (
            "INSERT INTO events(dedup_key, source, resource, check_name, severity, state, "
            "summary, detail, count, first_seen, last_seen, value, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        chunks = batches(events, batch)
        started = time.perf_counter()
        for seq, chunk in enumerate(chunks, start=1):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                sql,
                [
                    (
                        e.key,
                        e.source,
                        e.resource,
                        e.check,
                        int(e.severity),
                        EventState.OPEN.value,
                        e.summary,
                        e.detail,
                        1,
                        e.at,
                        e.at,
                        e.value,
                        seq,
                    )
                    for e in chunk
                ],
            )
            conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        stored = int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()
    return Result("raw   (sqlite3 executemany)", len(events), stored, seconds)


def _schema_url(url: str, schema: str) -> str:
    """`url` with the search path set to `schema` (libpq's options parameter)."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


async def postgres(url: str, events: list[EventInput], batch: int) -> tuple[Result, Result, str]:
    """Both runs on PostgreSQL, each in a fresh schema dropped afterwards."""
    import os

    import psycopg

    from bridge.store.postgres.schema import MIGRATIONS as PG_MIGRATIONS

    names = (f"bench_store_{os.getpid()}", f"bench_raw_{os.getpid()}")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        cur = await admin.execute("SHOW server_version")
        row = await cur.fetchone()
        version = str(row[0]) if row else "?"
        for name in names:
            await admin.execute(f"CREATE SCHEMA {name}")
        try:
            store = await through_store(_schema_url(url, names[0]), events, batch)
            raw_url = _schema_url(url, names[1])
            async with await psycopg.AsyncConnection.connect(raw_url) as conn:
                await conn.execute(PG_MIGRATIONS[0])
                await conn.commit()
                sql = (
                    "INSERT INTO events(dedup_key, source, resource, check_name, severity, "
                    "state, summary, detail, count, first_seen, last_seen, value, seq) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                )
                started = time.perf_counter()
                for seq, chunk in enumerate(batches(events, batch), start=1):
                    async with conn.transaction(), conn.cursor() as c:
                        await c.executemany(
                            sql,
                            [
                                (e.key, e.source, e.resource, e.check, int(e.severity),
                                 EventState.OPEN.value, e.summary, e.detail, 1, e.at, e.at,
                                 e.value, seq)
                                for e in chunk
                            ],
                        )  # fmt: skip
                seconds = time.perf_counter() - started
                cur = await conn.execute("SELECT COUNT(*) FROM events")
                counted = await cur.fetchone()
            raw = Result(
                "raw   (psycopg executemany)",
                len(events),
                int(counted[0]) if counted else 0,
                seconds,
            )
        finally:
            for name in names:
                await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    return store, raw, version


def report(result: Result) -> None:
    print(
        f"{result.name:<36} {result.stored:>8} stored of {result.sent:>8} sent "
        f"in {result.seconds:7.3f} s = {result.rate:>10,.0f} events/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000, help="events to insert (50000)")
    parser.add_argument("--batch", type=int, default=1000, help="events per batch (1000)")
    parser.add_argument(
        "--url", metavar="postgresql://...", help="measure this PostgreSQL database instead"
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.batch < 1:
        parser.error("--rows and --batch must be positive")

    events = make_events(args.rows)
    if args.url is not None:
        store, raw, version = asyncio.run(postgres(args.url, events, args.batch))
        print(f"{args.rows} distinct events in batches of {args.batch}; PostgreSQL {version}")
        return _compare(store, raw)
    print(
        f"{args.rows} distinct events in batches of {args.batch}; "
        f"SQLite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL"
    )
    with tempfile.TemporaryDirectory(prefix="bridge-bench-") as tmp:
        store = asyncio.run(through_store(Path(tmp) / "store.db", events, args.batch))
        raw = raw_sqlite(Path(tmp) / "raw.db", events, args.batch)
    return _compare(store, raw)


def _compare(store: Result, raw: Result) -> int:
    report(store)
    report(raw)
    print(f"ratio store/raw: {store.rate / raw.rate:.2f}")
    ok = store.stored == store.sent and raw.stored == raw.sent
    if not ok:
        print("MISMATCH: rows stored differ from rows sent", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
