"""The console in a terminal: first screen, CPU, memory and output, next to glances.

    python bench/console.py [--seconds S] [--size COLSxROWS] [--only bridge] [--keep DIR]
                            [--low-bandwidth] [--no-events] [--rounds N] [--before DIR]
                            [--estate] [--estate-reader]

Each program runs alone, one after the other, in a detached tmux pane of the
given size on a private tmux server (`tmux -L bench<pid>`, TERM=tmux-256color),
with all pane output recorded by `pipe-pane`:

- bridge: `<venv>/bin/bridge --config CFG`, byte-compiled first as `make run`
  does, with XDG_DATA_HOME/XDG_CONFIG_HOME/XDG_CACHE_HOME in a fresh temporary
  folder and CFG setting `[local] interval = 1`, so it takes the collector
  lease and samples this host every second. It starts twice in that folder:
  the first start (a new store) is
  reported on its own; the figures are of the second, an operator's usual start;
- glances: `glances -t 1` from a throwaway venv (/tmp/bench-glances-venv, made
  with pip on first use; never a dependency of this project);
- textual floor: a bare Textual app (one label, Textual's footer) in the same
  venv, for its first screen only: what any Textual app pays before drawing.

- with `--estate`: bridge on a realistic estate instead of the empty config:
  8 devices (copies of bridge/cli/demo_data's recordings on one snmpsim on
  127.0.0.1) polled every 10 s, 20 jobs on varied cron schedules, and 1 000
  events of history seeded in the store before the first start; it holds the
  lease, so it polls and runs the schedule itself;
- with `--estate-reader`: the same estate, with `bridge collect` started
  first and holding the lease, so the console only reads; the collector's
  CPU over the same window is reported apart;
- with `--before DIR`: the same bridge figures for another checkout (DIR with
  its own `.venv`, e.g. a worktree of main), run in every round beside this one,
  so a change's before and after come from the same run.

The pane's shell waits on a FIFO and then execs the program, so the clock
starts at the exec. Figures:

- first screen: seconds from the exec until `tmux capture-pane` (polled every
  20 ms) shows the drawn console: bridge's Health pane with data ("load ") and
  its footer (on the estate also the Health and Schedule panes' titles and the
  device table); glances' CPU and MEM lines with figures;
- CPU: user+system seconds of the process and its descendants (reaped children
  included) over the steady window, the S seconds after the first screen, as
  percent of one core;
- peak RSS: the largest sum of RSS over the process tree, sampled every 100 ms
  from the exec to the end;
- output: bytes the program wrote to the terminal in the steady window, per
  second.

Exits 0 whether or not the targets are met (this is a report), non-zero if a
program failed to start, draw or stay up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
from _terminal import TERM, TMUX, BenchError, Tmux, release, stop_tree, tree_cpu, tree_rss

ROOT = Path(__file__).resolve().parent.parent
BRIDGE = Path(sys.executable).parent / "bridge"
GLANCES_VENV = Path("/tmp/bench-glances-venv")
GLANCES = GLANCES_VENV / "bin" / "glances"

POLL_SCREEN = 0.02  # capture-pane interval until the first screen
POLL_RSS = 0.1  # RSS sampling interval
FIRST_SCREEN_TIMEOUT = 60.0
MB = 1024 * 1024

_GLANCES_CPU = re.compile(r"\bCPU\b.*\d+(\.\d)?%")
_GLANCES_MEM = re.compile(r"\bMEM\b.*\d+(\.\d)?%")


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    env: dict[str, str]
    drawn: Callable[[str], bool]


@dataclass(frozen=True)
class Result:
    name: str
    first_screen: float  # seconds
    startup_cpu: float  # CPU seconds from exec to first screen
    cpu_percent: float  # of one core, over the steady window
    peak_rss_mb: float
    startup_bytes: int  # written before the first screen
    bytes_per_second: float  # in the steady window
    window: float  # seconds actually measured
    beside_cpu_percent: float = 0.0  # of the process beside it (the estate's collector)


def bridge_drawn(screen: str) -> bool:
    lines = screen.rstrip("\n").splitlines()
    footer = lines[-1] if lines else ""
    return "load " in screen and "Quit" in footer


def estate_drawn(screen: str) -> bool:
    """The estate's whole first screen: the host, and the panes around it with their
    titles and the device table. Textual paints it in more than one frame; the
    host's lines alone come before the rest, which would count in the steady window."""
    return bridge_drawn(screen) and all(
        mark in screen for mark in ("3 Health", "2 Schedule", "DEVICE", "JOB")
    )


