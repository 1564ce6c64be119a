"""The HTTP intake: events/s through POST /api/v1/events, next to a bare aiohttp handler.

    python bench/intake.py [--seconds S] [--concurrency C] [--batch B] [--alerts N] [--keep DIR]

1. Bare: a separate process serves an aiohttp application (the same library, the
   same AppRunner/TCPSite settings as the intake: no access log) whose one handler
   answers 200 to any path and does nothing else. `wrk` (C, one thread, C
   connections (32), keep-alive) sends it the very requests of step 2 for S
   seconds (10): the server library's own ceiling on this machine.
2. Bridge: a separate process runs the lease holder (`bridge.runtime.poller.Poller`, no
   collectors, `[intake]` on, a real SQLite file), and `wrk` sends, with the same
   connections for S seconds:
   - single: one event per request (source `bench-single`); resources cycle
     through 1 999 hosts and checks through 5, so about 10 000 keys each raised
     again several times (dedup), each key always at the same severity;
   - batch: B events (100) per request (source `bench-batch`), the same way.
   Events/s = accepted requests x events per request / seconds.
3. Latency: `wrk --latency` again with single-event requests (source
   `bench-paced`), each of 4 x C connections pausing between its requests (wrk's
   `delay()`, drawn evenly from 0.5 to 1.5 times one pause so that they drift
   apart) so that together they send about half the measured single rate, for
   S seconds; wrk's p50 and p99 of the answer times, and the rate reached. (A
   connection's next request waits for its answer, as a cron wrapper's does; with
   the pause much longer than the answer, the load is close to a steady rate.)
4. Alertmanager: one webhook payload of N distinct firing alerts (1 000) posted
   once to each server (the bare one: the same bytes read and answered, parsing
   nothing); the time to its answer.
5. Lost: the store is read after the server stopped (raw sqlite3): for each
   source, the sum of the events' counts must equal the events accepted (200
   answers). wrk stops with requests in flight: those may be stored without
   being counted accepted, so stored may exceed accepted by at most C requests'
   worth; stored below accepted is a loss.

Targets: single ≥ 40 % of bare; paced p99 ≤ 50 ms; 0 lost; alerts ≤ 0.5 s. Exits
0 whether or not the targets are met (a report), 1 if a server did not start or
died, or events were lost. `wrk` comes from Debian (`apt-get install -y wrk`,
run when missing and we are root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKEN = "bench-token-0123456789abcdef"
HOSTS, CHECKS = 1999, 5
SEVERITIES = ("warning", "minor", "major", "critical")
TARGET_RATIO = 0.40
TARGET_P99_MS = 50.0
TARGET_ALERTS_S = 0.5

# wrk's request generator: a counter makes each request's events; the same keys as
# `event()` below, so the paced client's events deduplicate the same way.
WRK_SCRIPT = """
local n = 0
local per = tonumber(os.getenv("BENCH_PER"))
local source = os.getenv("BENCH_SOURCE")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local sev = {"warning", "minor", "major", "critical"}
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer @TOKEN@"
wrk.headers["Content-Type"] = "application/json"
local function event()
  local host = n % @HOSTS@
  local e = string.format(
    '{"source":"%s","resource":"host%05d","check":"c%d","severity":"%s","summary":"bench %d"}',
    source, host, n % @CHECKS@, sev[host % 4 + 1], n)
  n = n + 1
  return e
end
if pause > 0 then
  -- spread over 0.5 to 1.5 pauses: connections that start together drift apart
  delay = function() return math.random(math.ceil(pause / 2), math.floor(pause * 3 / 2)) end
end
request = function()
  if per == 1 then
    return wrk.format(nil, "/api/v1/events", nil, event())
  end
  local parts = {}
  for i = 1, per do parts[i] = event() end
  return wrk.format(nil, "/api/v1/events", nil, "[" .. table.concat(parts, ",") .. "]")
