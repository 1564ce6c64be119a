"""A table drawn with Textual's line API: only visible rows are rendered.

Cells are plain strings drawn as literal segments, never parsed as markup, and
control characters are escaped: device and job text is untrusted. Styles come
only from component classes in the stylesheet, so themes control every colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bridge.core.text import safe_text
from bridge.ui.widgets.lines import (
    STYLE_CLASSES,
    StyleCache,
    changed_span,
    refresh_span,
)

__all__ = ["Column", "Row", "RowTable"]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its width, fixed or shared, and how early it gives way on a
    narrow screen."""

    key: str
    label: str
    width: int = 0  # 0: share what the fixed columns leave
    align: Literal["left", "right"] = "left"
    drop: int = 0  # when space is short, columns with the highest `drop` go first (0: never)


@dataclass(frozen=True, slots=True)
class Row:
    """A table row. Its key keeps the cursor on the same item across reloads; its
    styles name component classes, never colours."""

    key: str
    cells: tuple[str, ...]
    style: str = ""  # a component class for the whole row
    cell_styles: tuple[str, ...] = ()  # a component class per cell ("" for none)


def _fit(text: str, width: int, align: str) -> str:
    if width <= 0:
        return ""
    text = safe_text(text)
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = " " * (width - cell_len(text))
    return pad + text if align == "right" else text + pad


# Rows fewer than its virtual height a scrolling table keeps room for (see
# RowTable._fit_virtual_size): events raised and cleared in turn.
RESERVE_ROWS = 5


