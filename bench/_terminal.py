"""Shared by the terminal benchmarks: a private tmux server, and a process tree's cost.

Not a benchmark itself (the leading underscore keeps `make bench` from running it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

__all__ = [
    "TERM",
    "TMUX",
    "BenchError",
    "Tmux",
    "release",
    "stop_tree",
    "tree",
    "tree_cpu",
    "tree_rss",
]

TMUX = shutil.which("tmux") or "/usr/bin/tmux"
TERM = "tmux-256color"


class BenchError(RuntimeError):
    """A program failed to start, draw or stay up."""


class Tmux:
    """A private tmux server on its own socket; nothing else is touched."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env
        self.started = False

    def __call__(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            [TMUX, "-L", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise BenchError(f"tmux {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def start(self, session: str, cols: int, rows: int, command: str, conf: Path) -> None:
        # Options go in the config file: the pane gets TERM from default-terminal
        # when it is created, so they must be set before new-session.
        conf.write_text(
            f"set -g default-terminal {TERM}\nset -g remain-on-exit on\nset -g status off\n"
        )
        self.started = True
        size = ["-x", str(cols), "-y", str(rows)]
        self("-f", str(conf), "new-session", "-d", "-s", session, *size, command)

    def capture(self, target: str) -> str:
        return self("capture-pane", "-p", "-t", target)

    def pane(self, target: str, fmt: str) -> str:
        return self("display-message", "-p", "-t", target, fmt).strip()

    @property
    def socket_path(self) -> Path:
        tmpdir = self.env.get("TMUX_TMPDIR") or "/tmp"
        return Path(tmpdir) / f"tmux-{os.getuid()}" / self.socket

    def kill_server(self) -> None:
        if self.started:
            self("kill-server", check=False)
            self.socket_path.unlink(missing_ok=True)  # tmux leaves it behind
            self.started = False


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_cpu(pid: int) -> float:
    """CPU seconds of the tree: every live process plus the children it has reaped."""
    total = 0.0
    for proc in tree(pid):
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def tree_rss(pid: int) -> int:
    total = 0
    for proc in tree(pid):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def stop_tree(pid: int) -> None:
    """Make sure the program and anything it started are gone (by pid, nothing else)."""
    procs = tree(pid)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _gone, alive = psutil.wait_procs(procs, timeout=3)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def release(fifo: Path, check_alive: Callable[[], None], timeout: float = 10.0) -> None:
    """Write to the FIFO the pane's shell waits on, so it execs the program
    (a pane started as `read _ < FIFO; exec PROGRAM` waits for this)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: the shell is not reading yet
            check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"the pane never read {fifo}") from None
            time.sleep(0.005)
            continue
        try:
            os.write(fd, b"go\n")
        finally:
            os.close(fd)
        return
