"""Event storm: keypress-to-screen latency of the console while events pour in.

    python bench/storm.py [--seconds S] [--rate R] [--batch B] [--history H] [--keep DIR] [--intake]

1. History: H events (100000) go into a fresh store through the Store interface
   (raised, acknowledged, and all but 2 % resolved), in a temporary folder.
2. The console, `<venv>/bin/bridge --config CFG --operator bench`, starts in a
   detached 120x40 tmux pane on a private server (`tmux -L storm<pid>`), with
   XDG_DATA_HOME/XDG_CONFIG_HOME in the temporary folder and CFG setting
   `[store] path` and `[local] interval = 2`. The pane's shell waits on a FIFO
   and then execs the console, so the clock starts at the exec. First screen:
   until `tmux capture-pane` shows the Events pane title with its counts
   ("1 Events (..."); RSS: of the console's process tree (psutil), at the first
   screen, after settling, and the peak during the storm.
3. Latency: every 500 ms the bench presses `h` (history on/off) and polls
   `capture-pane` every 10 ms until the Events pane title gains or loses
   ", history"; from just before `send-keys` to the first capture that shows it.
   Over 2 s is a miss. (`h` rather than `j`/`k`: under a storm the rows reorder
   several times a second and the cursor follows its row, so "the screen
   changed" after `j` would usually be the storm's redraw, not the keypress.)
   A few probes run before the storm as a baseline.
4. Storm: a separate process (this script, `--insert-into`) opens the store and
   calls `upsert_events` with B events every B/R seconds (250 every 50 ms for
   5 000/s), paced by the wall clock for S seconds (30); about 60 % new keys,
   40 % repeats of keys already sent, severities mixed, never a clear.
5. Lost: distinct keys sent vs `count_events(include_resolved=True)` for the
   storm's source, and events sent vs the sum of their counts.

With `--intake`, the storm comes through the HTTP intake instead: the config
also enables `[intake]` on a free loopback port with one token, so the console
(the lease holder) serves it, and the inserter POSTs each batch of B events to
`/api/v1/events` (an aiohttp client, up to 32 requests in flight, paced as
above; `--batch 1` for single-event requests). Each key keeps one severity, so
the rules' flap detection holds nothing back, and only events in a 200 answer
count as sent; refusals are reported.

Exits 0 whether or not the targets are met (this is a report), 1 if the console
failed to start or draw, or died, or if storm events were lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _terminal import TERM, BenchError, Tmux, release, stop_tree, tree_rss

from bridge.core.actions import Action
from bridge.core.models import EventInput, Severity
from bridge.core.query import EventQuery
from bridge.store import open_store

BRIDGE = Path(sys.executable).parent / "bridge"
COLS, ROWS = 120, 40
STORM_SOURCE = "storm"
SEED_SOURCE = "seed"
RAISING = (Severity.INFO, Severity.WARNING, Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
REPEAT_P = 0.4  # share of storm events that repeat a key already sent

TITLE = "1 Events ("
HISTORY_MARK = ", history"
POLL_SCREEN = 0.01
POLL_RSS = 0.1
FIRST_SCREEN_TIMEOUT = 60.0
BASELINE_PROBES = 6
MB = 1024 * 1024
INTAKE_TOKEN = "storm-bench-token-0123456789"
INTAKE_FLIGHT = 32

TARGET_P95_MS = 150.0
TARGET_FIRST_S = 2.0
TARGET_RSS_MB = 80.0


# -- the inserter process ------------------------------------------------------------


def storm_event(n: int, rng: random.Random, at: float) -> EventInput:
    sev = rng.choice(RAISING)
    return EventInput(
        source=STORM_SOURCE,
        resource=f"node{n // 20:05d}",
        check=f"check{n % 20:02d}",
        severity=sev,
        summary=f"storm event {n} ({sev.label})",
        at=at,
        value=rng.uniform(0, 100),
    )


async def insert(
    path: Path, rate: float, seconds: float, batch: int, seed: int
) -> dict[str, float]:
    """Wait for "go" on stdin, then insert at `rate` for `seconds`; return the figures."""
    rng = random.Random(seed)
    store = await open_store(path)
    try:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        interval = batch / rate
        sent = keys = 0
        lag = 0.0
        upsert_ms: list[float] = []
        start = time.time()
        i = 0
        while (due := start + i * interval) < start + seconds:
            now = time.time()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                lag = max(lag, now - due)
            at = time.time()
            events = []
            for _ in range(batch):
                if keys and rng.random() < REPEAT_P:
                    n = rng.randrange(keys)
                else:
                    n = keys
                    keys += 1
                events.append(storm_event(n, rng, at))
            t = time.perf_counter()
            await store.upsert_events(events, actor="storm")
            upsert_ms.append((time.perf_counter() - t) * 1000)
            sent += len(events)
            i += 1
        elapsed = time.time() - start
    finally:
        await store.close()
    upsert_ms.sort()
    return {
        "sent": sent,
        "keys": keys,
        "batches": i,
        "elapsed": elapsed,
        "max_lag": lag,
        "upsert_p50_ms": upsert_ms[len(upsert_ms) // 2] if upsert_ms else 0.0,
        "upsert_max_ms": upsert_ms[-1] if upsert_ms else 0.0,
    }


async def insert_via_intake(
    url: str, rate: float, seconds: float, batch: int, seed: int
) -> dict[str, float]:
    """As `insert`, through the console's HTTP intake: wait for it to answer, then
    for "go" on stdin, then POST batches at `rate` for `seconds`."""
    import aiohttp

    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {INTAKE_TOKEN}"}
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 60
        while True:
            try:
                async with session.get(f"{url}/healthz") as answer:
                    if answer.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the console's intake did not answer within 60 s")
            await asyncio.sleep(0.2)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        interval = batch / rate
        sent = keys = refused = 0
        lag = 0.0
        post_ms: list[float] = []
        flight = asyncio.Semaphore(INTAKE_FLIGHT)
        tasks: list[asyncio.Task[None]] = []

        async def post(body: list[dict[str, str]]) -> None:
            nonlocal sent, refused
            try:
                t = time.perf_counter()
                async with session.post(f"{url}/api/v1/events", json=body, headers=headers) as r:
                    await r.read()
                    ok = r.status == 200
                post_ms.append((time.perf_counter() - t) * 1000)
            except aiohttp.ClientError:
                ok = False
            finally:
                flight.release()
            if ok:
                sent += len(body)
            else:
                refused += len(body)

        start = time.time()
        i = 0
        while (due := start + i * interval) < start + seconds:
            now = time.time()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                lag = max(lag, now - due)
            body = []
            for _ in range(batch):
                if keys and rng.random() < REPEAT_P:
                    n = rng.randrange(keys)
                else:
                    n = keys
                    keys += 1
                sev = RAISING[n % len(RAISING)]  # one severity per key: nothing flaps
                body.append({"source": STORM_SOURCE, "resource": f"node{n // 20:05d}",
                             "check": f"check{n % 20:02d}", "severity": sev.label,
                             "summary": f"storm event {n} ({sev.label})"})  # fmt: skip
            await flight.acquire()
            tasks.append(asyncio.create_task(post(body)))
            i += 1
        await asyncio.gather(*tasks)
        elapsed = time.time() - start
    post_ms.sort()
    return {
        "sent": sent,
        "keys": keys,
        "batches": i,
        "elapsed": elapsed,
        "max_lag": lag,
        "refused": refused,
        "upsert_p50_ms": post_ms[len(post_ms) // 2] if post_ms else 0.0,
        "upsert_max_ms": post_ms[-1] if post_ms else 0.0,
    }


# -- history --------------------------------------------------------------------------


async def seed_history(path: Path, count: int) -> None:
    """`count` events raised, acknowledged, and all but 2 % resolved: history."""
    if count <= 0:
        return
    rng = random.Random(7)
    at = time.time() - 86400.0
    events = [
        EventInput(
            source=SEED_SOURCE,
            resource=f"old{i // 25:05d}",
            check=f"check{i % 25:02d}",
            severity=rng.choice(RAISING),
            summary=f"history event {i}",
            at=at + i * 0.5,
            value=rng.uniform(0, 100),
        )
        for i in range(count)
    ]
    store = await open_store(path)
    try:
        for i in range(0, count, 5000):
            await store.upsert_events(events[i : i + 5000], actor="seed")
        listed = await store.list_events(include_resolved=True, limit=count + 1)
        ids = [e.id for e in listed]
        for i in range(0, len(ids), 5000):
            await store.act(ids[i : i + 5000], Action.ACK, "seed", at + count)
        clears = [
            EventInput(e.source, e.resource, e.check, Severity.OK, "cleared", e.at + 60.0)
            for n, e in enumerate(events)
            if n % 50  # every 50th stays acknowledged, not resolved
        ]
        for i in range(0, len(clears), 5000):
            await store.upsert_events(clears[i : i + 5000], actor="seed")
    finally:
        await store.close()


async def storm_totals(path: Path) -> tuple[int, int]:
    """(events of the storm's source in the store, sum of their counts)."""
    store = await open_store(path)
    try:
        query = EventQuery(source=(STORM_SOURCE,))
        stored = await store.count_events(include_resolved=True, query=query)
        rows = await store.list_events(include_resolved=True, limit=stored + 1, query=query)
        return stored, sum(e.count for e in rows)
    finally:
        await store.close()


# -- tmux and the console ----------------------------------------------------------------


def stop_process(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


class RssSampler(threading.Thread):
    """Samples the console's tree RSS; `peak()` over a window since `mark()`."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.last = 0
        self._window_peak = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._stop.wait(POLL_RSS):
            rss = tree_rss(self.pid)
            with self._lock:
                self.last = rss
                self._window_peak = max(self._window_peak, rss)

    def mark(self) -> None:
        with self._lock:
            self._window_peak = self.last

    def peak(self) -> int:
        with self._lock:
            return self._window_peak

    def stop(self) -> None:
        self._stop.set()


def history_shown(screen: str) -> bool | None:
    """Whether the Events pane title says history; None if the title is not drawn."""
    for line in screen.splitlines():
        if TITLE in line:
            return HISTORY_MARK in line
    return None


@dataclass
class Probes:
    latencies_ms: list[float] = field(default_factory=list)
    misses: int = 0

    def summary(self) -> str:
        if not self.latencies_ms:
            return f"no answered probes, {self.misses} misses"
        lat = sorted(self.latencies_ms)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        return (
            f"{len(lat) + self.misses} probes: p50 {statistics.median(lat):.0f} ms, "
            f"p95 {p95:.0f} ms, max {lat[-1]:.0f} ms, misses {self.misses}"
        )

    def p95(self) -> float | None:
        if not self.latencies_ms:
            return None
        lat = sorted(self.latencies_ms)
        return lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]


class Console:
    """The console in its tmux pane."""

    def __init__(self, tmux: Tmux, target: str) -> None:
        self.tmux = tmux
        self.target = target

    def check_alive(self) -> None:
        if self.tmux.pane(self.target, "#{pane_dead}") == "1":
            status = self.tmux.pane(self.target, "#{pane_dead_status}")
            raise BenchError(
                f"the console exited (status {status or '?'}); last screen:\n"
                + self.tmux.capture(self.target).rstrip()
            )

    def wait_state(self, want: bool, timeout: float) -> float | None:
        """Seconds until the title shows `want` (history or not), None on timeout."""
        started = time.perf_counter()
        while True:
            if history_shown(self.tmux.capture(self.target)) is want:
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                return None
            time.sleep(POLL_SCREEN)

    def probe(self, probes: Probes, timeout: float) -> None:
        """Press h once; record how long until the title toggles."""
        state = history_shown(self.tmux.capture(self.target))
        while state is None:  # a modal or a resize hides the title for a moment
            self.check_alive()
            time.sleep(POLL_SCREEN)
            state = history_shown(self.tmux.capture(self.target))
        want = not state
        sent = time.perf_counter()
        self.tmux("send-keys", "-t", self.target, "h")
        took = self.wait_state(want, timeout - (time.perf_counter() - sent))
        if took is None:
            probes.misses += 1
            # Let the toggle land (or give up on it) before the next probe.
            if self.wait_state(want, 10.0) is None:
                self.check_alive()
            return
        probes.latencies_ms.append((time.perf_counter() - sent) * 1000)


# -- the run ----------------------------------------------------------------------------


def run(args: argparse.Namespace, work: Path) -> int:
    home = work / "home"
    config = home / "config" / "bridge" / "config.toml"
    config.parent.mkdir(parents=True)
    (home / "data").mkdir()
    db = work / "store.db"
    text = f"[store]\npath = {json.dumps(str(db))}\n\n[local]\ninterval = 2\n"
    intake_url = ""
    if args.intake:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        intake_url = f"http://127.0.0.1:{port}"
        text += (f"\n[intake]\nenabled = true\nport = {port}\nmax_body = 10000000\n\n"
                 f'[[intake.tokens]]\nname = "storm"\ntoken = "{INTAKE_TOKEN}"\n')  # fmt: skip
    config.write_text(text)
    if not BRIDGE.exists():
        raise BenchError(f"{BRIDGE} not found: run this with the project's venv python")

    t = time.perf_counter()
    asyncio.run(seed_history(db, args.history))
    print(f"history: {args.history} events seeded in {time.perf_counter() - t:.1f} s", flush=True)

    argv = [str(BRIDGE), "--config", str(config), "--operator", "bench"]
    env = {"XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config")}
    fifo = work / "go"
    os.mkfifo(fifo)
    inner = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *argv])
    command = f"read _ < {shlex.quote(str(fifo))}; exec {inner}"
    server_env = {
        k: v for k, v in os.environ.items() if k not in {"TMUX", "TMUX_PANE", "COLORTERM"}
    }
    server_env["TERM"] = TERM
    tmux = Tmux(f"storm{os.getpid()}", server_env)
    target = "storm:0.0"
    console = Console(tmux, target)
    pid: int | None = None
    inserter: subprocess.Popen[str] | None = None
    sampler: RssSampler | None = None
    try:
        print(f"console: {shlex.join(argv)}", flush=True)
        tmux.start("storm", COLS, ROWS, f"sh -c {shlex.quote(command)}", work / "tmux.conf")
        size = tmux.pane(target, "#{pane_width}x#{pane_height}")
        if size != f"{COLS}x{ROWS}":
            raise BenchError(f"pane is {size}, not {COLS}x{ROWS}")
        pid = int(tmux.pane(target, "#{pane_pid}"))
        release(fifo, console.check_alive)
        spawned = time.perf_counter()
        sampler = RssSampler(pid)
        sampler.start()

        while history_shown(screen := tmux.capture(target)) is None:
            console.check_alive()
            if time.perf_counter() - spawned > FIRST_SCREEN_TIMEOUT:
                raise BenchError(f"no Events title after 60 s; last screen:\n{screen.rstrip()}")
            time.sleep(POLL_SCREEN)
        first_screen = time.perf_counter() - spawned
        rss_first = tree_rss(pid)
        if args.keep:
            (args.keep / "first.txt").write_text(screen)

        # The inserter opens its store now, and waits for "go".
        inserter = subprocess.Popen(
            [
                sys.executable, __file__, "--insert-into", str(db), "--rate", str(args.rate),
                "--seconds", str(args.seconds), "--batch", str(args.batch),
                *(["--via-intake", intake_url] if intake_url else []),
            ],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert inserter.stdin is not None and inserter.stdout is not None
        if inserter.stdout.readline().strip() != "ready":
            raise BenchError("the inserter did not start")

        # Settle, then a baseline with the history loaded and no storm.
        time.sleep(3.0)
        rss_settled = tree_rss(pid)
        baseline = Probes()
        for _ in range(BASELINE_PROBES):
            console.probe(baseline, args.timeout)
            time.sleep(args.every)
        # The storm.
        sampler.mark()
        inserter.stdin.write("go\n")
        inserter.stdin.flush()
        storm = Probes()
        storm_started = time.perf_counter()
        while inserter.poll() is None:
            console.probe(storm, args.timeout)
            if time.perf_counter() - storm_started > args.seconds + 120:
                raise BenchError("the inserter is still running 2 min after its end")
            time.sleep(args.every)
        out, _ = inserter.communicate(timeout=10)
        if inserter.returncode != 0:
            raise BenchError(f"the inserter failed with status {inserter.returncode}")
        result = json.loads(out.strip().splitlines()[-1])
        rss_storm = sampler.peak()
        console.check_alive()
        if args.keep:
            (args.keep / "last.txt").write_text(tmux.capture(target))
    finally:
        if sampler is not None:
            sampler.stop()
        if inserter is not None and inserter.poll() is None:
            stop_process(inserter)
        tmux.kill_server()
        if pid is not None:
            stop_tree(pid)

    stored, counted = asyncio.run(storm_totals(db))
    sent, keys = int(result["sent"]), int(result["keys"])
    achieved = sent / result["elapsed"] if result["elapsed"] > 0 else 0.0
    p95 = storm.p95()

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print()
    print(
        f"{verdict(first_screen <= TARGET_FIRST_S)}  first screen with {args.history} events "
        f"in history: {first_screen:.2f} s (target <= {TARGET_FIRST_S:g} s)"
    )
    rss_worst = max(rss_first, rss_settled) / MB
    print(
        f"{verdict(rss_worst <= TARGET_RSS_MB)}  RSS with history: {rss_first / MB:.1f} MB at "
        f"first screen, {rss_settled / MB:.1f} MB settled (target <= {TARGET_RSS_MB:g} MB); "
        f"peak during the storm {rss_storm / MB:.1f} MB"
    )
    print(
        f"inserts: {sent} events ({keys} distinct keys) in {result['batches']} batches over "
        f"{result['elapsed']:.1f} s = {achieved:,.0f} events/s (asked {args.rate:,.0f}); "
        f"upsert p50 {result['upsert_p50_ms']:.1f} ms, max {result['upsert_max_ms']:.0f} ms; "
        f"worst pacing lag {result['max_lag'] * 1000:.0f} ms"
        + (f"; through the intake (p50/max are per request), {int(result['refused'])} refused"
           if args.intake else "")
    )  # fmt: skip
    print(f"keypress-to-screen (h), idle with history: {baseline.summary()}")
    print(f"keypress-to-screen (h), during the storm: {storm.summary()}")
    print(
        f"{verdict(p95 is not None and p95 <= TARGET_P95_MS and storm.misses == 0)}  storm "
        f"latency p95 {'-' if p95 is None else f'{p95:.0f}'} ms, {storm.misses} misses "
        f"(target p95 <= {TARGET_P95_MS:g} ms)"
    )
    lost_keys, lost_events = keys - stored, sent - counted
    print(
        f"{verdict(lost_keys == 0)}  keys: {keys} sent, {stored} stored ({lost_keys} lost)\n"
        f"{verdict(lost_events == 0)}  events: {sent} sent, {counted} counted "
        f"({lost_events} lost)"
    )
    return 0 if lost_keys == 0 and lost_events == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="storm length (30)")
    parser.add_argument("--rate", type=float, default=5000.0, help="events per second (5000)")
    parser.add_argument("--batch", type=int, default=250, help="events per upsert (250)")
    parser.add_argument(
        "--history", type=int, default=100_000, help="events in history before launch (100000)"
    )
    parser.add_argument("--every", type=float, default=0.5, help="seconds between probes (0.5)")
    parser.add_argument("--timeout", type=float, default=2.0, help="a probe's miss time (2)")
    parser.add_argument("--keep", type=Path, help="save the first and last screens here")
    parser.add_argument("--intake", action="store_true", help="the storm through the HTTP intake")
    parser.add_argument("--insert-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--via-intake", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rate <= 0 or args.batch < 1 or args.history < 0:
        parser.error("--seconds, --rate and --batch must be positive, --history >= 0")
    if args.insert_into is not None and args.via_intake:
        result = asyncio.run(
            insert_via_intake(args.via_intake, args.rate, args.seconds, args.batch, seed=11)
        )
        print(json.dumps(result), flush=True)
        return 0
    if args.insert_into is not None:
        result = asyncio.run(insert(args.insert_into, args.rate, args.seconds, args.batch, seed=11))
        print(json.dumps(result), flush=True)
        return 0
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)

    print(
        f"{COLS}x{ROWS} tmux pane (TERM={TERM}); storm {args.rate:,.0f} events/s in batches of "
        f"{args.batch} for {args.seconds:g} s{' through the HTTP intake' if args.intake else ''}; "
        f"{psutil.cpu_count()} cores; "
        f"Python {sys.version.split()[0]}",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="bridge-bench-storm-") as tmp:
            return run(args, Path(tmp))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
