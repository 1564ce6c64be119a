"""An app's terminal session ends, so the app ends: when its terminal hangs up
(with or without a SIGHUP reaching it), on SIGHUP, and on SIGTERM, within a
bound, whatever state it is in.

Three things stood in the way, all seen with Textual 8.2:

- On a hang-up the kernel sends the session leader SIGHUP *and SIGCONT*, and
  Textual's SIGCONT handler (there to come back from Ctrl+Z) starts application
  mode again on the dead terminal: a second output thread that dies on the first
  EIO, and a second input thread that spins on end-of-file. The exit then writes
  some 30 escape sequences into the dead thread's queue, which holds 30: one
  more and the event loop blocks for good in `Queue.put`, where not even
  SIGTERM is handled (the loop never runs again), and an input thread left
  spinning keeps the interpreter from exiting.
- Without the extra threads, the app's own output thread still dies on the
  first write after the hang-up, with the same end ~30 frames later.
- When the terminal is alive but stops reading (a stalled link), the output
  thread blocks in `write`, and the event loop then blocks on its full queue;
  asyncio's signal handlers run on that loop, so SIGTERM did nothing.

So a watcher thread waits in poll() on the terminal for POLLHUP, which comes at
once and costs nothing while it waits. On a hang-up it points the process's
terminal descriptors at /dev/null, so every later write succeeds at once, and
asks the app to exit; a SIGCONT on a dead terminal, or once the app is ending,
resumes nothing. SIGHUP and SIGTERM are handled by a plain signal handler,
which runs even while the event loop is blocked, and only wakes the watcher. If the app has not ended within its bound, the watcher
gives the lease up (`on_forced_exit`) and ends the process with `os._exit`.

A terminal that is not the session's controlling terminal (a pty handed to a
child without `TIOCSCTTY`) answers `tcgetpgrp` with ENOTTY: that is no hang-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from textual.app import App

__all__ = ["HANGUP_BOUND_S", "TERM_BOUND_S", "TerminalWatch", "end_with_the_terminal", "hung_up"]

log = logging.getLogger(__name__)

# How long the app has to end by itself, with the lease released and the store
# closed, before the process is ended for it (the lease given up first).
HANGUP_BOUND_S = 1.2  # after its terminal hung up, or SIGHUP
TERM_BOUND_S = 4.0  # after SIGTERM: a service stop waits longer for a clean end

LOG_WAIT_S = 0.2  # for a log line, when the process is to be ended by force

_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL


def hung_up(fd: int) -> bool:
    """Whether the terminal on `fd` has hung up (or `fd` is no longer open).

    A hung-up terminal reports POLLHUP whatever is asked of it; a live one,
    asked for nothing, reports nothing.
    """
    poller = select.poll()
    poller.register(fd, 0)
    return any(mask & _GONE for _, mask in poller.poll(0))


def _terminal_fd() -> int | None:
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # closed, or not a real file
        return None
    return fd if os.isatty(fd) else None


def _device(fd: int) -> int | None:
    """The terminal device `fd` is open on, if it is one (a hung-up one still answers)."""
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_rdev if stat.S_ISCHR(st.st_mode) else None


class TerminalWatch:
    """Ends `app` when its terminal or its session ends; see the module's docstring.

    Start it from the app's on_mount, on the event loop's (the main) thread,
    after Textual's driver has installed its own signal handlers. It lasts as
    long as the process.
    """

    def __init__(
        self,
        app: App[Any],
        *,
        on_forced_exit: Callable[[], None] | None = None,
        hangup_bound: float = HANGUP_BOUND_S,
        term_bound: float = TERM_BOUND_S,
    ) -> None:
        self._app = app
        self._loop = asyncio.get_running_loop()
        self._on_forced_exit = on_forced_exit
        self._bounds = {signal.SIGHUP: hangup_bound, signal.SIGTERM: term_bound}
        self._lost = False
        self._deadline: float | None = None
        self._why = ""
        self._code = 0
        # A signal handler only writes the signal's number here: it cannot block
        # or take a lock, wherever the main thread was interrupted.
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        fd = _terminal_fd()
        # Watched through a descriptor of our own, so pointing 0-2 elsewhere
        # does not change what is watched.
        self._tty = None if fd is None else os.dup(fd)
        self._tty_device = None if fd is None else _device(fd)
        self._resume = signal.getsignal(signal.SIGCONT)
        for sig in self._bounds:
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGCONT, self._on_cont)
        self._thread = threading.Thread(target=self._watch, name="terminal-watch", daemon=True)
        self._thread.start()

    # -- in the main thread, as signal handlers --------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):  # a full pipe already holds a wake-up
            os.write(self._wake_w, bytes([signum]))

    def _on_cont(self, signum: int, frame: FrameType | None) -> None:
        """Pass SIGCONT on to Textual (back from Ctrl+Z) unless the terminal is gone
        or the app is ending: then there is no application mode to resume."""
        if self._lost or self._deadline is not None:
            return
        if self._tty is not None and hung_up(self._tty):
            return
        if callable(self._resume):
            self._resume(signum, frame)

    # -- in the watcher thread ----------------------------------------------------------
    def _watch(self) -> None:
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        if self._tty is not None:
            poller.register(self._tty, 0)  # POLLHUP and POLLERR are always reported
        while True:
            wait = None if self._deadline is None else max(0.0, self._deadline - time.monotonic())
            for fd, mask in poller.poll(None if wait is None else wait * 1000):
                if fd == self._tty and mask & _GONE:
                    poller.unregister(fd)
                    self._hung_up()
                elif fd == self._wake_r:
                    for signum in os.read(self._wake_r, 64):
                        name = signal.Signals(signum).name
                        self._end(self._bounds[signal.Signals(signum)], name, 128 + signum)
            if self._deadline is not None and time.monotonic() >= self._deadline:
                self._force_exit()

    def _hung_up(self) -> None:
        self._lost = True
        self._let_go_of_the_terminal()
        log.warning("the terminal has hung up; exiting")
        self._end(self._bounds[signal.SIGHUP], "its terminal hung up", 128 + signal.SIGHUP)

    def _let_go_of_the_terminal(self) -> None:
        """Point the process's descriptors on the dead terminal at /dev/null: Textual's
        writes then succeed at once, and its reads end as they did on the dead
        terminal. (Not a pipe that never has data: the input thread may be between
        its select, on the terminal, and its read, which would then wait for ever.)"""
        null = os.open(os.devnull, os.O_RDWR)
        try:
            for fd in (0, 1, 2):
                if self._tty_device is not None and _device(fd) == self._tty_device:
                    os.dup2(null, fd)
        finally:
            os.close(null)

    def _end(self, bound: float, why: str, code: int) -> None:
        deadline = time.monotonic() + bound
        if self._deadline is None or deadline < self._deadline:
            self._deadline, self._why, self._code = deadline, why, code
        with contextlib.suppress(RuntimeError):  # the loop has closed: the app is done
            self._loop.call_soon_threadsafe(self._app.exit)

    def _force_exit(self) -> None:
        _warn("still running after %s; ending the process", self._why)
        if self._on_forced_exit is not None:
            try:
                self._on_forced_exit()
            except Exception as exc:
                _warn("could not clean up before ending: %s: %s", type(exc).__name__, exc)
        os._exit(self._code)


def _warn(message: str, *args: object) -> None:
    """Log, but wait for it only briefly: the log may be the stalled terminal itself
    (the wall logs to stderr), and a process that must end cannot wait on that."""
    writer = threading.Thread(target=log.warning, args=(message, *args), daemon=True)
    writer.start()
    writer.join(LOG_WAIT_S)


def end_with_the_terminal(
    app: App[Any], on_forced_exit: Callable[[], None] | None = None
) -> TerminalWatch | None:
    """Exit `app` cleanly when its session ends; call from its on_mount.

    `on_forced_exit` runs in another thread just before the process is ended
    for an app that did not end within its bound: it must not need the event
    loop, which may be the thing that is stuck.
    """
    if app.is_headless:  # tests: no terminal to lose, and no process to end
        return None
    return TerminalWatch(app, on_forced_exit=on_forced_exit)
