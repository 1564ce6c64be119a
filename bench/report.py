"""A service report over a busy day, next to the bare read of the rows it needs.

    python bench/report.py [--events N]

N events are raised, acknowledged (by five operators) and resolved through the
Store interface across one day, in business hours Monday to Friday. Timed: the
report for that day (`build_report`, what `bridge report --since 24h` runs) and,
as the reference in the same run, raw sqlite3 reading the same journal rows and
events without computing anything. Target: a day of 20 000 incidents in <= 2 s.

Also measured: the longest stall of the event loop while the report is made,
as the console does it (rows read async, figures computed in a thread) against
the reference of computing it on the loop. Target: the console's stall at most
a quarter of the inline one.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bridge.config.file import parse_config
from bridge.core.actions import Action
from bridge.core.models import EventInput, Severity
from bridge.reports.levels import Period, build_report, compute_report, read_report_data
from bridge.store import open_store

DAY = 1_794_787_200.0  # Monday 2026-11-16 00:00 UTC
SEVERITIES = (Severity.WARNING, Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
TARGET_S = 2.0
CONFIG = """
[reports]
calendar = "business"
[calendars.business]
start = "08:00"
end = "18:00"
"""


async def seed(path: Path, n: int) -> None:
    store = await open_store(path)
    try:
        step = 86400.0 / n
        for start in range(0, n, 1000):
            idx = range(start, min(n, start + 1000))
            raises = [
                EventInput(
                    "bench", f"host{i % 500}", f"check{i}", SEVERITIES[i % 4], "x", DAY + i * step
                )
                for i in idx
            ]
            await store.upsert_events(raises, "bridge")
            found = [await store.find_event(e.key) for e in raises[:1]]
            first = found[0].id if found[0] else 1
            for k in range(5):
                ids = [first + j for j in range(len(raises)) if j % 5 == k]
                await store.act(ids, Action.ACK, f"op{k}", DAY + idx[-1] * step + 60)
            clears = [
                EventInput(e.source, e.resource, e.check, Severity.OK, "ok", e.at + 600)
                for e in raises
            ]
            await store.upsert_events(clears, "bridge")
    finally:
        await store.close()


async def timed_report(path: Path) -> tuple[float, int]:
    store = await open_store(path)
    try:
        config = parse_config(CONFIG, "bench")
        started = time.perf_counter()
        report = await build_report(store, config, Period(DAY, DAY + 86400), DAY + 90000)
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    return elapsed, sum(s.incidents for s in report.by_severity)


async def longest_stall(path: Path, *, threaded: bool) -> float:
    """The longest gap between ticks of a 5 ms heartbeat while one report is made."""
    store = await open_store(path)
    config = parse_config(CONFIG, "bench")
    period = Period(DAY, DAY + 86400)
    worst = 0.0
    done = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    try:
        await asyncio.sleep(0.02)
        data = await read_report_data(store, period)
        if threaded:
            await asyncio.to_thread(compute_report, data, config, period, DAY + 90000)
        else:
            compute_report(data, config, period, DAY + 90000)
        done.set()
        await beat
    finally:
        await store.close()
    return worst


def raw_read(path: Path) -> float:
    conn = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT id, event_id, at, actor, action, note FROM journal WHERE at >= ? AND at < ? "
            "ORDER BY at, id",
            (DAY, DAY + 86400),
        ).fetchall()
        ids = sorted({r[1] for r in rows})
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            conn.execute(
                f"SELECT * FROM events WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
        return time.perf_counter() - started
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bridge.db"
        asyncio.run(seed(path, args.events))
        report_s, incidents = asyncio.run(timed_report(path))
        raw_s = raw_read(path)
        inline_stall = asyncio.run(longest_stall(path, threaded=False))
        thread_stall = asyncio.run(longest_stall(path, threaded=True))
    print(f"report over one day of {args.events} events ({incidents} incidents counted)")
    print(f"  build_report:          {report_s:6.3f} s")
    print(f"  reference raw read:    {raw_s:6.3f} s  (ratio {report_s / raw_s:.1f}x)")
    print(f"  longest loop stall, computed on the loop:   {inline_stall * 1000:7.1f} ms")
    print(f"  longest loop stall, computed in a thread:   {thread_stall * 1000:7.1f} ms"
          f"  ({thread_stall / inline_stall:.2f} of it)")  # fmt: skip
    met = report_s <= TARGET_S and incidents == args.events and thread_stall <= inline_stall / 4
    print(f"  target <= {TARGET_S:g} s and every incident counted: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
