"""The line-API widgets redraw only what changed, and the right lines when scrolled."""

from __future__ import annotations

from typing import Any

from conftest import screen_text
from textual.app import App, ComposeResult
from textual.geometry import Region

from bridge.ui.widgets.lines import LinesView
from bridge.ui.widgets.rowtable import RESERVE_ROWS, Column, Row, RowTable


def rows(n: int, mark: int | None = None) -> list[Row]:
    return [Row(str(i), (f"row {i}" + (" CHANGED" if i == mark else ""),)) for i in range(n)]


class TableApp(App[None]):
    CSS = "RowTable, LinesView { height: 8; }"

    def __init__(self, lines: bool = False) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield LinesView() if self.lines else RowTable([Column("name", "NAME")])


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


async def test_a_row_more_or_fewer_redraws_only_the_rows_that_moved() -> None:
    """An event raised or cleared changes the Events pane's row count: the rows
    below the change are redrawn, not the blank lines under them nor the header
    (a whole-table repaint was a pane of bytes for each event that came or went)."""
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        table.set_rows(rows(5))
        await pilot.pause()
        calls = record_refreshes(table)
        table.set_rows(rows(6))  # a row added at the end: line 6 only
        assert calls == [(Region(0, 6, 40, 1),)]
        calls.clear()
        table.set_rows([r for r in rows(6) if r.key != "2"])  # rows 3..5 move up a line
        assert calls == [(Region(0, 3, 40, 4),)]
        await pilot.pause()
        shown = screen_text(app)
        assert "row 2" not in shown and all(f"row {i}" in shown for i in (0, 1, 3, 4, 5))
        calls.clear()
        table.set_rows([])
        assert calls == [(Region(0, 1, 40, 5),)]
        await pilot.pause()
        assert "nothing to show" in screen_text(app)


async def test_a_scrolling_table_keeps_room_for_rows_that_come_and_go() -> None:
    """More rows than the view (the Events pane with its history): an event cleared
    and raised again redraws the rows that moved, not the whole table, as long as
    the rows are no fewer than RESERVE_ROWS below the most since the last fit."""
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        table.set_rows(rows(20))  # the view shows the header and 7 rows
        await pilot.pause()
        height = table.virtual_size.height
        calls = record_refreshes(table)
        table.set_rows([r for r in rows(20) if r.key != "3"])  # one cleared: rows 4.. move up
        assert calls == [(Region(0, 4, 40, 17),)]
        assert table.virtual_size.height == height
        calls.clear()
        table.set_rows(rows(20))  # and raised again
        assert calls == [(Region(0, 4, 40, 17),)]
        await pilot.pause()
        assert "row 3" in screen_text(app)
        calls.clear()
        table.set_rows(rows(20 - RESERVE_ROWS - 1))  # many fewer: fitted again, repainted
        assert () in calls
        assert table.virtual_size.height == 20 - RESERVE_ROWS
        table.set_rows(rows(3))  # rows that fit: no room kept, no scrollbar
        assert table.virtual_size.height == table.size.height
