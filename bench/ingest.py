"""Ingest: observations/s through rules + dedup + store, next to raw sqlite3 executemany.

    python bench/ingest.py [--observations N] [--batch B] [--seed S]

Builds N observations the way sources produce them: many resources and checks
across a few sources, hot keys seen far more often than cold ones (so most
observations repeat a key the store must deduplicate), each key keeping its
state for a while and then changing (severities mixed, and OK observations that
clear what was raised, or confirm what was already fine).

- store: each batch of B goes through `RuleEngine(Config()).process(...)` and the
  events it yields through `store.upsert_events(events, actor="bench")` on a
  real SQLite file from `open_store` in a temporary folder;
- raw: the same N observations as N rows inserted with sqlite3 `executemany`,
  one transaction per batch of B, into a fresh file with the project's own
  migrations (the same `events` table and indexes) and the same pragmas (WAL,
  synchronous=NORMAL). One row per observation: the dedup key gets a `#n`
  suffix so the UNIQUE index is maintained for every row, as it is for a new
  event in the store.

Checks (exit non-zero if a count check fails; the ratio target is reported only):
events stored == distinct keys the rules raised, and the sum of the stored
counts == the raises the rules emitted (nothing lost or double-counted).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.config.file import Config
from bridge.core.models import EventInput, EventState, Severity
from bridge.rules.engine import Observation, RuleEngine
from bridge.store import open_store
from bridge.store.sqlite.schema import MIGRATIONS

T0 = 1_700_000_000.0
STEP_S = 0.01  # observation clock: 100 observations per second of source time
SOURCES = ("local", "snmp", "ping", "script")
CHECKS = (
    "cpu", "load", "mem", "swap", "disk:/", "disk:/var", "net:eth0", "net:eth1",
    "temp", "fan", "psu", "bgp", "ospf", "ntp", "dns", "http", "tls", "backup",
)  # fmt: skip
RAISING = (Severity.INFO, Severity.WARNING, Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
HOLD_S = 240.0  # mean source time a key keeps its state (a few keys still flap)
TARGET_RATIO = 0.25


@dataclass(frozen=True)
class Timing:
    name: str
    observations: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.observations / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class Emitted:
    """What the rules produced over the whole run."""

    raises: int
    clears: int
    raised_keys: int
    flapping_raises: int


def make_observations(n: int, seed: int) -> list[Observation]:
    rng = random.Random(seed)
    resources = [f"host{i:05d}" for i in range(max(1, n // 20))]
    keys = [(rng.choice(SOURCES), r, c) for r in resources for c in CHECKS]
    rng.shuffle(keys)
    # Zipf-like weights: a few keys are observed very often, most rarely.
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(keys))]
    picks = rng.choices(range(len(keys)), weights=weights, k=n)
    level: dict[int, Severity] = {}
    change_at: dict[int, float] = {}
    out: list[Observation] = []
    for i, k in enumerate(picks):
        source, resource, check = keys[k]
        at = T0 + i * STEP_S
        sev = level.get(k)
        if sev is None:
            sev = Severity.OK if rng.random() < 0.4 else rng.choice(RAISING)
        elif at >= change_at[k]:
            sev = rng.choice(RAISING) if sev is Severity.OK else (
                Severity.OK if rng.random() < 0.6 else rng.choice(RAISING)
            )  # fmt: skip
        if sev is not level.get(k):
            change_at[k] = at + rng.expovariate(1 / HOLD_S)
        level[k] = sev
        value = rng.uniform(0, 100)
        summary = (
            f"{check} {value:.1f}, back to normal"
            if sev is Severity.OK
            else f"{check} {value:.1f} ({sev.label})"
        )
        out.append(Observation(source, resource, check, sev, summary, at, value))
    return out


def batches(items: list[Observation], size: int) -> list[list[Observation]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def through_store(
    path: Path, observations: list[Observation], batch: int
) -> tuple[Timing, float, Emitted, int, int]:
    """(timing, seconds in the rules alone, what the rules emitted, rows, sum of counts)."""
    engine = RuleEngine(Config())
    store = await open_store(path)
    raises = clears = flapping = 0
    raised_keys: set[str] = set()
    rules_s = 0.0
    try:
        started = time.perf_counter()
        for chunk in batches(observations, batch):
            t = time.perf_counter()
            events: list[EventInput] = engine.process(chunk)
            rules_s += time.perf_counter() - t
            for e in events:
                if e.severity is Severity.OK:
                    clears += 1
                else:
                    raises += 1
                    raised_keys.add(e.key)
                    flapping += e.check.endswith(":flapping")
            await store.upsert_events(events, actor="bench")
        seconds = time.perf_counter() - started
        stored = await store.count_events(include_resolved=True)
        rows = await store.list_events(include_resolved=True, limit=stored + 1)
        counts = sum(e.count for e in rows)
    finally:
        await store.close()
    emitted = Emitted(raises, clears, len(raised_keys), flapping)
    timing = Timing("store (rules + upsert_events)", len(observations), seconds)
    return timing, rules_s, emitted, stored, counts


def raw_sqlite(
    path: Path, observations: list[Observation], batch: int, *, ordered: bool = False
) -> tuple[Timing, int]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        for migration in MIGRATIONS:  # the same events table and indexes as the store
            conn.executescript(migration)
        sql = (
            "INSERT INTO events(dedup_key, source, resource, check_name, severity, state, "
            "summary, detail, count, first_seen, last_seen, value, seq, opened_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        started = time.perf_counter()
        n = 0
        for seq, chunk in enumerate(batches(observations, batch), start=1):
            conn.execute("BEGIN IMMEDIATE")
            rows = []
            for o in chunk:
                n += 1
                state = EventState.RESOLVED if o.severity is Severity.OK else EventState.OPEN
                rows.append(
                    (
                        f"{n:09d}#{o.source}|{o.resource}|{o.check}" if ordered
                        else f"{o.source}|{o.resource}|{o.check}#{n}",
                        o.source, o.resource,
                        o.check, int(o.severity), state.value, o.summary, o.detail, 1,
                        o.at, o.at, o.value, seq, o.at,
                    )
                )  # fmt: skip
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        stored = int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()
    name = "raw, keys in insert order" if ordered else "raw   (sqlite3 executemany)"
    return Timing(name, len(observations), seconds), stored


def report(t: Timing) -> None:
    print(
        f"{t.name:<31} {t.observations:>8} observations in {t.seconds:7.3f} s "
        f"= {t.rate:>10,.0f} observations/s"
    )


def check(name: str, ok: bool, detail: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--observations", type=int, default=100_000, help="observations to feed (100000)"
    )
    parser.add_argument("--batch", type=int, default=1000, help="observations per batch (1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the mix (1)")
    args = parser.parse_args(argv)
    if args.observations < 1 or args.batch < 1:
        parser.error("--observations and --batch must be positive")

    observations = make_observations(args.observations, args.seed)
    keys = len({o.key for o in observations})
    ok_obs = sum(o.severity is Severity.OK for o in observations)
    print(
        f"{len(observations)} observations over {keys} keys ({ok_obs} OK), batches of "
        f"{args.batch}; SQLite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL"
    )
    with tempfile.TemporaryDirectory(prefix="bridge-bench-ingest-") as tmp:
        store, rules_s, emitted, stored, counts = asyncio.run(
            through_store(Path(tmp) / "store.db", observations, args.batch)
        )
        raw, raw_stored = raw_sqlite(Path(tmp) / "raw.db", observations, args.batch)
        ordered, _ = raw_sqlite(Path(tmp) / "ordered.db", observations, args.batch, ordered=True)
    print(
        f"rules emitted {emitted.raises} raises over {emitted.raised_keys} keys "
        f"({emitted.flapping_raises} flapping) and {emitted.clears} clears"
    )
    report(store)
    print(
        f"  of which rules {rules_s:.3f} s ({len(observations) / rules_s:,.0f} obs/s alone), "
        f"store {store.seconds - rules_s:.3f} s"
    )
    report(raw)
    report(ordered)
    ratio = store.rate / raw.rate
    print(
        f"  (reference only: with dedup keys in insert order, as bench/store.py inserts them, "
        f"the same rows go in at {ordered.rate:,.0f}/s; store/that = {store.rate / ordered.rate:.2f})"
    )
    print()
    check("rate", ratio >= TARGET_RATIO, f"store/raw = {ratio:.2f} (target >= {TARGET_RATIO:.2f})")
    ok = check(
        "events stored == distinct keys raised",
        stored == emitted.raised_keys,
        f"{stored} stored, {emitted.raised_keys} raised",
    )
    ok &= check(
        "sum of counts == raises (nothing lost)",
        counts == emitted.raises,
        f"{counts} counted, {emitted.raises} raised",
    )
    ok &= check(
        "raw rows == observations",
        raw_stored == len(observations),
        f"{raw_stored} rows, {len(observations)} observations",
    )
    if not ok:
        print("MISMATCH: see FAIL lines above", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
