"""The change feed under load: how soon an ack reaches every console, on SQLite and PostgreSQL.

    python bench/feed.py [--url postgresql://...] [--consoles C] [--writers W]
                         [--burst R] [--acks A]

In one process: W writers (10; each its own store, as one host's collector:
a reading every second) while one of them also raises R events/s (1 000, in
batches of 100), and C consoles (20; each its own store, following the feed
with bridge's own ChangeFeed at its 0.25 s interval, re-reading an event when
an `events` change arrives). An operator acks A events (20), one at a time;
the figure is the time from each ack until every console has read
the event as acknowledged (timed from just before the ack is sent, so the
ack's own write is included): p50 and p95 over all acks and consoles (target:
p95 ≤ 1 s). The reference is the same run on a SQLite file (one host, every
process on it), measured first.

With `--url`, the PostgreSQL run uses that (empty or bridge) database in a
schema of its own, dropped after. Everything runs on one event loop of a
2-core machine, so the figures include the loop's own queueing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bridge.core.actions import Action
from bridge.core.models import Change, EventInput, EventState, Severity
from bridge.runtime.feed import ChangeFeed
from bridge.store import Store, open_store
from collectors.base import Reading

T0 = 1_700_000_000.0


async def scenario(
    target: str | Path, consoles: int, writers: int, burst: int, acks: int
) -> list[float]:
    """Seconds from each ack to each console's seeing it, for every pair."""
    operator = await open_store(target)
    await operator.upsert_events(
        [EventInput("bench", f"ack{i}", "cpu", Severity.MAJOR, "to ack", T0) for i in range(acks)],
        "bench",
    )
    events = {e.resource: e.id for e in await operator.list_events(limit=acks + 10)}
    ids = [events[f"ack{i}"] for i in range(acks)]
    stores = [await open_store(target) for _ in range(consoles + writers)]
    viewers, hosts = stores[:consoles], stores[consoles:]
    pending: dict[int, float] = {}  # event id -> when its ack committed
    seen: list[float] = []
    done = asyncio.Event()
    waiting: dict[int, set[int]] = {}  # event id -> consoles yet to see it
    everyone = asyncio.Event()  # the current ack has been seen by every console

    def follower(n: int, store: Store) -> ChangeFeed:
        async def reread() -> None:
            for event_id in list(pending):
                if n not in waiting.get(event_id, set()):
                    continue
                event = await store.get_event(event_id)
                if event is not None and event.state is EventState.ACKNOWLEDGED:
                    seen.append(time.perf_counter() - pending[event_id])
                    waiting[event_id].discard(n)
                    if not waiting[event_id]:
                        everyone.set()

        def on_changes(changes: list[Change]) -> None:
            if any(c.kind == "events" for c in changes):
                tasks.add(asyncio.get_running_loop().create_task(reread()))

        return ChangeFeed(store, on_changes)

    tasks: set[asyncio.Task[None]] = set()
    feeds = [follower(n, s) for n, s in enumerate(viewers)]
    for feed in feeds:
        await feed.start()

    async def host(n: int, store: Store) -> None:
        i = 0
        while not done.is_set():
            await store.write_reading(
                Reading("local", f"host{n}", T0 + i, {"cpu": float(i % 100)}, {}), {}
            )
            if n == 0:  # the burst: `burst` events/s in ten batches
                for _ in range(10):
                    batch = [
                        EventInput("bench", f"storm{(i * 10 + j) % 5000}", "x", Severity.MINOR,
                                   "storm", T0 + i)
                        for j in range(burst // 10)
                    ]  # fmt: skip
                    await store.upsert_events(batch, "bench")
                    await asyncio.sleep(0.1)
            else:
                await asyncio.sleep(1.0)
            i += 1

    running = [asyncio.create_task(feed.run()) for feed in feeds]
    running += [asyncio.create_task(host(n, s)) for n, s in enumerate(hosts)]
    try:
        await asyncio.sleep(2.0)  # the load is on before the first ack
        for event_id in ids:
            waiting[event_id] = set(range(consoles))
            everyone.clear()
            pending[event_id] = time.perf_counter()
            await operator.act([event_id], Action.ACK, "bench", time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(everyone.wait(), 30)
            if waiting[event_id]:
                print(f"ack of event {event_id}: {len(waiting[event_id])} consoles never saw it")
            del pending[event_id]
    finally:
        done.set()
        for task in [*running, *tasks]:
            task.cancel()
        for task in [*running, *tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for store in [*stores, operator]:
            await store.close()
    return seen


def summary(name: str, seen: list[float], expected: int) -> str:
    if not seen:
        return f"{name:<12} nothing seen"
    ordered = sorted(seen)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"{name:<12} ack seen by every console: p50 {statistics.median(ordered) * 1000:6.0f} ms, "
        f"p95 {p95 * 1000:6.0f} ms, max {ordered[-1] * 1000:6.0f} ms "
        f"({len(seen)} of {expected} sightings)"
    )


async def postgres(url: str, *args: int) -> tuple[list[float], str]:
    import psycopg

    schema = f"bench_feed_{os.getpid()}"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        cur = await admin.execute("SHOW server_version")
        row = await cur.fetchone()
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            sep = "&" if "?" in url else "?"
            seen = await scenario(f"{url}{sep}options=-csearch_path%3D{schema}", *args)
        finally:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return seen, str(row[0]) if row else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", metavar="postgresql://...", help="also run on this database")
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--burst", type=int, default=1000, help="events/s from one writer")
    parser.add_argument("--acks", type=int, default=20)
    args = parser.parse_args(argv)
    if min(args.consoles, args.writers, args.burst, args.acks) < 1:
        parser.error("every count must be at least 1")
    counts = (args.consoles, args.writers, args.burst, args.acks)
    expected = args.consoles * args.acks
    print(
        f"{args.consoles} consoles, {args.writers} writers (a reading/s each), "
        f"{args.burst} events/s, {args.acks} acks"
    )
    with tempfile.TemporaryDirectory(prefix="bridge-bench-") as tmp:
        sqlite_seen = asyncio.run(scenario(Path(tmp) / "feed.db", *counts))
    print(summary("SQLite", sqlite_seen, expected))
    ok = len(sqlite_seen) == expected
    if args.url:
        pg_seen, version = asyncio.run(postgres(args.url, *counts))
        print(summary(f"PostgreSQL {version.split()[0]}", pg_seen, expected))
        ok = ok and len(pg_seen) == expected
    if not ok:
        print("MISSED: some console never saw an ack", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
