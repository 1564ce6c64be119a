"""The line-API widgets redraw only what changed, and the right lines when scrolled."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region

from bridge.ui.lines import LinesView
from bridge.ui.rowtable import Column, Row, RowTable


def rows(n: int, mark: int | None = None) -> list[Row]:
    return [Row(str(i), (f"row {i}" + (" CHANGED" if i == mark else ""),)) for i in range(n)]


class TableApp(App[None]):
    CSS = "RowTable, LinesView { height: 8; }"

    def __init__(self, lines: bool = False) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield LinesView() if self.lines else RowTable([Column("name", "NAME")])


def screen_text(app: App[Any]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def record_refreshes(widget: RowTable | LinesView) -> list[tuple[Region, ...]]:
    calls: list[tuple[Region, ...]] = []
    original = widget.refresh

    def refresh(*regions: Region, **kwargs: Any) -> Any:
        calls.append(regions)
        return original(*regions, **kwargs)

    widget.refresh = refresh  # type: ignore[method-assign]
    return calls


async def test_changed_row_is_redrawn_when_scrolled() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        table.set_rows(rows(50))
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert "row 49" in screen_text(app)
        table.set_rows(rows(50, mark=47))
        await pilot.pause()
        assert "row 47 CHANGED" in screen_text(app)


async def test_idle_redraw_and_cursor_moves_do_not_repaint_everything() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        table.set_rows(rows(5))
        table.focus()
        await pilot.pause()
        calls = record_refreshes(table)
        table.set_rows(rows(5))  # the same rows again, as an idle age redraw does
        table.set_rows([])
        calls.clear()
        table.set_rows([])  # still empty
        assert calls == []
        table.set_rows(rows(5))
        await pilot.pause()
        calls.clear()
        await pilot.press("down")
        await pilot.pause()
        assert calls and all(len(regions) == 1 and regions[0].height == 1 for regions in calls)
        assert len(calls) == 2  # the row the cursor left and the row it reached


async def test_lines_view_redraws_the_changed_line_when_scrolled() -> None:
    app = TableApp(lines=True)
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(LinesView)
        view.set_lines([((f"line {i}", ""),) for i in range(30)])
        await pilot.pause()
        view.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert "line 29" in screen_text(app)
        view.set_lines([((f"line {i}" + (" NEW" if i == 28 else ""), ""),) for i in range(30)])
        await pilot.pause()
        assert "line 28 NEW" in screen_text(app)


async def test_a_ticking_value_resends_only_its_cells() -> None:
    app = TableApp(lines=True)
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(LinesView)
        view.set_lines([(("CPU ", "label"), ("12.5%", ""))])
        await pilot.pause()
        calls = record_refreshes(view)
        view.set_lines([(("CPU ", "label"), ("13.0%", ""))])
        assert calls == [(Region(5, 0, 3, 1),)]  # "2.5" -> "3.0", not the 40-cell line
        await pilot.pause()
        assert "CPU 13.0%" in screen_text(app)


def test_partial_updates_are_cropped_at_both_ends() -> None:
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style
    from textual._compositor import ChopsUpdate
    from textual.strip import Strip

    from bridge.ui import terminal_output

    # This Textual is the one the patch was written for; an upgrade fails here first.
    assert terminal_output.install()
    line = Strip([Segment("MEM   ", Style(bold=True)), Segment("  2.8% 666M", Style())])
    update = ChopsUpdate([{10: line}], spans=[(0, 18, 22)], chop_ends=[[10 + 17]])
    out = update.render_segments(Console(color_system="standard", force_terminal=True))
    assert out.startswith("\x1b[1;19H")  # straight to the changed cells
    assert "MEM" not in out and "2.8" in out and "666" not in out


def _cells_on_screen(output: str) -> dict[tuple[int, int], tuple[str, frozenset[str]]]:
    """A tiny terminal: where each character lands, with the SGR codes in force."""
    import re

    screen: dict[tuple[int, int], tuple[str, frozenset[str]]] = {}
    state: dict[str, str] = {}
    row = col = 0
    for token in re.findall(r"\x1b\[(\d+);(\d+)H|\x1b\[([0-9;]*)m|(\n)|(.)", output, re.S):
        move_row, move_col, sgr, newline, char = token
        if move_row:
            row, col = int(move_row) - 1, int(move_col) - 1
        elif sgr:
            codes = sgr.split(";")
            i = 0
            while i < len(codes):
                code = codes[i]
                if code in ("0", ""):
                    state = {}
                elif code in ("38", "48"):
                    state[code] = ";".join(codes[i : i + 3])
                    i += 2
                else:
                    state[code] = code
                i += 1
        elif newline:
            row, col = row + 1, 0
        elif char:
            screen[(row, col)] = (char, frozenset(state.values()))
            col += 1
    return screen


def test_style_differences_draw_the_same_screen_as_textual() -> None:
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style
    from textual._compositor import ChopsUpdate
    from textual.strip import Strip

    from bridge.ui import terminal_output

    bg = Style(bgcolor="color(16)")
    line = Strip(
        [
            Segment("CPU ", Style(color="color(231)", bold=True) + bg),
            Segment("███", Style(color="color(71)") + bg),
            Segment("░░", Style(color="color(245)") + bg),
            Segment(" 12%", Style(color="color(253)", underline=True) + bg),
            Segment(" plain", None),
            Segment(" end", Style(color="color(203)") + bg),
        ]
    )
    other = Strip([Segment("x", Style(reverse=True)), Segment("y", Style(color="color(71)"))])
    update = ChopsUpdate(
        [{0: line}, {3: other}], spans=[(0, 0, 20), (1, 3, 5)], chop_ends=[[20], [5]]
    )
    console = Console(color_system="256", force_terminal=True)
    ours = terminal_output._render_segments(update, console)
    textual = terminal_output._original(update, console)
    assert _cells_on_screen(ours) == _cells_on_screen(textual)
    assert len(ours) < len(textual)
    assert ours.endswith("\x1b[0m")


async def test_a_view_mid_animation_draws_textuals_rounded_offset() -> None:
    """Textual repaints when the rounded scroll moves; drawing int(scroll_y) left the
    end of a smooth scroll one line short, and a report's last line never showed."""
    app = TableApp(lines=True)
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(LinesView)
        view.set_lines([((f"line {i}", ""),) for i in range(30)])
        await pilot.pause()
        view.scroll_y = 5.6  # as an animation leaves it between frames
        await pilot.pause()
        assert screen_text(app).splitlines()[0].startswith("line 6")
