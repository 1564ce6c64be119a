"""The schedule engine's tick for 10 000 jobs: a quiet tick and the worst case.

    python bench/schedule.py [--jobs N] [--rounds R]

Jobs are spread over 480 distinct cron expressions and three time zones, each
with a learned envelope (five past runs). Figures, each over R rounds:

- normal tick: one second later, nothing crossed a boundary (what almost every
  tick of the lease holder is);
- boundary tick: every job crosses a boundary in the same tick (they all share
  one minute, so at that minute every job becomes due, and five minutes later
  late, at once) — the worst case;
- reference: the same N expressions each asked croniter for their next time
  (`croniter(expr, start).get_next()`), the least any engine built on croniter
  could do if it recomputed every job.

Target: boundary tick p95 < 100 ms for 10 000 jobs. Wall and CPU time are both
printed: on a shared machine the wall figure includes waiting for a core.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter

from bridge.config.schedule import JobConfig
from bridge.core.models import JobRun, JobRunStatus
from bridge.schedule.engine import ScheduleEngine

DAY = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
ZONES = ("UTC", "Europe/Berlin", "America/New_York")
TARGET_MS = 100.0


def jobs(n: int, *, same_minute: bool) -> list[JobConfig]:
    exprs = [f"{m} {h} * * *" for m in range(0, 60, 3) for h in range(24)]  # 480
    out = []
    for i in range(n):
        expr = "30 * * * *" if same_minute else exprs[i % len(exprs)]
        out.append(JobConfig(name=f"job{i:05d}", schedule=expr, timezone=ZONES[i % 3], grace=300))
    return out


def history(configs: list[JobConfig], before: float) -> list[JobRun]:
    runs = []
    rid = 0
    for c in configs:
        for k in range(5):
            rid += 1
            start = before - (k + 1) * 86400
            runs.append(
                JobRun(rid, c.name, f"r{rid}", start, start + 60, JobRunStatus.OK, 0, duration=60)
            )
    return runs


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


def pcts(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"p50 {statistics.median(ms):6.1f} ms  p95 {p95(ms):6.1f} ms  max {ms[-1]:6.1f} ms"


def bench(n: int, rounds: int) -> tuple[list[float], list[float], list[float], list[float]]:
    normal: list[float] = []
    boundary: list[float] = []
    boundary_cpu: list[float] = []
    reference: list[float] = []
    for r in range(rounds):
        base = DAY + r * 3600  # each round a fresh hour, so croniter caches do not help
        # normal: a spread schedule, ticks one second apart
        configs = jobs(n, same_minute=False)
        engine = ScheduleEngine(configs, since=base - 86400)
        engine.add_runs(history(configs, base))
        engine.evaluate(base + 10)  # warm-up: first evaluation parses and places everything
        for s in range(5):
            t0 = time.perf_counter()
            engine.evaluate(base + 11 + s)
            normal.append(time.perf_counter() - t0)
        # boundary: every job due at :30 of the hour
        configs = jobs(n, same_minute=True)
        engine = ScheduleEngine(configs, since=base - 86400)
        engine.add_runs(history(configs, base))
        engine.evaluate(base + 29 * 60)
        for minute in (30, 35):  # all due at :30; all late at :35 (grace 5 min)
            t0, c0 = time.perf_counter(), time.process_time()
            engine.evaluate(base + minute * 60)
            boundary.append(time.perf_counter() - t0)
            boundary_cpu.append(time.process_time() - c0)
            assert len(engine.changed) == n, len(engine.changed)
        # reference: croniter alone, once per job's expression
        exprs = [(c.schedule, ZoneInfo(c.timezone)) for c in jobs(n, same_minute=False)]
        t0 = time.perf_counter()
        for expr, tz in exprs:
            croniter(expr, datetime.fromtimestamp(base, tz)).get_next(float)
        reference.append(time.perf_counter() - t0)
    return normal, boundary, boundary_cpu, reference


async def loop_ticks(n: int) -> list[tuple[str, float]]:
    """The lease holder's whole tick on a real store: evaluate, write statuses, raise events."""
    from bridge.config.file import Config
    from bridge.core.clock import FixedClock
    from bridge.rules.engine import RuleEngine
    from bridge.runtime.schedule_loop import ScheduleLoop
    from bridge.store import open_store

    out = []
    with tempfile.TemporaryDirectory() as folder:
        store = await open_store(Path(folder) / "bench.db")
        try:
            config = Config(jobs=jobs(n, same_minute=True))
            clock = FixedClock(DAY + 29 * 60)
            loop = ScheduleLoop(store, config, clock, RuleEngine(config))
            await loop.tick()
            for label, t in (
                ("quiet", DAY + 29 * 60 + 1),
                ("all due", DAY + 30 * 60),
                ("all late", DAY + 35 * 60),
            ):
                clock.set(t)
                t0 = time.perf_counter()
                await loop.tick()
                out.append((label, time.perf_counter() - t0))
        finally:
            await store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    normal, boundary, boundary_cpu, reference = bench(args.jobs, args.rounds)
    print(f"schedule engine, {args.jobs} jobs, {args.rounds} rounds")
    print(f"  normal tick    {pcts(normal)}")
    print(f"  boundary tick  {pcts(boundary)}   (every job crosses a boundary at once)")
    print(f"  ... CPU time   {pcts(boundary_cpu)}   (the same ticks, without waiting for a core)")
    print(f"  reference      {pcts(reference)}   (croniter get_next once per job)")
    ticks = asyncio.run(loop_ticks(args.jobs))
    print(
        "  lease holder's whole tick on a real store (statuses written, events raised): "
        + ", ".join(f"{label} {t * 1000:.0f} ms" for label, t in ticks)
    )
    for what, values in (("wall", boundary), ("CPU", boundary_cpu)):
        worst = p95(values) * 1000
        met = "met" if worst < TARGET_MS else "NOT met"
        print(f"  target: boundary tick p95 < {TARGET_MS:.0f} ms ({what}): {met} ({worst:.1f} ms)")


if __name__ == "__main__":
    main()
