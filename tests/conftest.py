"""Shared fixtures: an isolated environment for the real CLI, and subprocesses
that are always killed in teardown, whatever the test did."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pg_server import PgServer, start_pg_server

from bridge.store import Store, open_store

if TYPE_CHECKING:
    from textual.app import App
    from textual.pilot import Pilot

REPO = Path(__file__).resolve().parent.parent

# Generous bound for one short CLI run; a hang fails the test instead of the suite.
CLI_TIMEOUT = 30.0


@dataclass(frozen=True)
class Isolated:
    """A home for one test: XDG dirs inside tmp_path and an env for subprocesses."""

    root: Path
    env: dict[str, str]

    @property
    def config_home(self) -> Path:
        return self.root / "config"

    @property
    def data_home(self) -> Path:
        return self.root / "data"

    def write_config(self, text: str, name: str = "config.toml") -> Path:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture(autouse=True)
def _display_zone() -> Iterator[None]:
    """Each test starts with times shown in local time, whatever the last one chose."""
    from bridge.core.timefmt import use_display_zone

    use_display_zone("local")
    yield
    use_display_zone("local")


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Isolated:
    """Point XDG (and nothing else) into tmp_path, in this process and for children."""
    config_home = tmp_path / "config"
    data_home = tmp_path / "data"
    config_home.mkdir()
    data_home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env.update(
        XDG_CONFIG_HOME=str(config_home),
        XDG_DATA_HOME=str(data_home),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        BRIDGE_OPERATOR="tester",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
    )
    for key in [k for k in os.environ if k.startswith("BRIDGE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return Isolated(root=tmp_path, env=env)


def run_bridge(
    isolated: Isolated, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (`python -m bridge ...`) to completion, bounded in time."""
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        env=env if env is not None else isolated.env,
        cwd=isolated.root,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    """A user's mistake: exit 2 and exactly one 'bridge: ...' line naming `parts`."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bridge: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]


def config_errors(isolated: Isolated, text: str) -> list[str]:
    """`check-config` on a bad config: exit 2, no traceback, and every stderr line
    `bridge: <path>: ...`; returns the lines with that prefix cut off."""
    path = isolated.write_config(text)
    result = run_bridge(isolated, "--config", str(path), "check-config")
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith(f"bridge: {path}: ") for line in lines), lines
    return [line.removeprefix(f"bridge: {path}: ") for line in lines]


def seeded_config(
    isolated: Isolated, seed: Callable[[Store], Awaitable[None]], template: str
) -> Path:
    """A store file filled by `seed`, and a config (`template` with `{db}`) that uses it,
    for tests that run the CLI against known data."""
    db = isolated.root / "bridge.db"

    async def go() -> None:
        store = await open_store(db)
        try:
            await seed(store)
        finally:
            await store.close()

    asyncio.run(go())
    return isolated.write_config(template.format(db=db))


class Processes:
    """Starts subprocesses and guarantees each is dead after the test."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[str]] = []

    def start(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        cwd: Path | None = None,
        log: Path | None = None,
    ) -> subprocess.Popen[str]:
        """Start `argv`; output goes to pipes, or to the file `log` for long-running ones
        (so a chatty child can never block on a full pipe)."""
        if log is None:
            proc = subprocess.Popen(
                list(argv),
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        else:
            with log.open("w") as out:
                proc = subprocess.Popen(
                    list(argv),
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
        self._procs.append(proc)
        return proc

    def bridge(
        self, isolated: Isolated, *args: str, log: Path | None = None
    ) -> subprocess.Popen[str]:
        return self.start(
            [sys.executable, "-m", "bridge", *args], isolated.env, isolated.root, log=log
        )

    def kill_all(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
                proc.communicate(timeout=10)


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.kill_all()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(tmp_path / "store" / "bridge.db")
    try:
        yield s
    finally:
        await s.close()


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    within: float,
    interval: float = 0.05,
    what: str = "condition",
) -> float:
    """Poll `condition` until it holds; return the seconds it took. Fails after `within` s."""
    start = time.monotonic()
    deadline = start + within
    while True:
        if await condition():
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(interval)


def settled(pilot: Pilot[Any], condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """A wait_until condition that lets the app process messages between checks."""

    async def check() -> bool:
        await pilot.pause()
        return condition()

    return check


def screen_text(app: App[Any]) -> str:
    """The text of every widget on the current screen, each as it draws its lines
    (Widget.render_line), in the screen's order: for finding what is shown."""
    return "\n".join(
        widget.render_line(y).text
        for widget in app.screen.query("*")
        if widget.display and widget.size.area
        for y in range(widget.size.height)
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server for the session (tests/pg_server.py)."""
    server = start_pg_server()
    if isinstance(server, str):
        pytest.skip(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server, dropped afterwards."""
    name = pg_server.database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop(name)
