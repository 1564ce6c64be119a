"""The real `bridge` CLI in a pseudo-terminal: the bytes it writes, as an SSH client gets them."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

__all__ = ["PtyApp"]


def _take_as_controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyApp:
    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        cwd: Path,
        size: tuple[int, int] = (80, 24),
        *,
        under_shell: bool = False,
        controlling: bool = False,
    ) -> None:
        """With `under_shell`, a shell that does not exec it leads the terminal's
        session, as `make run` does in a tmux pane: a hang-up's SIGHUP goes to
        the shell, not to bridge.

        With `controlling`, the pty is the session's controlling terminal, as a
        terminal emulator's, tmux's or sshd's is: closing the master then sends
        the session leader SIGHUP and SIGCONT. Without it the session has no
        controlling terminal, so a hang-up comes with no signal at all (and
        `os.tcgetpgrp` fails with ENOTTY while the terminal is fine)."""
        self.master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        argv = [sys.executable, "-m", "bridge", *args]
        if under_shell:
            argv = ["sh", "-c", '"$@"; exit $?', "sh", *argv]
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
            # After the new session's setsid(): fd 0 is the slave by then.
            preexec_fn=_take_as_controlling_terminal if controlling else None,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, needle: bytes, within: float) -> bytes:
        """Read output until `needle` appears after what was read so far; fail after `within` s."""
        start = len(self.output)
        deadline = time.monotonic() + within
        while needle not in self.output[start:]:
            left = deadline - time.monotonic()
            if left <= 0:
                tail = self.output[-400:]
                raise AssertionError(f"no {needle!r} within {within:g} s; last output: {tail!r}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        return self.output[start:]

    def wait_for(self, needle: bytes, within: float) -> None:
        """Until `needle` has appeared anywhere in the output so far."""
        if needle not in self.output:
            self.read_until(needle, within)

    def drain(self, seconds: float) -> bytes:
        """Everything written in the next `seconds` (a bounded read, not a sync point)."""
        start = len(self.output)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    break
        return self.output[start:]

    def hang_up(self) -> None:
        """Close the terminal, as a killed tmux pane or a dropped SSH link does."""
        os.close(self.master)
        self.master = -1

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait(self, within: float) -> int:
        if self.master < 0:  # hung up: nothing left to drain
            return self.proc.wait(timeout=within)
        deadline = time.monotonic() + within
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.drain(0.1)  # keep the terminal from filling while it shuts down
        return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))

    def close(self) -> None:
        """SIGTERM first, so a program that cleans up (the demo's children) can; then kill."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=10)
        if self.master >= 0:
            with contextlib.suppress(OSError):
                os.close(self.master)