def glances_drawn(screen: str) -> bool:
    return bool(_GLANCES_CPU.search(screen)) and bool(_GLANCES_MEM.search(screen))


# -- one run -------------------------------------------------------------------------


def run_program(
    program: Program,
    *,
    seconds: float,
    cols: int,
    rows: int,
    work: Path,
    keep: Path | None,
    beside: int | None = None,
) -> Result:
    fifo = work / f"{program.name}.go"
    log = work / f"{program.name}.out"
    for path in (fifo, log):  # from an earlier run of the same program
        path.unlink(missing_ok=True)
    os.mkfifo(fifo)
    log.touch()
    env_args = [f"{k}={v}" for k, v in program.env.items()]
    inner = shlex.join(["env", *env_args, *program.argv])
    command = f"read _ < {shlex.quote(str(fifo))}; exec {inner}"
    server_env = {
        k: v for k, v in os.environ.items() if k not in {"TMUX", "TMUX_PANE", "COLORTERM"}
    }
    server_env["TERM"] = TERM
    tmux = Tmux(f"bench{os.getpid()}{program.name}", server_env)
    session = "bench"
    target = f"{session}:0.0"
    pid: int | None = None
    try:
        tmux.start(session, cols, rows, f"sh -c {shlex.quote(command)}", work / "tmux.conf")
        tmux("pipe-pane", "-o", "-t", target, f"cat >> {shlex.quote(str(log))}")
        size = tmux.pane(target, "#{pane_width}x#{pane_height}")
        if size != f"{cols}x{rows}":
            raise BenchError(f"{program.name}: pane is {size}, not {cols}x{rows}")
        pid = int(tmux.pane(target, "#{pane_pid}"))
        cpu_start = tree_cpu(pid)

        def check_alive() -> None:
            if tmux.pane(target, "#{pane_dead}") == "1":
                status = tmux.pane(target, "#{pane_dead_status}")
                raise BenchError(
                    f"{program.name} exited (status {status or '?'}); last screen:\n"
                    + tmux.capture(target).rstrip()
                )

        release(fifo, check_alive)
        spawned = time.monotonic()

        peak_rss = 0
        last_rss = 0.0

        def sample_rss(now: float) -> None:
            nonlocal peak_rss, last_rss
            if now - last_rss >= POLL_RSS:
                peak_rss = max(peak_rss, tree_rss(pid))
                last_rss = now

        # Until the first full screen.
        screen = ""
        while True:
            now = time.monotonic()
            sample_rss(now)
            screen = tmux.capture(target)
            if program.drawn(screen):
                break
            check_alive()
            if now - spawned > FIRST_SCREEN_TIMEOUT:
                raise BenchError(
                    f"{program.name}: no full screen after {FIRST_SCREEN_TIMEOUT:.0f} s; "
                    f"last screen:\n{screen.rstrip()}"
                )
            time.sleep(POLL_SCREEN)
        first = time.monotonic()
        first_screen = first - spawned
        cpu_first = tree_cpu(pid)
        beside_first = 0.0 if beside is None else tree_cpu(beside)
        bytes_first = log.stat().st_size

        # The steady window.
        end = first + seconds
        while (now := time.monotonic()) < end:
            sample_rss(now)
            time.sleep(min(POLL_RSS, max(0.0, end - now)))
        cpu_end = tree_cpu(pid)
        beside_end = 0.0 if beside is None else tree_cpu(beside)
        stopped = time.monotonic()
        time.sleep(0.05)  # let pipe-pane's cat catch up
        bytes_end = log.stat().st_size
        check_alive()
        final = tmux.capture(target)
        window = stopped - first
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, keep / f"{program.name}.out")
            (keep / f"{program.name}.first.txt").write_text(screen)
            (keep / f"{program.name}.last.txt").write_text(final)
        return Result(
            name=program.name,
            first_screen=first_screen,
            startup_cpu=cpu_first - cpu_start,
            cpu_percent=(cpu_end - cpu_first) / window * 100,
            peak_rss_mb=peak_rss / MB,
            startup_bytes=bytes_first,
            bytes_per_second=(bytes_end - bytes_first) / window,
            window=window,
            beside_cpu_percent=(beside_end - beside_first) / window * 100,
        )
    finally:
        tmux.kill_server()
        if pid is not None:
            stop_tree(pid)


