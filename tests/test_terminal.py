"""SSH-grade rendering: 16 and 256 colours, monochrome, low bandwidth, OSC 52 copy.

The colour tests run the real CLI in a pseudo-terminal and read the escape
sequences it writes, which is what an SSH client receives.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Isolated, settled, wait_until
from pty_term import PtyApp
from seed import make_app, seed_store

from bridge.config.file import Config
from bridge.core.models import Change
from bridge.ui.display import LOW_BW_EVENTS_S, SampleThrottle
from bridge.ui.panes.events import EventDetailsScreen, EventsPane
from bridge.ui.widgets.header import BridgeHeader
from bridge.ui.widgets.header import header_text as bridge_header_text

_SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def colours(output: bytes) -> set[tuple[str, tuple[int, ...]]]:
    """Every colour an SGR sequence set: ('16', (n,)), ('256', (n,)) or ('rgb', (r, g, b))."""
    found: set[tuple[str, tuple[int, ...]]] = set()
    for match in _SGR.finditer(output):
        params = [int(p) if p else 0 for p in match.group(1).split(b";")]
        i = 0
        while i < len(params):
            p = params[i]
            if p in (38, 48) and i + 1 < len(params):
                if params[i + 1] == 5:
                    found.add(("256", (params[i + 2],)))
                    i += 3
                    continue
                if params[i + 1] == 2:
                    found.add(("rgb", tuple(params[i + 2 : i + 5])))
                    i += 5
                    continue
            if 30 <= p <= 37 or 40 <= p <= 47 or 90 <= p <= 97 or 100 <= p <= 107:
                found.add(("16", (p,)))
            i += 1
    return found


@pytest.fixture
def console_env(isolated: Isolated) -> Iterator[tuple[Isolated, Path]]:
    db = isolated.root / "bridge.db"
    asyncio.run(seed_store(db))
    cfg = isolated.write_config(f'[store]\npath = "{db}"\n')
    yield isolated, cfg


def run_console(
    console_env: tuple[Isolated, Path], extra_env: dict[str, str], *args: str
) -> PtyApp:
    isolated, cfg = console_env
    env = {**isolated.env, "TERM": "xterm-256color", **extra_env}
    env.pop("NO_COLOR", None) if "NO_COLOR" not in extra_env else None
    return PtyApp(["--config", str(cfg), *args, "console", "--no-collect"], env, isolated.root)


@pytest.mark.parametrize(
    ("system", "allowed"), [("standard", {"16"}), ("256", {"16", "256"})], ids=["16", "256"]
)
def test_colour_systems(console_env: tuple[Isolated, Path], system: str, allowed: set[str]) -> None:
    term = run_console(console_env, {"TEXTUAL_COLOR_SYSTEM": system})
    try:
        term.read_until(b"CRITICAL", 20)
        term.drain(0.3)
        kinds = {kind for kind, _ in colours(term.output)}
        assert kinds <= allowed and kinds, kinds  # colour, and never more than the terminal has
        if system == "256":
            assert "256" in kinds
        assert b"MAJOR" in term.output  # severity is a word, whatever the colours
        term.press("q")
        assert term.wait(15) == 0
    finally:
        term.close()


def test_no_color_is_grey_with_reverse(console_env: tuple[Isolated, Path]) -> None:
    term = run_console(console_env, {"NO_COLOR": "1", "COLORTERM": "truecolor"})
    try:
        term.read_until(b"CRITICAL", 20)
        term.drain(0.3)
        found = colours(term.output)
        rgb = [c for kind, c in found if kind == "rgb"]
        assert all(r == g == b for r, g, b in rgb), [c for c in rgb if len(set(c)) > 1][:5]
        assert re.search(rb"\x1b\[[0-9;]*\b7\b[0-9;]*m", term.output)  # reverse video is used
        term.press("q")
        assert term.wait(15) == 0
    finally:
        term.close()


def test_copy_details_over_osc52(console_env: tuple[Isolated, Path]) -> None:
    term = run_console(console_env, {})
    try:
        term.read_until(b"CRITICAL", 20)
        term.press("\r")
        term.read_until(b"JOURNAL", 10)
        term.press("c")
        term.read_until(b"\x1b]52;c;", 10)
        at = term.output.rindex(b"\x1b]52;c;") + 7
        if b"\x07" not in term.output[at:]:
            term.read_until(b"\x07", 5)
        payload = term.output[at:].split(b"\x07")[0]
        text = base64.b64decode(payload).decode()
        assert text.startswith("Event ") and "/var is 96.5% full" in text and "JOURNAL" in text
        term.press("\x1b")
        term.drain(0.3)
        term.press("q")
        assert term.wait(15) == 0
    finally:
        term.close()


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed_store(path)
    return path


async def test_clipboard_from_details(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(EventsPane).body
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="events")
        await pilot.press("enter")
        await wait_until(settled(pilot, lambda: isinstance(app.screen, EventDetailsScreen)), 5)
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        await wait_until(settled(pilot, lambda: screen.event is not None), 5, what="details")
        await pilot.press("c")
        assert "severity" in app.clipboard and "/var is 96.5% full" in app.clipboard


async def test_monochrome_styles(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.no_color and app.has_class("-mono")
        table = app.query_one(EventsPane).body
        assert table.get_component_rich_style("sev-critical").reverse
        assert table.get_component_rich_style("sev-major").bold


async def test_low_bandwidth_mode(db: Path) -> None:
    app = make_app(db)
    config = app.config.model_copy(
        update={"ui": app.config.ui.model_copy(update={"low_bandwidth": True})}
    )
    from bridge.ui.app import create_app

    app = create_app(
        config, operator="alice", store_path=db, clock=app.clock, collect=False, hostname="h"
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.animation_level == "none"
        assert app.feed_interval >= 2.0
        assert app.query_one(EventsPane).reload_every == LOW_BW_EVENTS_S
        header = bridge_header_text(app.query_one(BridgeHeader))
        clock = header.rstrip().rsplit("  ", 1)[-1].strip()
        assert re.fullmatch(r"\w{3} \d\d \w{3} \d\d:\d\d \w+", clock), clock  # to the minute


def test_sample_throttle() -> None:
    throttle = SampleThrottle(period=5)
    reading = Change(1, 0.0, "reading", "local|h")
    event = Change(2, 0.0, "events", "1")
    assert throttle.hold([reading], 100.0) == [reading]  # the first one at once
    assert throttle.hold([reading, event], 101.0) == [event]  # an ack never waits
    assert throttle.due(102.0) == []  # within the period: held
    assert throttle.due(105.0) == [reading]
    assert throttle.hold([reading], 106.0) == []
    assert throttle.due(110.0) == [reading]


def test_config_display_keys() -> None:
    config = Config.model_validate({"ui": {"monochrome": True, "low_bandwidth": True}})
    assert config.ui.monochrome and config.ui.low_bandwidth


@pytest.mark.parametrize("command", ["console", "wall"])
def test_ctrl_l_draws_every_cell_again(console_env: tuple[Isolated, Path], command: str) -> None:
    """For a screen another program wrote over: Ctrl+L sends the whole screen,
    every pane's text, though nothing on it changed."""
    isolated, cfg = console_env
    env = {**isolated.env, "TERM": "xterm-256color"}
    args = ["console", "--no-collect"] if command == "console" else ["wall"]
    term = PtyApp(
        ["--config", str(cfg), *args], env, isolated.root, size=(100, 30), controlling=True
    )
    try:
        term.read_until(b"CRITICAL", 20)
        term.drain(1.0)
        idle = term.drain(1.5)  # what a second or so brings without a key: the clock at most
        assert b"CRITICAL" not in idle
        term.press("\x0c")
        redrawn = term.read_until(b"CRITICAL", 5)
        for word in (b"MAJOR", b"bridge"):
            assert word in redrawn
        term.press("q")
        assert term.wait(15) == 0
    finally:
        term.close()