class RowTable(ScrollView, can_focus=True):
    """Keyboard-first list with a fixed header line; the cursor follows its row key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Details"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = STYLE_CLASSES | {
        "rowtable--header",
        "rowtable--cursor",
        "rowtable--cursor-blur",
        "rowtable--empty",
    }

    DEFAULT_CSS = """
    RowTable { height: 1fr; overflow-x: hidden; }
    """

    # The watcher redraws just the rows involved, so the reactive must not repaint all.
    cursor: reactive[int] = reactive(0, always_update=True, init=False, repaint=False)

    class Selected(Message):
        """Enter on a row."""

        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        empty_text: str = "nothing to show",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.rows: list[Row] = []
        self.empty_text = empty_text
        self._strips: dict[tuple[int, int, bool], Strip] = {}
        self._cells_at = -1
        self._style = StyleCache(self)

    # -- data ------------------------------------------------------------------
    @property
    def current_key(self) -> str | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor].key
        return None

    @property
    def empty_text(self) -> str:
        return self._empty_text

    @empty_text.setter
    def empty_text(self, text: str) -> None:
        if text != getattr(self, "_empty_text", None):
            self._empty_text = text
            if not self.rows:
                self.refresh()

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Replace the rows; redraw only lines that changed; keep the cursor on its row."""
        old = self.rows
        key = self.current_key
        self.rows = list(rows)
        virtual = self.virtual_size
        self._fit_virtual_size(keep=True)
        cursor = self.cursor
        if key is not None:
            for i, row in enumerate(self.rows):
                if row.key == key:
                    cursor = i
                    break
            else:
                cursor = min(cursor, max(0, len(self.rows) - 1))
        elif cursor >= len(self.rows):
            cursor = max(0, len(self.rows) - 1)
        if len(old) != len(self.rows):
            self._strips.clear()
            if self.virtual_size == virtual:
                # The same virtual size: the rows from the first that differs to the
                # end of the longer list are redrawn, not the lines around them.
                if cursor != self.cursor:
                    self.cursor = cursor
                first = next(
                    (i for i, (a, b) in enumerate(zip(old, self.rows, strict=False)) if a != b),
                    min(len(old), len(self.rows)),
                )
                self.refresh_lines(first + 1, max(len(old), len(self.rows)) - first)
                return
            self.cursor = cursor
            self.refresh()
            return
        if cursor != self.cursor:
            # Assigned only on a change: the reactive always updates, and its
            # watcher redraws, which an idle redraw must not trigger.
            self.cursor = cursor
        top = self.scroll_offset.y
        width = self.size.width
        for i, (before, after) in enumerate(zip(old, self.rows, strict=True)):
            if before != after:
                previous = self._strips.get((i, width, i == self.cursor))
                self._strips = {k: v for k, v in self._strips.items() if k[0] != i}
                if top <= i < top + self.size.height - 1:
                    # Row i is virtual line i + 1, under the header.
                    refresh_span(self, i + 1, changed_span(previous, self._row_strip(i, width)))

    # -- actions ---------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 2))

    def action_jump(self, index: int) -> None:
        if self.rows:
            self.cursor = index if index >= 0 else len(self.rows) + index

    def move_to(self, key: str) -> bool:
        """Put the cursor on the row with `key`; False if no row has it."""
        for i, row in enumerate(self.rows):
            if row.key == key:
                self.cursor = i
                return True
        return False

    def action_select(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def watch_cursor(self, old: int, new: int) -> None:
        self._strips = {k: v for k, v in self._strips.items() if k[0] not in (old, new)}
        # Row i is drawn on line i + 1, under the header.
        top = self.scroll_offset.y
        self.scroll_to_region(
            Region(0, new + 1, 1, 1), animate=False, spacing=None, force=True, immediate=True
        )
        if self.scroll_offset.y != top or old == new:
            self.refresh()
            return
        # Only the two rows whose highlight moved are re-sent to the terminal.
        for row in (old, new):
            if top <= row < top + self.size.height - 1:
                self.refresh_lines(row + 1)

    async def _on_click(self, event: events.Click) -> None:
        index = event.y + self.scroll_offset.y - 1
        if event.y >= 1 and 0 <= index < len(self.rows):
            self.cursor = index
            if event.chain >= 2:
                self.action_select()

    def on_resize(self) -> None:
        self._fit_virtual_size()
        self._strips.clear()

    def _fit_virtual_size(self, keep: bool = False) -> None:
        """The virtual height: the header and the rows, and at least the view's height.

        Every change of the virtual size repaints the whole table: while the rows
        fit, one more or one fewer (an event raised or cleared) must not change it.
        With `keep`, a table whose rows still do not fit keeps its height for up
        to RESERVE_ROWS rows fewer, so events that come and go repaint the whole
        table only when there are more of them than since it was last fitted.
        """
        need = max(len(self.rows) + 1, self.size.height)
        current = self.virtual_size
        scrolls = len(self.rows) + 1 > self.size.height  # rows that fit get no scrollbar
        kept = current.width == self.size.width and need <= current.height <= need + RESERVE_ROWS
        if keep and scrolls and kept:
            return
        size = Size(self.size.width, need)
        if size != current:
            self.virtual_size = size

    def on_focus(self) -> None:
        self._strips.clear()
        self._style.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self._style.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._style.clear()

    # -- rendering ---------------------------------------------------------------
    MIN_FLEX = 16  # a flexible column (the summary) keeps at least this much

    def _widths(self, total: int) -> list[int]:
        """Cell widths per column; 0 for a column dropped to make room."""
        shown = list(self.columns)
        flexible = [c for c in shown if c.width == 0]

        def spare() -> int:
            fixed = sum(c.width for c in shown)
            return total - fixed - max(0, len(shown) - 1)

        droppable = sorted((c for c in shown if c.drop), key=lambda c: -c.drop)
        while droppable and spare() < self.MIN_FLEX * len(flexible):
            shown.remove(droppable.pop(0))
        room = max(0, spare())
        share = room // len(flexible) if flexible else 0
        widths = [0 if c not in shown else (c.width or share) for c in self.columns]
        if flexible:  # the last flexible column takes the rounding remainder
            last = max(i for i, c in enumerate(self.columns) if c.width == 0)
            widths[last] += room - share * len(flexible)
        return widths

    def _line(self, parts: list[tuple[str, Style]], base: Style, width: int) -> Strip:
        segments = [Segment(text, base + style) for text, style in parts]
        return Strip(segments).simplify().adjust_cell_length(width, base)

    @property
    def cells_width(self) -> int:
        """The cells the columns share: the width less the scrollbar's column when it
        shows (it is drawn over the last column, and cut a state's last letter)."""
        return self.scrollable_content_region.width

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._style.base
        widths = self._widths(self.cells_width)
        if y == 0:
            header = self._style("rowtable--header")
            parts = [
                (_fit(col.label, w, col.align) + " ", header)
                for col, w in zip(self.columns, widths, strict=True)
                if w
            ]
            return self._line(parts, base + header, width)
        index = self.scroll_offset.y + y - 1
        if not self.rows:
            if y == 1:
                return self._line(
                    [(_fit(self.empty_text, width, "left"), self._style("rowtable--empty"))],
                    base,
                    width,
                )
            return Strip.blank(width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        return self._row_strip(index, width)

    def _row_strip(self, index: int, width: int) -> Strip:
        on_cursor = index == self.cursor
        cells = self.cells_width
        if cells != self._cells_at:  # the scrollbar came or went: the columns moved
            self._cells_at = cells
            self._strips.clear()
        cache_key = (index, width, on_cursor)
        cached = self._strips.get(cache_key)
        if cached is not None:
            return cached
        base = self._style.base
        widths = self._widths(cells)
        row = self.rows[index]
        row_style = base + self._style(row.style)
        if on_cursor:
            row_style += self._style(
                "rowtable--cursor" if self.has_focus else "rowtable--cursor-blur"
            )
        parts = []
        for i, (col, w) in enumerate(zip(self.columns, widths, strict=True)):
            if not w:
                continue
            text = row.cells[i] if i < len(row.cells) else ""
            cell_class = row.cell_styles[i] if i < len(row.cell_styles) else ""
            style = self._style(cell_class)
            if on_cursor:  # the cursor's background wins over a cell's own
                style += self._style(
                    "rowtable--cursor" if self.has_focus else "rowtable--cursor-blur"
                )
            parts.append((_fit(text, w, col.align), style))
            parts.append((" ", Style.null()))
        strip = self._line(parts, row_style, width)
        self._strips[cache_key] = strip
        return strip
