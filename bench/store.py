"""Batched event inserts: through the Store interface, next to raw sqlite3 executemany.

    python bench/store.py [--rows N] [--batch B]

Both runs insert the same N distinct events in batches of B into fresh SQLite
files in a temporary folder, with the same pragmas (WAL, synchronous=NORMAL) and
the same `events` table and indexes (the project's own migrations). The store
also does what it must per batch: look up existing keys for dedup, append a
journal row per new event and a change-feed row per transaction. The ratio
store/raw is the price of that.
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
from bridge.store.schema import MIGRATIONS

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


async def through_store(path: Path, events: list[EventInput], batch: int) -> Result:
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


def report(result: Result) -> None:
    print(
        f"{result.name:<36} {result.stored:>8} stored of {result.sent:>8} sent "
        f"in {result.seconds:7.3f} s = {result.rate:>10,.0f} events/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000, help="events to insert (50000)")
    parser.add_argument("--batch", type=int, default=1000, help="events per batch (1000)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.batch < 1:
        parser.error("--rows and --batch must be positive")

    events = make_events(args.rows)
    print(
        f"{args.rows} distinct events in batches of {args.batch}; "
        f"SQLite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL"
    )
    with tempfile.TemporaryDirectory(prefix="bridge-bench-") as tmp:
        store = asyncio.run(through_store(Path(tmp) / "store.db", events, args.batch))
        raw = raw_sqlite(Path(tmp) / "raw.db", events, args.batch)
    report(store)
    report(raw)
    print(f"ratio store/raw: {store.rate / raw.rate:.2f}")
    ok = store.stored == store.sent and raw.stored == raw.sent
    if not ok:
        print("MISMATCH: rows stored differ from rows sent", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
