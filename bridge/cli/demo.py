"""`bridge demo`: a small estate to try everything on, with one command.

In a temporary folder it writes a config and starts:

- SNMP agents (snmpsim, on 127.0.0.1 free ports) serving the recordings in
  bridge/demo_data: three steady devices, one that flaps (its agent is stopped
  and started every `flap_every` seconds) and one that dies (its agent is
  killed after `die_after` seconds);
- a driver thread that runs the sample schedule's jobs through `bridge job run`
  with real short commands: one succeeds, one fails, one starts late, and one is
  blocked behind the failing one;
- the console on it (or, with `--no-console`, the collector alone for
  `--seconds`, which is how the tests run it).

However it ends (q, SIGTERM, SIGHUP, Ctrl+C, an error) every process it started
is killed and the folder removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from bridge.cli.support import fail
from bridge.config.file import load_config
from bridge.core.clock import SystemClock
from bridge.core.models import EventInput, Severity
from bridge.store import open_store

__all__ = ["Demo", "run_demo"]

log = logging.getLogger(__name__)

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
RESPONDER = Path(sys.executable).with_name("snmpsim-command-responder")
AGENT_READY_S = 30.0

# Which recordings each agent serves: one agent per behaviour.
AGENTS: dict[str, tuple[str, ...]] = {
    "steady": ("core-sw1", "dist-sw2", "edge-rt1"),
    "flapping": ("ap-lobby",),
    "dying": ("fw-dmz",),
}

# The sample schedule: (name, cron, grace s, depends_on, owner, runbook).
JOBS: tuple[tuple[str, str, int, tuple[str, ...], str, str], ...] = (
    (
        "backup-nightly",
        "* * * * *",
        30,
        (),
        "dba",
        "Check the backup log; rerun with `make backup`.",
    ),
    (
        "etl-load",
        "* * * * *",
        30,
        (),
        "data-eng",
        "ORA-01555: rerun off-peak; raise undo retention.",
    ),
    (
        "report-build",
        "*/2 * * * *",
        20,
        (),
        "finance-ops",
        "Starts late when the ETL window overruns.",
    ),
    (
        "archive-sync",
        "*/2 * * * *",
        30,
        ("etl-load",),
        "storage",
        "Runs only after etl-load succeeds.",
    ),
)
# What the driver runs for each job, and how many seconds after the minute it starts.
COMMANDS: dict[str, tuple[float, str]] = {
    "backup-nightly": (3, "echo backing up; sleep 4; echo 12 GB written"),
    "etl-load": (5, "echo loading; sleep 2; echo 'ORA-01555: snapshot too old' >&2; exit 3"),
    "report-build": (45, "echo building; sleep 3; echo report ready"),
}

SAMPLE_EVENTS = (
    EventInput("http", "shop.example.net", "http", Severity.WARNING, "slow: 2.4 s (limit 1 s)", 0),
    EventInput(
        "http", "api.example.net", "tls", Severity.MINOR, "certificate expires in 9 days", 0
    ),
    EventInput("trap", "ups-2", "upsOnBattery", Severity.MAJOR, "UPS on battery (mains lost)", 0),
)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Agent:
    name: str
    devices: tuple[str, ...]
    root: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Demo:
    root: Path
    flap_every: float = 15.0
    die_after: float = 60.0
    agents: dict[str, Agent] = field(default_factory=dict)
    jobs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    config_path: Path | None = None
    started_at: float = 0.0
    _ran: set[tuple[str, int]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: bool = False

    # -- set-up ----------------------------------------------------------------
    def start(self) -> Path:
        if not RESPONDER.exists():
            raise DemoError(
                "snmpsim is not installed: run `make demo`, or pip install 'bridge-console[demo]'"
            )
        self.started_at = time.monotonic()
        for name, devices in AGENTS.items():
            agent = Agent(name, devices, self.root / "agents" / name)
            (agent.root / "data").mkdir(parents=True)
            (agent.root / "cache").mkdir()
            for device in devices:
                shutil.copy(DEMO_DATA / f"{device}.snmprec", agent.root / "data")
            agent.port = free_udp_port()
            self.agents[name] = agent
            self._start_agent(agent)
        for agent in self.agents.values():
            self._wait_ready(agent)
        self.config_path = self._write_config()
        return self.config_path

    def _start_agent(self, agent: Agent) -> None:
        argv = [
            str(RESPONDER),
            f"--data-dir={agent.root / 'data'}",
            f"--cache-dir={agent.root / 'cache'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{agent.port}",
            "--logging-method=null",
        ]
        with (agent.root / "snmpsim.log").open("ab") as out:
            agent.proc = subprocess.Popen(
                argv,
                env=dict(os.environ, SNMPSIM_ALLOW_ROOT="true"),
                cwd=agent.root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # a Ctrl+C in the terminal is ours to handle
            )

    def _wait_ready(self, agent: Agent) -> None:
        """Until the agent has bound its UDP port (so the first polls do not all fail)."""
        import psutil

        assert agent.proc is not None
        deadline = time.monotonic() + AGENT_READY_S
        while time.monotonic() < deadline:
            if agent.proc.poll() is not None:
                raise DemoError(f"snmpsim for {agent.name} exited; see {agent.root}/snmpsim.log")
            with contextlib.suppress(psutil.Error):
                conns = psutil.Process(agent.proc.pid).net_connections(kind="udp")
                if any(c.laddr and c.laddr.port == agent.port for c in conns):
                    return
            time.sleep(0.1)
        raise DemoError(f"snmpsim for {agent.name} did not start within {AGENT_READY_S:g} s")

    def _write_config(self) -> Path:
        lines = [
            "# Written by `bridge demo`; removed when the demo ends.",
            "[store]",
            f'path = "{self.root / "bridge.db"}"',
            "",
            "[local]",
            "interval = 2",
            "",
        ]
        for agent in self.agents.values():
            for device in agent.devices:
                lines += [
                    "[[devices]]",
                    f'name = "{device}"',
                    'address = "127.0.0.1"',
                    f"port = {agent.port}",
                    f'community = "{device}"',
                    "interval = 5",
                    "timeout = 1",
                    "retries = 0",
                    "",
                ]
        for name, cron, grace, deps, owner, runbook in JOBS:
            lines += [
                "[[jobs]]",
                f'name = "{name}"',
                f'schedule = "{cron}"',
                f"grace = {grace}",
                f"depends_on = {json.dumps(list(deps))}",
                f'owner = "{owner}"',
                f'runbook = "{runbook}"',
                "",
            ]
        path = self.root / "config.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    # -- the driver ------------------------------------------------------------
    def tick(self, now: float) -> None:
        """One step of the estate's life; called about every second."""
        with self._lock:
            if self.stopped:
                return
            age = time.monotonic() - self.started_at
            dying = self.agents.get("dying")
            if dying is not None and dying.running and age >= self.die_after:
                _kill(dying.proc)
            flapping = self.agents.get("flapping")
            if flapping is not None:
                up = int(age // self.flap_every) % 2 == 0
                if up and not flapping.running:
                    self._start_agent(flapping)
                elif not up and flapping.running:
                    _kill(flapping.proc)
            minute = int(now // 60)
            second = now - minute * 60
            for name, (offset, command) in COMMANDS.items():
                every = 2 if name == "report-build" else 1
                if minute % every == 0 and second >= offset and (name, minute) not in self._ran:
                    self._ran.add((name, minute))
                    if second < offset + 10:  # never a burst of catch-up runs
                        self._run_job(name, command)
            self.jobs = [p for p in self.jobs if p.poll() is None]

    def _run_job(self, name: str, command: str) -> None:
        assert self.config_path is not None
        argv = [sys.executable, "-m", "bridge", "--config", str(self.config_path),
                "job", "run", name, "--", "sh", "-c", command]  # fmt: skip
        self.jobs.append(
            subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dict(os.environ, BRIDGE_OPERATOR="cron"),
                start_new_session=True,
            )
        )

    def pids(self) -> list[int]:
        with self._lock:
            procs = [a.proc for a in self.agents.values() if a.proc is not None] + self.jobs
            return [p.pid for p in procs if p.poll() is None]

    def stop(self) -> None:
        """Kill every process the demo started: all signalled first, then reaped.

        It does not wait for the driver's lock: on a loaded machine a driver step
        can hold it for seconds, and quitting must not. The flag stops the driver
        from starting anything new; a second call catches what a step in flight
        started meanwhile."""
        self.stopped = True
        procs = [a.proc for a in list(self.agents.values()) if a.proc is not None]
        procs += list(self.jobs)
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


class DemoError(Exception):
    """The demo cannot start; one line for the user."""


def _kill(proc: subprocess.Popen[bytes] | None) -> None:
    """Kill the process and its session (a job's shell and its children too), and reap it."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


async def _seed(db: Path) -> None:
    store = await open_store(db)
    try:
        now = time.time()
        events = [
            EventInput(e.source, e.resource, e.check, e.severity, e.summary, now - 90 * (i + 1))
            for i, e in enumerate(SAMPLE_EVENTS)
        ]
        await store.upsert_events(events, actor="demo")
    finally:
        await store.close()


async def _collect_for(config_path: Path, seconds: float) -> None:
    """The collector alone, for `seconds` or until SIGTERM/SIGHUP/SIGINT."""
    from bridge.runtime.poller import Poller

    config, _ = load_config(str(config_path))
    store = await open_store(config.store.resolved_url())
    poller = Poller(store, config, SystemClock())
    task = asyncio.create_task(poller.run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("demo: running", flush=True)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _driver(demo: Demo) -> Iterator[None]:
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                demo.tick(time.time())
            except Exception:  # one bad step must not end the estate's life
                log.exception("demo driver step failed")
            stop.wait(1.0)

    thread = threading.Thread(target=loop, name="demo-driver", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        demo.stop()  # at once: the driver may be in a step that takes a while
        thread.join(timeout=10)
        demo.stop()


def run_demo(args: argparse.Namespace) -> int:
    # Until the console installs its own handlers, a signal still leads to the clean-up.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    root = Path(tempfile.mkdtemp(prefix="bridge-demo-"))
    demo = Demo(root, flap_every=args.flap_every, die_after=args.die_after)
    try:
        try:
            config_path = demo.start()
        except DemoError as exc:
            return fail(f"demo: {exc}")
        asyncio.run(_seed(root / "bridge.db"))
        # Printed before the console takes the screen, and seen again after it:
        # `bridge --config FOLDER/config.toml wall` opens the wall on the same estate.
        print(f"demo: folder {root}", flush=True)
        for agent in demo.agents.values():
            assert agent.proc is not None
            print(f"demo: snmpsim {agent.name} pid {agent.proc.pid} on 127.0.0.1:{agent.port} "
                f"serving {', '.join(agent.devices)}", flush=True)  # fmt: skip
        with _driver(demo):
            if args.no_console:
                asyncio.run(_collect_for(config_path, args.seconds))
            else:
                # Collector warnings (the dying device) go to a file, not over the screen.
                root_log = logging.getLogger()
                for handler in list(root_log.handlers):
                    root_log.removeHandler(handler)
                root_log.addHandler(logging.FileHandler(root / "demo.log"))
                from bridge.core.identity import operator_name
                from bridge.ui.app import run_console

                config, _ = load_config(str(config_path))
                run_console(config, operator=operator_name(args.operator, None))
        return 0
    finally:
        # A second Ctrl+C or SIGTERM must not cut the clean-up short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        demo.stop()
        shutil.rmtree(root, ignore_errors=True)
        print(f"demo: stopped; removed {root}", flush=True)
