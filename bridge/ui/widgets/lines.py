"""A read-only view of styled text lines that redraws only the lines that changed.

Each line is a tuple of (text, component class) parts. Text is drawn literally,
with control characters escaped, so untrusted strings are safe here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from bridge.core.text import safe_text
from bridge.core.wrap import cell_width, wrap_parts

if TYPE_CHECKING:
    _WidgetBase = Widget
else:
    _WidgetBase = object

__all__ = [
    "STYLE_CLASSES",
    "Line",
    "LinesView",
    "StyleCache",
    "changed_span",
    "plain",
    "refresh_span",
    "wrap_line",
]

Line = tuple[tuple[str, str], ...]

# Component classes shared by every line-drawn widget; the stylesheet maps them
# to theme variables.
STYLE_CLASSES: set[str] = {
    "sev-critical",
    "sev-major",
    "sev-minor",
    "sev-warning",
    "sev-info",
    "sev-ok",
    "muted",
    "stale",
    "fresh",
    "label",
    "heading",
    "bar-empty",
    "spark",
}


class StyleCache:
    """A widget's base and component styles, resolved once per style change.

    Resolving one walks the DOM and its rules (about 0.4 ms); a redraw asked
    for hundreds, which was a quarter of the idle console's CPU.
    """

    def __init__(self, widget: Widget) -> None:
        self._widget = widget
        self._styles: dict[str, Style] = {}
        self._base: Style | None = None

    def clear(self) -> None:
        self._styles.clear()
        self._base = None

    @property
    def base(self) -> Style:
        if self._base is None:
            self._base = self._widget.rich_style
        return self._base

    def __call__(self, name: str) -> Style:
        if not name:
            return Style.null()
        style = self._styles.get(name)
        if style is None:
            style = self._widget.get_component_rich_style(name, partial=True)
            styles = self._widget.get_component_styles(name)
            if styles.has_rule("color") and styles.auto_color:
                # A partial style gives an "auto" colour ($text-muted is "auto 60%")
                # as plain white, so muted labels came out brighter than values.
                # Resolved as Textual resolves a widget's own: the contrasting text
                # colour at that alpha, over the background it is drawn on.
                background = self._widget.background_colors[1]
                if styles.has_rule("background"):
                    background += styles.background
                color = background + background.get_contrast_text(styles.color.a)
                style += Style(color=color.rich_color)
            self._styles[name] = style
        return style


def plain(text: str) -> Content:
    """Text for a border title or subtitle, shown literally: Textual reads a str
    there as markup, and a job or device named "db[1]" would crash the console."""
    return Content(safe_text(text))


def _cells(strip: Strip) -> list[tuple[str, Style | None]] | None:
    cells = [(char, seg.style) for seg in strip for char in seg.text]
    # A double-width character breaks the one-character-one-cell mapping: the
    # caller then redraws the whole line.
    return cells if len(cells) == strip.cell_length else None


def changed_span(before: Strip | None, after: Strip) -> tuple[int, int]:
    """The cells [start, end) that differ, so a value that ticks re-sends its digits
    and not the whole line: Textual sends a refreshed region as it is, unchanged
    cells and style codes included, which made the health pane cost 2 KB/s."""
    new = _cells(after)
    old = _cells(before) if before is not None else None
    if old is None or new is None or len(old) != len(new):
        return 0, after.cell_length
    start = 0
    while start < len(new) and old[start] == new[start]:
        start += 1
    end = len(new)
    while end > start and old[end - 1] == new[end - 1]:
        end -= 1
    return start, end


def refresh_span(view: ScrollView, line: int, span: tuple[int, int]) -> None:
    """Refresh part of virtual line `line` (the scroll offset is applied here)."""
    start, end = span
    if end > start:
        view.refresh(Region(start, line - view.scroll_offset.y, end - start, 1))


def wrap_line(line: Line, width: int) -> list[Line]:
    """A line as it is shown `width` cells wide: broken between words, each further
    line indented to where the first line's text begins after its label (the first
    part, when there are more), or after its own leading spaces."""
    if not line:
        return [line]
    safe = tuple((safe_text(text), cls) for text, cls in line)
    if cell_width("".join(t for t, _ in safe)) <= width:
        return [safe]
    first = safe[0][0]
    indent = cell_width(first) if len(safe) > 1 else cell_width(first) - cell_width(first.lstrip())
    return [tuple(parts) for parts in wrap_parts(safe, width, indent=indent)]


class LinesView(ScrollView, can_focus=True):
    """Styled lines, redrawn line by line. With `wrap`, lines longer than the view
    are broken between words (details, help, reports: text to be read whole);
    without, they are cut at its edge (live panes, laid out to fit)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = STYLE_CLASSES

    DEFAULT_CSS = """
    LinesView { height: 1fr; overflow-x: hidden; }
    """

    def __init__(
        self,
        *,
        wrap: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.wrap = wrap
        self.lines: list[Line] = []
        self._shown: list[Line] = []  # the lines as drawn: wrapped to the width, with `wrap`
        self._shown_width = -1
        self._strips: dict[int, Strip] = {}
        self._style = StyleCache(self)

    @property
    def shown_lines(self) -> list[str]:
        """The text of each line as drawn (wrapped, with `wrap`), whether scrolled to or not."""
        return ["".join(t for t, _ in line) for line in self._shown]

    @property
    def wrap_width(self) -> int:
        """The cells a wrapped line may take: the view's width, less its scrollbar's
        column where the view scrolls itself (the bar is drawn over the last column)."""
        height = self.styles.height
        scrolls = height is None or not height.is_auto
        bar = self.styles.scrollbar_size_vertical if scrolls else 0
        return max(0, self.size.width - bar)

    def _wrapped(self, lines: Sequence[Line]) -> list[Line]:
        width = self.wrap_width
        self._shown_width = self.size.width
        if width <= 0:  # not laid out yet: wrapped when it is
            return list(lines)
        return [part for line in lines for part in wrap_line(line, width)]

    def set_lines(self, lines: Sequence[Line]) -> None:
        self.lines = list(lines)
        if self.wrap:
            self._set_shown(self._wrapped(self.lines))
            return
        self._set_shown(self.lines)

    def _set_shown(self, lines: list[Line]) -> None:
        old = self._shown
        self._shown = lines
        # Only the height is virtual (no sideways scrolling): a width that followed
        # the longest line would change with the values and repaint everything.
        size = Size(self.size.width, len(self._shown))
        if size != self.virtual_size:
            self.virtual_size = size
            if self.wrap:
                self.refresh(layout=True)  # an auto height follows the wrapped lines
        top = self.scroll_offset.y
        height = self.size.height
        for i in range(max(len(old), len(self._shown))):
            before = old[i] if i < len(old) else None
            after = self._shown[i] if i < len(self._shown) else None
            if before != after:
                previous = self._strips.pop(i, None)
                if top <= i < top + height:
                    if after is None:
                        self.refresh_lines(i)
                    else:
                        refresh_span(self, i, changed_span(previous, self._strip(i)))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._style.clear()

    def on_resize(self) -> None:
        self._strips.clear()
        if self.wrap and self.size.width != self._shown_width:
            self._set_shown(self._wrapped(self.lines))
            self.refresh()

    def render_line(self, y: int) -> Strip:
        # Textual's rounded offset, not int(scroll_y): it repaints when the rounded
        # value moves, so truncating left a scroll that ended at the bottom drawn
        # one line short (the last line of a report never showed).
        index = self.scroll_offset.y + y
        if index >= len(self._shown):
            return Strip.blank(self.size.width, self._style.base)
        return self._strip(index)

    def _strip(self, index: int) -> Strip:
        width = self.size.width
        base = self._style.base
        strip = self._strips.get(index)
        # A strip of another width is stale: Textual may paint a resized view
        # before its Resize message (on_resize) has cleared the cache.
        if strip is None or strip.cell_length != width:
            segments = [
                Segment(safe_text(text), base + self._style(cls))
                for text, cls in self._shown[index]
            ]
            # Merging same-style runs sends one SGR sequence per run, not per part.
            strip = Strip(segments).crop_extend(0, width, base).simplify()
            self._strips[index] = strip
        return strip
