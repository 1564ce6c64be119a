"""A read-only view of styled text lines that redraws only the lines that changed.

Each line is a tuple of (text, component class) parts. Text is drawn literally,
with control characters escaped, so untrusted strings are safe here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bridge.text import safe_text

__all__ = ["STYLE_CLASSES", "Line", "LinesView"]

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


class LinesView(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = STYLE_CLASSES

    DEFAULT_CSS = """
    LinesView { height: 1fr; }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.lines: list[Line] = []
        self._strips: dict[int, Strip] = {}

    def set_lines(self, lines: Sequence[Line]) -> None:
        old = self.lines
        self.lines = list(lines)
        # Only the height is virtual (no sideways scrolling): a width that followed
        # the longest line would change with the values and repaint everything.
        size = Size(self.size.width, len(self.lines))
        if size != self.virtual_size:
            self.virtual_size = size
        top = int(self.scroll_y)
        height = self.size.height
        for i in range(max(len(old), len(self.lines))):
            before = old[i] if i < len(old) else None
            after = self.lines[i] if i < len(self.lines) else None
            if before != after:
                self._strips.pop(i, None)
                if top <= i < top + height:
                    self.refresh_lines(i - top)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def on_resize(self) -> None:
        self._strips.clear()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True) if name else Style.null()

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.size.width
        base = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, base)
        strip = self._strips.get(index)
        if strip is None:
            segments = [
                Segment(safe_text(text), base + self._style(cls)) for text, cls in self.lines[index]
            ]
            # Merging same-style runs sends one SGR sequence per run, not per part.
            strip = Strip(segments).simplify().crop_extend(0, width, base)
            self._strips[index] = strip
        return strip