# -- programs ---------------------------------------------------------------------


# --no-events: every condition must hold for a day before it raises, so a busy shared
# machine's CPU does not raise and clear events during the window (each redraws the
# Events pane): the console at idle, as glances is measured.
NO_EVENTS = """
[[rules]]
for = 86400
"""


# --estate: a realistic estate, as an operator's console meets it.
RECORDINGS = ROOT / "bridge" / "cli" / "demo_data"
RESPONDER = Path(sys.executable).with_name("snmpsim-command-responder")
AGENT_READY_S = 30.0
# Eight devices on one snmpsim; each community names its copy of a demo recording.
ESTATE_DEVICES: dict[str, str] = {
    "core-sw1": "core-sw1",
    "core-sw2": "core-sw1",
    "dist-sw1": "dist-sw2",
    "dist-sw2": "dist-sw2",
    "edge-rt1": "edge-rt1",
    "edge-rt2": "edge-rt1",
    "ap-lobby": "ap-lobby",
    "fw-dmz": "fw-dmz",
}
ESTATE_INTERVAL = 10  # seconds between polls of a device
# Twenty jobs: a few due every minute or two (so runs fall late during the window),
# the rest hourly, daily, weekly and monthly, in three zones.
ESTATE_JOBS: tuple[tuple[str, str, str], ...] = (
    ("heartbeat", "* * * * *", "UTC"),
    ("queue-drain", "*/2 * * * *", "UTC"),
    ("cache-warm", "*/5 * * * *", "UTC"),
    ("log-rotate", "*/15 * * * *", "UTC"),
    ("metrics-rollup", "0,30 * * * *", "UTC"),
    ("etl-load", "5 * * * *", "Europe/Paris"),
    ("report-build", "20 */2 * * *", "Europe/Paris"),
    ("archive-sync", "45 */3 * * *", "America/New_York"),
    ("backup-nightly", "30 2 * * *", "Europe/Paris"),
    ("db-vacuum", "0 3 * * *", "UTC"),
    ("cert-check", "0 6 * * *", "UTC"),
    ("invoice-run", "0 7 * * 1-5", "America/New_York"),
    ("payroll-export", "30 18 * * 5", "America/New_York"),
    ("index-rebuild", "0 4 * * 0", "UTC"),
    ("ldap-sync", "10 */4 * * *", "UTC"),
    ("patch-scan", "0 22 * * 2", "Europe/Paris"),
    ("capacity-report", "0 8 1 * *", "UTC"),
    ("dr-drill", "0 10 15 * *", "Europe/Paris"),
    ("audit-export", "0 23 28 * *", "UTC"),
    ("tape-eject", "0 9 * * 1", "America/New_York"),
)
ESTATE_HISTORY = 1000  # events in the store before the console starts


