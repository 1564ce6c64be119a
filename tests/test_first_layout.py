"""The console lays out its first screen as few times as Textual lets it.

Textual paints the first screen more than once (a layout, then a repaint); two
causes of more were ours to remove: the breakpoint class that Textual gives the
screen only after its first layout at the terminal's size (a restyle of every
widget and a full repaint), and a second report of the same terminal size from
the driver, which Textual lays out and paints again when the app is next idle.
Either was a whole screen of bytes written just after the first screen.
"""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.geometry import Size
from textual.screen import Screen

from bridge.config.file import Config
from bridge.ui.app import BridgeApp, create_app
from bridge.ui.breakpoints import breakpoint_class

QUIET = {"local": {"enabled": False}}


def console(tmp_path: Path) -> BridgeApp:
    return create_app(
        Config.model_validate(QUIET), operator="alice", store_path=tmp_path / "bridge.db"
    )


def test_breakpoint_class_is_textuals_choice() -> None:
    points = BridgeApp.HORIZONTAL_BREAKPOINTS
    assert breakpoint_class(80, points) == "-narrow"
    assert breakpoint_class(109, points) == "-narrow"
    assert breakpoint_class(110, points) == "-wide"
    assert breakpoint_class(200, points) == "-wide"
    assert breakpoint_class(5, [(10, "-big")]) is None
    assert breakpoint_class(5, None) is None


async def test_the_first_screen_has_its_breakpoint_class_before_its_first_layout(
    tmp_path: Path,
) -> None:
    for size, wanted, other in (((120, 40), "-wide", "-narrow"), ((80, 24), "-narrow", "-wide")):
        app = console(tmp_path)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            # What Textual's breakpoints give the screen once it has been laid out ...
            assert app.screen.has_class(wanted) and not app.screen.has_class(other)
            # ... the default screen has from its creation.
            fresh = app.get_default_screen()
            assert fresh.has_class(wanted) and not fresh.has_class(other)


async def test_the_same_terminal_size_again_is_not_laid_out_again(tmp_path: Path) -> None:
    app = console(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        layouts: list[Screen[object]] = []
        app.screen.screen_layout_refresh_signal.subscribe(app.screen, layouts.append)
        size = Size(120, 40)
        app.post_message(events.Resize(size, size))
        await pilot.pause()
        await pilot.pause()
        assert layouts == []
        # A real change of size is laid out, and the next one too.
        for cols in (100, 120):
            await pilot.resize_terminal(cols, 40)
            await pilot.pause(0.1)
            assert app.screen.size == Size(cols, 40)
            assert app.screen.has_class("-narrow" if cols < 110 else "-wide")
        assert layouts
