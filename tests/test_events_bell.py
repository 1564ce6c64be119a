"""The bell as a terminal gets it: the real console in a pseudo-terminal, an event
raised by another CLI run, and the bytes that come back."""

from __future__ import annotations

import asyncio
import re
import time

from conftest import Isolated, run_bridge
from pty_term import PtyApp
from seed import seed_store

_OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")  # BEL also ends OSC sequences


def test_a_new_critical_rings_the_terminal_bell(isolated: Isolated) -> None:
    """What a background tmux window or an SSH tab gets: a BEL of its own."""
    db = isolated.root / "bridge.db"
    asyncio.run(seed_store(db))
    cfg = isolated.write_config(f'[store]\npath = "{db}"\n')
    env = {**isolated.env, "TERM": "xterm-256color"}
    args = ["--config", str(cfg), "console", "--no-collect"]
    # A controlling terminal: the console outlives the CLI run that raises the event.
    term = PtyApp(args, env, isolated.root, controlling=True)
    try:
        term.read_until(b"CRITICAL", 20)
        term.drain(0.5)
        assert b"\x07" not in _OSC.sub(b"", term.output)  # the critical there at start: none
        raised = run_bridge(
            isolated, "--config", str(cfg), "events", "raise", "--severity", "critical",
            "--resource", "fw-dmz", "--check", "reach", "--summary", "fw-dmz unreachable",
        )  # fmt: skip
        assert raised.returncode == 0, raised.stderr
        deadline = time.monotonic() + 10
        while b"\x07" not in _OSC.sub(b"", term.output) and time.monotonic() < deadline:
            term.drain(0.2)
        assert b"\x07" in _OSC.sub(b"", term.output), "no bell"
        term.press("q")
        assert term.wait(15) == 0
    finally:
        term.close()
