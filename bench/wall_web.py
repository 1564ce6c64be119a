"""The wall in a browser: server CPU and memory per browser, next to the terminal wall.

    python bench/wall_web.py [--seconds S] [--browsers B] [--rate R] [--size WxH]

One run, one store, both walls at once: `bridge wall --serve` on 127.0.0.1 with
B headless Chromium pages (Debian's chromium, driven by Playwright) connected,
and `bridge wall` in a detached tmux pane (private server, TERM=tmux-256color)
of the same size in cells as the browsers' terminals, its output recorded by
`pipe-pane`. Two windows of S seconds (20) each:

- idle: nothing is written to the store;
- stream: R events/s (100) are raised in it (new resources, so every read
  finds new rows), in batches every 0.1 s by this process.

Per browser: CPU (percent of one core) and RSS of its wall process plus the
server process' share (its CPU and RSS over B), and the bytes/s the server sent
it over the websocket (`/status`). The terminal wall: CPU and RSS of its process
tree, and bytes/s written to its terminal. Chromium's own cost is the kiosk's,
not the server's, and is not counted.

Exits 0 (a report; also when chromium or tmux is missing, saying so), non-zero if a
program fails to start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from _terminal import TMUX, BenchError, Tmux, stop_tree, tree, tree_cpu, tree_rss

from bridge.core.models import EventInput, Severity
from bridge.runtime.lease import LEASE_NAME
from bridge.store import open_store

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BRIDGE = [sys.executable, "-m", "bridge"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def seed(db: Path) -> None:
    store = await open_store(db)
    try:
        now = time.time()
        await store.upsert_events(
            [
                EventInput("local", f"host-{i}", "cpu", sev, f"seeded {i}", now)
                for i, sev in enumerate(list(Severity) * 4)
            ],
            actor="bench",
        )
        # A live lease holder, so neither wall shows STALE for want of a poller.
        await store.try_lease(LEASE_NAME, "bench", 3600.0, now)
    finally:
        await store.close()


async def stream(db: Path, rate: int, until: float) -> int:
    """`rate` new events a second until `until`, in batches every 0.1 s."""
    store = await open_store(db)
    sent = 0
    try:
        per = max(1, rate // 10)
        next_at = time.monotonic()
        while time.monotonic() < until:
            now = time.time()
            batch = [
                EventInput("bench", f"res-{sent + i}", "load", Severity.MAJOR, "stream", now)
                for i in range(per)
            ]
            await store.upsert_events(batch, actor="bench")
            sent += per
            next_at += 0.1
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        await store.close()
    return sent


class Costs:
    """CPU seconds, RSS and bytes of both walls at one moment."""

    def __init__(self, server_pid: int, term_pid: int, status: dict[str, Any], log: Path) -> None:
        server = psutil.Process(server_pid)
        t = server.cpu_times()
        self.server_cpu = t.user + t.system
        self.server_rss = server.memory_info().rss
        sessions = status["sessions"]
        self.walls_cpu = sum(s["cpu_seconds"] or 0.0 for s in sessions)
        self.walls_rss = sum(s["rss_bytes"] or 0 for s in sessions)
        self.ws_bytes = sum(s["bytes_out"] for s in sessions)
        self.term_cpu = tree_cpu(term_pid)
        self.term_rss = tree_rss(term_pid)
        self.term_bytes = log.stat().st_size if log.exists() else 0
        self.at = time.monotonic()


def report(name: str, a: Costs, b: Costs, browsers: int) -> None:
    span = b.at - a.at
    per_cpu = ((b.walls_cpu - a.walls_cpu) + (b.server_cpu - a.server_cpu)) / browsers
    per_rss = (b.walls_rss + b.server_rss) / browsers
    print(f"{name} ({span:.0f} s):")
    print(
        f"  browser wall, per browser: CPU {100 * per_cpu / span:5.2f} % "
        f"(wall process {100 * (b.walls_cpu - a.walls_cpu) / browsers / span:.2f} %, "
        f"server share {100 * (b.server_cpu - a.server_cpu) / browsers / span:.2f} %), "
        f"RSS {per_rss / 2**20:.1f} MB (wall process {b.walls_rss / browsers / 2**20:.1f} MB), "
        f"{(b.ws_bytes - a.ws_bytes) / browsers / span:,.0f} B/s"
    )
    print(
        f"  terminal wall (reference): CPU {100 * (b.term_cpu - a.term_cpu) / span:5.2f} %, "
        f"RSS {b.term_rss / 2**20:.1f} MB, {(b.term_bytes - a.term_bytes) / span:,.0f} B/s"
    )


async def status(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        data: dict[str, Any] = (await client.get(url + "status")).json()
        return data


async def run(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    width, height = (int(v) for v in args.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="bench-wall-web-"))
    db = work / "bridge.db"
    config = work / "config.toml"
    config.write_text(f'[store]\npath = "{db}"\n\n[local]\nenabled = false\n')
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "c"), "XDG_DATA_HOME": str(work / "d"),
           "XDG_STATE_HOME": str(work / "s"), "TERM": "tmux-256color"}  # fmt: skip
    await seed(db)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = work / "serve.log"
    with log.open("w") as out:
        server = psutil.Popen(
            [*BRIDGE, "--config", str(config), "wall", "--serve", "--port", str(port)],
            env=env, stdout=out, stderr=out, stdin=None,
        )  # fmt: skip
    tmux = Tmux(f"benchwall{os.getpid()}", env)
    term_log = work / "terminal.out"
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(url + "alive")).status_code == 200:
                        break
                if time.monotonic() > deadline or server.poll() is not None:
                    raise BenchError(f"the wall server did not start: {log.read_text()}")
                await asyncio.sleep(0.1)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            pages = []
            for _ in range(args.browsers):
                page = await browser.new_page(viewport={"width": width, "height": height})
                await page.goto(url)
                await page.wait_for_function(
                    "document.body.dataset.wallState === 'live'", timeout=30_000
                )
                pages.append(page)
            deadline = time.monotonic() + 20
            while True:
                st = await status(url)
                if all(s["pid"] for s in st["sessions"]) and len(st["sessions"]) == len(pages):
                    break
                if time.monotonic() > deadline:
                    raise BenchError("the browsers' wall processes did not report")
                await asyncio.sleep(0.2)
            cols, rows = st["sessions"][0]["cols"], st["sessions"][0]["rows"]
            command = shlex.join([*BRIDGE, "--config", str(config), "wall"])
            tmux.start("w", cols, rows, f"exec {command}", work / "tmux.conf")
            tmux("pipe-pane", "-o", "-t", "w", f"cat >> {shlex.quote(str(term_log))}")
            term_pid = int(tmux.pane("w", "#{pane_pid}"))
            await asyncio.sleep(5)  # both walls past their first screens
            print(
                f"bench/wall_web.py: {args.browsers} Chromium pages at {width}x{height} "
                f"({cols}x{rows} cells) and a {cols}x{rows} tmux pane, one store"
            )
            a = Costs(server.pid, term_pid, await status(url), term_log)
            await asyncio.sleep(args.seconds)
            b = Costs(server.pid, term_pid, await status(url), term_log)
            report("idle", a, b, args.browsers)
            until = time.monotonic() + args.seconds
            writer = asyncio.create_task(stream(db, args.rate, until))
            a = Costs(server.pid, term_pid, await status(url), term_log)
            sent = await writer
            b = Costs(server.pid, term_pid, await status(url), term_log)
            report(f"stream of {args.rate} events/s ({sent} raised)", a, b, args.browsers)
            snap = (await status(url))["sessions"][0]["wall"]
            print(f"  the browser wall's last read: {snap['counts']} active events by severity")
            await browser.close()
    finally:
        tmux.kill_server()
        for proc in tree(server.pid):
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        stop_tree(server.pid)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--browsers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--size", default="1920x1080", help="the browsers' viewport, WxH")
    args = parser.parse_args(argv)
    # Skipped with a message, as `make bench` runs every bench: not a failure of bridge's.
    if not CHROMIUM.exists():
        print(f"bench/wall_web.py: skipped: {CHROMIUM} missing (apt-get install chromium)")
        return 0
    if not Path(TMUX).exists():
        print("bench/wall_web.py: skipped: tmux missing (apt-get install tmux)")
        return 0
    try:
        return asyncio.run(run(args))
    except BenchError as exc:
        print(f"bench/wall_web.py: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
