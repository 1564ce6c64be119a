"""An app's terminal session ends, so the app ends: on SIGHUP, on SIGTERM, and
when its terminal has hung up without a signal reaching it.

The signal is not always ours. When the terminal goes away, the kernel sends
SIGHUP to the session leader; where that is not `bridge` (`make run` in a tmux
pane, a wrapper script) and the leader dies without passing it on, `bridge`
is left on a hung-up terminal. Textual 8.2 does not notice: its input thread
spins on end-of-file (a whole core), its output thread dies on the first EIO,
and ~30 frames later the event loop blocks for good on the full output queue,
where not even SIGTERM is handled; the poller's lease lapses by itself, but
the process never ends. A cheap check once a second (one ioctl) finds the
hang-up long before that, and the app ends as on SIGHUP: lease released,
store closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from textual.app import App

__all__ = ["CHECK_EVERY_S", "end_with_the_terminal", "terminal_lost"]

log = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0


def terminal_lost(fd: int) -> bool:
    """Whether the terminal on `fd` has hung up.

    Every ioctl on a hung-up terminal fails with EIO; asking for its foreground
    process group is one that changes nothing and needs no permission.
    """
    try:
        os.tcgetpgrp(fd)
    except OSError:
        return True
    return False


def _terminal_fd() -> int | None:
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # closed, or not a real file
        return None
    return fd if os.isatty(fd) else None


def end_with_the_terminal(app: App[Any], check_every: float = CHECK_EVERY_S) -> None:
    """Exit `app` cleanly when its session ends; call from its on_mount."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGHUP, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, app.exit)
    fd = None if app.is_headless else _terminal_fd()
    if fd is None:  # tests (headless) or no terminal to lose
        return

    def check() -> None:
        if terminal_lost(fd):
            timer.stop()
            log.warning("the terminal has hung up; exiting")
            app.exit()

    timer = app.set_interval(check_every, check, name="terminal-watch")
