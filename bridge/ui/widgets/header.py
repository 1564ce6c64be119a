"""The header: where, when, who, whether this process polls, and whether data is stale.

Two line views, not a row of labels: each tick re-sends only the clock's digits
that changed (lines.changed_span), from the clock's own widget.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal

from bridge.core.timefmt import show_time
from bridge.core.wrap import clip
from bridge.ui.widgets.lines import Line, LinesView

__all__ = ["BridgeHeader", "HeaderLine", "header_line", "header_text"]

TITLE = "bridge"
# bridge.core.timefmt forms; the header is where the zone of every time on screen is named.
CLOCK_SECONDS = "header"
CLOCK_MINUTES = "header_minute"


def header_line(
    width: int,
    *,
    host: str,
    operator: str,
    lease: str,
    polling: bool,
    stale_for: float | None,
    clock: str,
) -> Line:
    """The header's parts, each padded by a space, with the clock kept at the right
    edge; what does not fit beside the clock is cut from the left part's end."""
    left: list[tuple[str, str]] = [
        (f" {TITLE} ", "hdr-title"),
        (f" {host} ", "hdr-host"),
        (f" operator {operator} ", ""),
        (f" {lease} ", "hdr-polling" if polling else "hdr-lease"),
    ]
    if stale_for is not None:
        left.append((f" STALE {int(stale_for)}s ", "hdr-stale"))
    right = f" {clock} "
    room = max(0, width - len(right))
    parts: list[tuple[str, str]] = []
    used = 0
    for text, cls in left:
        text = clip(text, room - used)
        if text:
            parts.append((text, cls))
            used += len(text)
    parts.append((" " * (room - used), ""))
    parts.append((right[: width - room], ""))  # cut only when narrower than the clock
    return tuple(parts)


class HeaderLine(LinesView, can_focus=False):
    """One part of the header: its parts' component classes live here."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *LinesView.COMPONENT_CLASSES,
        "hdr-title",
        "hdr-host",
        "hdr-lease",
        "hdr-polling",
        "hdr-stale",
    }
    DEFAULT_CSS = """
    HeaderLine { height: 1; scrollbar-size: 0 0; }
    HeaderLine > .hdr-title { text-style: bold; color: $accent; }
    HeaderLine > .hdr-host { text-style: bold; }
    HeaderLine > .hdr-lease { color: $text-muted; }
    HeaderLine > .hdr-polling { color: $severity-ok; }
    HeaderLine > .hdr-stale { background: $state-stale; color: $background; text-style: bold; }
    App.-mono HeaderLine > .hdr-stale { text-style: bold reverse; }
    """


class BridgeHeader(Horizontal, can_focus=False):
    """The header line, drawn as two widgets: what it says, and the clock.

    Textual sends a changed line of a widget from the widget's left edge up to
    the last changed cell, so a clock at the end of a full-width line re-sent
    the whole line every second; in a widget of its own it sends its digits.
    """

    # Here, not in each app's stylesheet: the console and the wall share the header.
    DEFAULT_CSS = """
    BridgeHeader { height: 1; }
    BridgeHeader > #header-text { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None, seconds: bool = True) -> None:
        super().__init__(id=id)
        # To the minute on slow links: a ticking seconds field is most of an idle screen's bytes.
        self.clock_format = CLOCK_SECONDS if seconds else CLOCK_MINUTES
        self._line: Callable[[int], Line] | None = None  # the last show(), for a width
        self.text_view = HeaderLine(id="header-text")
        self.clock_view = HeaderLine(id="header-clock")

    def compose(self) -> ComposeResult:
        yield self.text_view
        yield self.clock_view

    @property
    def lines(self) -> list[Line]:
        """The header as one line of parts, as it reads."""
        if not self.text_view.lines and not self.clock_view.lines:
            return []
        return [
            tuple(p for view in (self.text_view, self.clock_view) for ln in view.lines for p in ln)
        ]

    def show(
        self,
        *,
        host: str,
        operator: str,
        lease: str,
        polling: bool,
        stale_for: float | None,
        now: float,
    ) -> None:
        self._line = partial(
            header_line,
            host=host,
            operator=operator,
            lease=lease,
            polling=polling,
            stale_for=stale_for,
            clock=show_time(now, self.clock_format, label=True),
        )
        self._draw()

    def _draw(self) -> None:
        if self._line is None:
            return
        *text, clock = self._line(self.size.width)
        width = len(clock[0])
        if self.clock_view.styles.width is None or self.clock_view.styles.width.value != width:
            self.clock_view.styles.width = width
        self.text_view.set_lines([tuple(text)])
        self.clock_view.set_lines([(clock,)])

    def on_resize(self) -> None:
        # The clock keeps to the new right edge.
        self._draw()


def header_text(header: BridgeHeader) -> str:
    """What the header shows, as plain text."""
    return "".join(text for line in header.lines for text, _ in line)