end
"""


def event(source: str, n: int) -> dict[str, str]:
    host = n % HOSTS
    return {
        "source": source,
        "resource": f"host{host:05d}",
        "check": f"c{n % CHECKS}",
        "severity": SEVERITIES[host % 4],
        "summary": f"bench {n}",
    }


def alerts_payload(count: int) -> bytes:
    """Alertmanager's webhook (version 4) with `count` distinct firing alerts."""
    alerts = []
    for i in range(count):
        labels = {"alertname": "BenchAlert", "instance": f"node{i:05d}:9100",
                  "severity": "critical" if i % 10 == 0 else "warning"}  # fmt: skip
        alerts.append({
            "status": "firing", "labels": labels,
            "annotations": {"summary": f"bench alert {i}", "description": "from bench/intake.py"},
            "startsAt": "2026-12-07T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": f"{i:016x}",
        })  # fmt: skip
    return json.dumps({
        "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": "firing",
        "receiver": "bridge", "groupLabels": {}, "commonLabels": {"alertname": "BenchAlert"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": alerts,
    }).encode()  # fmt: skip


# -- the servers (each in its own process) -------------------------------------------------
async def serve_bare(port: int) -> None:
    from aiohttp import web

    async def ok(request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application(client_max_size=100_000_000)
    app.router.add_route("*", "/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def serve_bridge(folder: Path, port: int) -> None:
    from bridge.config.file import Config
    from bridge.core.clock import SystemClock
    from bridge.runtime.poller import Poller
    from bridge.store import open_store

    config = Config.model_validate(
        {
            "local": {"enabled": False},
            "intake": {
                "enabled": True,
                "port": port,
                "max_body": 10_000_000,
                "tokens": [{"name": "bench", "token": TOKEN}],
            },
        }
    )
    store = await open_store(folder / "bridge.db")
    try:
        await Poller(store, config, SystemClock(), collectors=[]).run()
    finally:
        await store.close()


# -- the bench -----------------------------------------------------------------------------
@dataclass(frozen=True)
class WrkResult:
    requests: int
    non_2xx: int
    socket_errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def accepted(self) -> int:
        return self.requests - self.non_2xx

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_wrk() -> str:
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0:
        print("wrk missing: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        found = shutil.which("wrk")
    if found is None:
        sys.exit("bench/intake.py needs wrk (Debian: apt-get install wrk)")
    return found


def _ms(text: str) -> float:
    value = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if value is None:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[value.group(2)]
    return float(value.group(1)) * scale


def run_wrk(
    wrk: str, script: Path, url: str, per: int, source: str, args: Any,
    *, connections: int | None = None, delay_ms: int = 0,
) -> WrkResult:  # fmt: skip
    env = {**os.environ, "BENCH_PER": str(per), "BENCH_SOURCE": source,
           "BENCH_DELAY_MS": str(delay_ms)}  # fmt: skip
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections or args.concurrency}", f"-d{args.seconds}s",
         "--timeout", "10s", "--latency", "-s", str(script), url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if found is None:
        raise SystemExit(f"wrk said nothing measurable:\n{out}")
    seconds = float(found.group(2)) / (1000 if found.group(3) == "ms" else 1)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests=int(found.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        seconds=seconds,
        p50_ms=_ms(percentiles.get("50", "")),
        p99_ms=_ms(percentiles.get("99", "")),
    )


class Server:
    """A server process of this script, stopped by its own pid."""

    def __init__(self, argv: list[str], port: int, ready_path: str, log: Path) -> None:
        self.port = port
        self.log = log
        # Its log to a file: a pipe nobody reads could fill and stall the server.
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, *argv], stdout=subprocess.DEVNULL, stderr=err
            )
        self.url = f"http://127.0.0.1:{port}"
        import urllib.request

        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"server {argv[0]} died: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"server {argv[0]} did not answer within 30 s")
            time.sleep(0.05)

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise SystemExit(f"server died: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-500:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def post_alerts(url: str, payload: bytes) -> tuple[float, int, str]:
    import urllib.request

    request = urllib.request.Request(
        url + "/api/v1/alertmanager", data=payload, method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read().decode()
        return time.perf_counter() - started, answer.status, body


def stored(db: Path) -> dict[str, tuple[int, int]]:
    """source -> (events, sum of their counts)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT source, COUNT(*), SUM(count) FROM events GROUP BY source")
        return {source: (n, total) for source, n, total in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="keep the store in this folder")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-bridge", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare is not None:
        asyncio.run(serve_bare(args.serve_bare))
        return 0
    if args.serve_bridge is not None:
        asyncio.run(serve_bridge(Path(args.serve_bridge[0]), int(args.serve_bridge[1])))
        return 0

    wrk = need_wrk()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-intake-"))
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "events.lua"
    lua = WRK_SCRIPT.replace("@TOKEN@", TOKEN).replace("@HOSTS@", str(HOSTS))
    script.write_text(lua.replace("@CHECKS@", str(CHECKS)), encoding="utf-8")
    payload = alerts_payload(args.alerts)
    print(f"intake: {args.seconds} s per run, {args.concurrency} connections (wrk -t1), "
          f"batches of {args.batch}, {args.alerts} alerts ({len(payload) // 1000} kB)")  # fmt: skip

    bare = Server(["--serve-bare", str(port := free_port())], port, "/", folder / "bare.log")
    try:
        bare_run = run_wrk(wrk, script, bare.url + "/api/v1/events", 1, "bare", args)
        bare_alerts, _, _ = post_alerts(bare.url, payload)
        bare.alive()
    finally:
        bare.stop()
    print(f"  bare aiohttp handler: {bare_run.rate:9,.0f} requests/s"
          f"  ({bare_run.accepted:,} in {bare_run.seconds:.1f} s)")  # fmt: skip

    db = folder / "bridge.db"
    bridge = Server(
        ["--serve-bridge", str(folder), str(port := free_port())], port, "/healthz",
        folder / "bridge.log",
    )  # fmt: skip
    try:
        single = run_wrk(wrk, script, bridge.url, 1, "bench-single", args)
        batch = run_wrk(wrk, script, bridge.url, args.batch, "bench-batch", args)
        half = max(1.0, single.rate / 2)
        # Many connections, each mostly paused: the answer time is small beside the
        # pause, so the rate reached stays close to the one aimed at.
        connections = 4 * args.concurrency
        pause = max(1, round(connections / half * 1000 - single.p50_ms))
        steady = run_wrk(wrk, script, bridge.url, 1, "bench-paced", args,
                         connections=connections, delay_ms=pause)  # fmt: skip
        alerts_s, status, body = post_alerts(bridge.url, payload)
        bridge.alive()
    finally:
        bridge.stop()
    ratio = single.rate / bare_run.rate
    print(f"  single event/request: {single.rate:9,.0f} events/s"
          f"  ({ratio:.0%} of bare; target >= {TARGET_RATIO:.0%})"
          + (f"; {single.non_2xx} refused" if single.non_2xx else ""))  # fmt: skip
    print(f"  {args.batch} events/request: {batch.rate * args.batch:9,.0f} events/s"
          f"  ({batch.rate:,.0f} requests/s)"
          + (f"; {batch.non_2xx} refused" if batch.non_2xx else ""))  # fmt: skip
    p99 = steady.p99_ms
    print(
        f"  paced, {connections} connections pausing {pause} ms: {steady.rate:,.0f} events/s"
        f" (aimed at {half:,.0f}, half the single rate): p50 {steady.p50_ms:.1f} ms,"
        f" p99 {p99:.1f} ms (target <= {TARGET_P99_MS:g} ms)"
        + (f"; {steady.non_2xx} refused" if steady.non_2xx else "")
    )
    print(
        f"  (at full rate, {args.concurrency} connections: single p50 {single.p50_ms:.1f} ms,"
        f" p99 {single.p99_ms:.1f} ms; bare p99 {bare_run.p99_ms:.1f} ms)"
    )
    print(f"  {args.alerts}-alert Alertmanager payload: {alerts_s:.3f} s (HTTP {status} {body});"
          f" bare handler {bare_alerts:.3f} s; target <= {TARGET_ALERTS_S:g} s")  # fmt: skip

    counts = stored(db)
    accepted = {
        "bench-single": single.accepted,
        "bench-batch": batch.accepted * args.batch,
        "bench-paced": steady.accepted,
    }
    in_flight = {"bench-single": args.concurrency, "bench-batch": args.concurrency * args.batch,
                 "bench-paced": connections}  # fmt: skip
    lost_any = False
    for source, sent in accepted.items():
        keys, total = counts.get(source, (0, 0))
        lost = max(0, sent - total)
        extra = total - sent
        lost_any |= lost > 0 or extra > in_flight[source]
        print(
            f"  {source}: accepted {sent:,} events, stored {total:,} as {keys:,} deduplicated"
            f" events; lost {lost}" + (f" (+{extra} in flight at wrk's stop)" if extra > 0 else "")
        )
    met = (ratio >= TARGET_RATIO, p99 <= TARGET_P99_MS, not lost_any, alerts_s <= TARGET_ALERTS_S)
    print("  targets met: " + ", ".join(
        f"{name} {'yes' if ok else 'NO'}"
        for name, ok in zip(("ratio", "p99", "lost", "alerts"), met, strict=True)
    ))  # fmt: skip
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if lost_any else 0


if __name__ == "__main__":
    sys.exit(main())