@contextlib.contextmanager
def estate_agent(work: Path) -> Iterator[int]:
    """snmpsim on 127.0.0.1 serving the eight devices; yields its UDP port."""
    if not RESPONDER.exists():
        raise BenchError(f"{RESPONDER} not found: install the project with its demo extra")
    root = work / "snmpsim"
    (root / "data").mkdir(parents=True)
    (root / "cache").mkdir()
    for device, recording in ESTATE_DEVICES.items():
        shutil.copyfile(RECORDINGS / f"{recording}.snmprec", root / "data" / f"{device}.snmprec")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    argv = [
        str(RESPONDER),
        f"--data-dir={root / 'data'}",
        f"--cache-dir={root / 'cache'}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        "--logging-method=null",
    ]
    with (root / "snmpsim.log").open("ab") as out:
        proc = subprocess.Popen(
            argv,
            env=dict(os.environ, SNMPSIM_ALLOW_ROOT="true"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + AGENT_READY_S
        while not any(
            c.laddr and c.laddr.port == port
            for c in psutil.Process(proc.pid).net_connections(kind="udp")
        ):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"snmpsim did not start; see {root / 'snmpsim.log'}")
            time.sleep(0.1)
        yield port
    finally:
        stop_tree(proc.pid)


def estate_config(port: int) -> str:
    lines = []
    for device in ESTATE_DEVICES:
        lines += [
            "[[devices]]",
            f'name = "{device}"',
            'address = "127.0.0.1"',
            f"port = {port}",
            f'community = "{device}"',
            f"interval = {ESTATE_INTERVAL}",
            "",
        ]
    for name, cron, zone in ESTATE_JOBS:
        lines += [
            "[[jobs]]",
            f'name = "{name}"',
            f'schedule = "{cron}"',
            f'timezone = "{zone}"',
            "grace = 60",
            f'owner = "team-{len(name) % 4}"',
            "",
        ]
    return "\n".join(lines)


def seed_estate(store: Path) -> None:
    """A day of history: ESTATE_HISTORY events, acknowledged, all but 2 % resolved."""
    from bridge.core.actions import Action
    from bridge.core.models import EventInput, Severity
    from bridge.store import open_store

    async def seed() -> None:
        severities = (Severity.WARNING, Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
        at = time.time() - 86400.0
        events = [
            EventInput(
                source="snmp" if i % 3 else "job",
                resource=f"host{i // 20:03d}",
                check=f"check{i % 20:02d}",
                severity=severities[i % 4],
                summary=f"history event {i}",
                at=at + i * 60.0,
                value=float(i % 100),
            )
            for i in range(ESTATE_HISTORY)
        ]
        db = await open_store(store)
        try:
            await db.upsert_events(events, actor="seed")
            listed = await db.list_events(include_resolved=True, limit=ESTATE_HISTORY + 1)
            await db.act([e.id for e in listed], Action.ACK, "seed", at + 60.0)
            clears = [
                EventInput(e.source, e.resource, e.check, Severity.OK, "cleared", e.at + 30.0)
                for n, e in enumerate(events)
                if n % 50
            ]
            await db.upsert_events(clears, actor="seed")
        finally:
            await db.close()

    asyncio.run(seed())


@contextlib.contextmanager
def bridge_program(
    work: Path,
    low_bandwidth: bool = False,
    no_events: bool = False,
    checkout: Path = ROOT,
    estate: int | None = None,
    label: str = "",
) -> Iterator[Program]:
    """bridge as `make run` starts it from `checkout` (its .venv); with `estate` (the
    agent's port) on the estate's config and a seeded store."""
    before = checkout != ROOT
    home = work / (
        f"bridge-{label.replace(' ', '-') or 'plain'}-" + ("before-home" if before else "home")
    )
    bridge = checkout / ".venv" / "bin" / "bridge" if before else BRIDGE
    python = checkout / ".venv" / "bin" / "python" if before else Path(sys.executable)
    config = home / "config" / "bridge" / "config.toml"
    config.parent.mkdir(parents=True)
    (home / "data").mkdir()
    (home / "cache").mkdir()
    store = home / "data" / "bridge" / "bridge.db"
    text = f'[store]\npath = "{store}"\n\n[local]\ninterval = 1\n'
    text += NO_EVENTS if no_events else ""
    if estate is not None:
        store.parent.mkdir(parents=True)
        seed_estate(store)
        text += "\n" + estate_config(estate)
    config.write_text(text)
    if not bridge.exists():
        raise BenchError(f"{bridge} not found: run this with the project's venv python")
    # As `make run` does: start from byte-compiled modules even where
    # PYTHONDONTWRITEBYTECODE is set.
    subprocess.run(
        [str(python), "-m", "compileall", "-q", "bridge", "collectors", "themes"],
        cwd=checkout,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    name = "bridge --low-bandwidth" if low_bandwidth else "bridge"
    name += f", {label}" if label else ""
    yield Program(
        name=f"{name} (before)" if before else name,
        argv=[str(bridge), "--config", str(config)]
        + (["--low-bandwidth"] if low_bandwidth else []),
        env={
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
        },
        drawn=bridge_drawn if estate is None else estate_drawn,
    )


@contextlib.contextmanager
def collector(program: Program, work: Path) -> Iterator[int]:
    """`bridge collect` on the program's config, once it holds the lease; yields its pid."""
    config = program.argv[program.argv.index("--config") + 1]
    store = Path(config).parents[2] / "data" / "bridge" / "bridge.db"
    log = work / f"collect-{os.getpid()}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [program.argv[0], "--config", config, "collect"],
            env=dict(os.environ, **program.env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + FIRST_SCREEN_TIMEOUT
        while not holds_lease(store, proc.pid):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"bridge collect did not take the lease; see {log}")
            time.sleep(0.1)
        yield proc.pid
    finally:
        stop_tree(proc.pid)


def holds_lease(store: Path, pid: int) -> bool:
    if not store.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
            # A host's collector lease is `collector:<host>`.
            row = db.execute(
                "SELECT pid, expires_at FROM leases WHERE name LIKE 'collector:%' AND pid = ?",
                (pid,),
            ).fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == pid and row[1] > time.time()


def ensure_glances() -> None:
    if GLANCES.exists():
        return
    print(f"installing glances into {GLANCES_VENV} (once) ...", file=sys.stderr, flush=True)
    python = shutil.which("python3") or "python3"
    for argv in (
        [python, "-m", "venv", str(GLANCES_VENV)],
        [str(GLANCES_VENV / "bin" / "pip"), "install", "--quiet", "glances"],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BenchError(f"{shlex.join(argv)} failed:\n{proc.stderr.strip()}")
    if not GLANCES.exists():
        raise BenchError(f"{GLANCES} missing after pip install")


# The least any Textual app pays for its first screen: one line of text that
# satisfies bridge_drawn, and Textual's own footer.
TEXTUAL_FLOOR_APP = """\
from textual.app import App
from textual.widgets import Footer, Static

class Floor(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self):
        yield Static("load 0.00 0.00 0.00")
        yield Footer()

Floor().run()
"""


def textual_floor_program() -> Program:
    return Program(
        name="textual floor",
        argv=[sys.executable, "-c", TEXTUAL_FLOOR_APP],
        env={},
        drawn=bridge_drawn,
    )


def glances_program(work: Path) -> Program:
    home = work / "glances-home"
    (home / "config").mkdir(parents=True)
    (home / "data").mkdir()
    return Program(
        name="glances",
        argv=[str(GLANCES), "-t", "1"],
        env={
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
        },
        drawn=glances_drawn,
    )


# -- report -----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    metric: str
    bridge: float
    glances: float | None
    fmt: str
    target: str
    passed: Callable[[float, float | None], bool | None]


# (CPU as a multiple of glances, RSS in MB) for each kind of measured console.
LIMITS: dict[str, tuple[float, float]] = {
    "bridge": (0.5, 80.0),  # the empty config: the host alone
    "estate": (1.0, 70.0),  # the estate's lease holder: it polls the devices and runs the jobs
    "estate reader": (0.5, 70.0),  # the estate beside `bridge collect`: it only reads
}


def rows(b: Result, g: Result | None, kind: str = "bridge") -> list[Row]:
    cpu_limit, rss_limit = LIMITS[kind]

    def ratio_at_most(limit: float) -> Callable[[float, float | None], bool | None]:
        return lambda x, y: None if y is None else (x <= y * limit)

    def row(
        metric: str,
        field: str,
        fmt: str,
        target: str,
        passed: Callable[[float, float | None], bool | None],
    ) -> Row:
        theirs = None if g is None else float(getattr(g, field))
        return Row(metric, float(getattr(b, field)), theirs, fmt, target, passed)

    return [
        row("first screen (s)", "first_screen", "{:.2f}", "<= 1.2 x glances", ratio_at_most(1.2)),
        row(
            "CPU (% of one core)",
            "cpu_percent",
            "{:.1f}",
            f"<= {cpu_limit:g} x glances",
            ratio_at_most(cpu_limit),
        ),
        row(
            "peak RSS (MB)",
            "peak_rss_mb",
            "{:.1f}",
            f"<= {rss_limit:g} MB",
            lambda x, _y: x <= rss_limit,
        ),
        row("output (bytes/s)", "bytes_per_second", "{:,.0f}", "<= glances", ratio_at_most(1.0)),
    ]


def report(b: Result, g: Result | None, floor: Result | None = None, kind: str = "bridge") -> None:
    print(f"{b.name}:")
    table = [("metric", "bridge", "glances", "ratio", "target", "result")]
    for row in rows(b, g, kind):
        ratio = (
            "-" if row.glances is None or row.glances == 0 else f"{row.bridge / row.glances:.2f}"
        )
        verdict = row.passed(row.bridge, row.glances)
        table.append(
            (
                row.metric,
                row.fmt.format(row.bridge),
                "-" if row.glances is None else row.fmt.format(row.glances),
                ratio,
                row.target,
                "n/a" if verdict is None else ("pass" if verdict else "FAIL"),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for n, r in enumerate(table):
        cells = [
            r[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(r[1:4], widths[1:4], strict=True)),
        ]
        cells += [r[4].ljust(widths[4]), r[5]]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for res in (b, g):
        if res is not None:
            print(
                f"{res.name}: {res.startup_cpu:.2f} CPU s and {res.startup_bytes:,} bytes "
                f"before the first screen; steady window {res.window:.1f} s"
            )
    if kind == "estate reader" and g is not None and g.cpu_percent > 0:
        print(
            f"bridge collect beside it (holds the lease, polls, runs the jobs): "
            f"{b.beside_cpu_percent:.1f} % of one core = "
            f"{b.beside_cpu_percent / g.cpu_percent:.2f} x glances; console and collector "
            f"together {(b.cpu_percent + b.beside_cpu_percent) / g.cpu_percent:.2f} x glances"
        )
    if floor is not None and g is not None and g.first_screen > 0:
        print(
            f"{floor.name} (a bare Textual app: one label and the footer): first screen "
            f"{floor.first_screen:.2f} s = {floor.first_screen / g.first_screen:.2f} x glances; "
            f"bridge is {b.first_screen - floor.first_screen:+.2f} s above it"
        )


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected COLSxROWS, got {text!r}")
    cols, rows_ = int(match[1]), int(match[2])
    if cols < 20 or rows_ < 10:
        raise argparse.ArgumentTypeError("the terminal must be at least 20x10")
    return cols, rows_


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="steady window after the first screen (20)"
    )
    parser.add_argument(
        "--size", type=parse_size, default=(120, 40), help="terminal COLSxROWS (120x40)"
    )
    parser.add_argument(
        "--only", choices=["bridge"], help="run only bridge, without the glances reference"
    )
    parser.add_argument(
        "--low-bandwidth",
        action="store_true",
        help="run bridge with --low-bandwidth (minute clock, host figures every 10 s)",
    )
    parser.add_argument(
        "--no-events",
        action="store_true",
        help="conditions must hold for a day before raising: no events come and go",
    )
    parser.add_argument(
        "--estate",
        action="store_true",
        help=f"bridge on an estate: {len(ESTATE_DEVICES)} devices on snmpsim every "
        f"{ESTATE_INTERVAL} s, {len(ESTATE_JOBS)} jobs, {ESTATE_HISTORY} events of history; "
        "it holds the lease",
    )
    parser.add_argument(
        "--estate-reader",
        action="store_true",
        help="bridge on the same estate as a reader beside `bridge collect`, which holds "
        "the lease (its CPU is reported apart)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="copy each program's raw terminal output and first/last screens here",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="also measure bridge from this checkout (with its .venv) in every round",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run everything this many times and report each figure's median (1)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    cols, rows_ = args.size

    print(
        f"{cols}x{rows_} tmux pane (TERM={TERM}, tmux {TMUX}), {args.seconds:g} s steady window, "
        f"1 s refresh; {psutil.cpu_count()} cores; Python {sys.version.split()[0]}"
        + (f"; {args.rounds} rounds, medians" if args.rounds > 1 else ""),
        flush=True,
    )
    rounds: list[Round] = []
    try:
        for _ in range(args.rounds):
            rounds.append(one_round(args, cols, rows_))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1

    def median(key: str) -> Result | None:
        results = [r[key] for r in rounds if key in r]
        return median_result(results) if results else None

    g = median("glances")
    for key, kind in (("bridge", "bridge"), ("estate", "estate"), ("reader", "estate reader")):
        b = median(key)
        if b is None:
            continue
        print()
        report(b, g, median("floor") if key == "bridge" else None, kind)
        before = median(f"{key} before")
        if before is not None:
            print()
            report_before(before, b)
        first_start = median(f"{key} first start")
        if first_start is not None:
            print(
                f"{b.name}'s first start (a new store): first screen "
                f"{first_start.first_screen:.2f} s, {first_start.startup_cpu:.2f} CPU s"
            )
        if len(rounds) > 1 and g is not None:
            ratios = ", ".join(
                f"{r[key].cpu_percent / r['glances'].cpu_percent:.2f}"
                for r in rounds
                if key in r and "glances" in r and r["glances"].cpu_percent > 0
            )
            print(f"CPU, {b.name} / glances in each round: {ratios}")
    return 0


Round = dict[str, Result]


def report_before(before: Result, after: Result) -> None:
    """The same figures for the other checkout, measured in the same rounds."""
    print("metric                before    after   after/before")
    fields = [
        ("first screen (s)", "first_screen", "{:.2f}"),
        ("startup CPU (s)", "startup_cpu", "{:.2f}"),
        ("CPU (% of one core)", "cpu_percent", "{:.1f}"),
        ("peak RSS (MB)", "peak_rss_mb", "{:.1f}"),
        ("startup bytes", "startup_bytes", "{:,.0f}"),
        ("output (bytes/s)", "bytes_per_second", "{:,.0f}"),
    ]
    if after.beside_cpu_percent or before.beside_cpu_percent:
        fields.append(("collector CPU (%)", "beside_cpu_percent", "{:.1f}"))
    for label, field, fmt in fields:
        x, y = float(getattr(before, field)), float(getattr(after, field))
        ratio = f"{y / x:.2f}" if x else "-"
        print(f"{label:<20} {fmt.format(x):>8} {fmt.format(y):>8} {ratio:>14}")


def one_round(args: argparse.Namespace, cols: int, rows_: int) -> Round:
    """Each bridge's first and second start (and the other checkout's), then glances,
    then the bare Textual app."""
    out: Round = {}
    with tempfile.TemporaryDirectory(prefix="bridge-bench-console-") as tmp:
        work = Path(tmp)

        def measure(key: str, program: Program, beside: int | None = None) -> None:
            print(f"running {program.name}: {shlex.join(program.argv)}", flush=True)
            # The first start makes the store (or, beside a collector, the console's
            # caches); its end releases the lease, so the second polls as a lone bridge does.
            out[f"{key} first start"] = run_program(
                program, seconds=1.0, cols=cols, rows=rows_, work=work, keep=None, beside=beside
            )
            out[key] = run_program(
                program,
                seconds=args.seconds,
                cols=cols,
                rows=rows_,
                work=work,
                keep=args.keep,
                beside=beside,
            )

        checkouts = [("", ROOT)]
        if args.before is not None:
            checkouts.append((" before", args.before.resolve()))
        estate = contextlib.ExitStack()
        with estate:
            port = None
            if args.estate or args.estate_reader:
                port = estate.enter_context(estate_agent(work))
            for suffix, checkout in checkouts:
                if not (args.estate or args.estate_reader):
                    with bridge_program(
                        work, args.low_bandwidth, args.no_events, checkout
                    ) as program:
                        measure(f"bridge{suffix}", program)
                if args.estate:
                    with bridge_program(
                        work, args.low_bandwidth, False, checkout, port, "estate"
                    ) as program:
                        measure(f"estate{suffix}", program)
                if args.estate_reader:
                    with (
                        bridge_program(
                            work, args.low_bandwidth, False, checkout, port, "estate reader"
                        ) as program,
                        collector(program, work) as pid,
                    ):
                        measure(f"reader{suffix}", program, beside=pid)
        if args.only is not None:
            return out
        ensure_glances()
        program = glances_program(work)
        print(f"running glances: {shlex.join(program.argv)}", flush=True)
        out["glances"] = run_program(
            program, seconds=args.seconds, cols=cols, rows=rows_, work=work, keep=args.keep
        )
        if "bridge" in out:
            program = textual_floor_program()
            print(f"running {program.name}: a bare Textual app", flush=True)
            out["floor"] = run_program(
                program, seconds=2.0, cols=cols, rows=rows_, work=work, keep=None
            )
        return out


def median_result(results: list[Result]) -> Result:
    """Each figure's median over the rounds (a shared machine's noise is large)."""
    numbers = {
        name: type(getattr(results[0], name))(statistics.median(getattr(r, name) for r in results))
        for name in Result.__dataclass_fields__
        if name != "name"
    }
    return Result(name=results[0].name, **numbers)


if __name__ == "__main__":
    raise SystemExit(main())
