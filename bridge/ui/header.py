"""The header: where, when, who, whether this process polls, and whether data is stale.

One line view, not a row of labels: each tick re-sends only the clock's digits
that changed (lines.changed_span), and one widget is mounted, styled and laid
out at start instead of seven (~15 ms of the first screen).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

from bridge.timefmt import show_time
from bridge.ui.lines import Line, LinesView

__all__ = ["BridgeHeader", "header_line", "header_text"]

TITLE = "bridge"
# bridge.timefmt forms; the header is where the zone of every time on screen is named.
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
        text = text[: room - used]
        if text:
            parts.append((text, cls))
            used += len(text)
    parts.append((" " * (room - used), ""))
    parts.append((right[: width - room], ""))  # cut only when narrower than the clock
    return tuple(parts)


class BridgeHeader(LinesView, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "hdr-title",
        "hdr-host",
        "hdr-lease",
        "hdr-polling",
        "hdr-stale",
    }
    # Here, not in each app's stylesheet: the console and the wall share the header.
    DEFAULT_CSS = """
    BridgeHeader > .hdr-title { text-style: bold; color: $accent; }
    BridgeHeader > .hdr-host { text-style: bold; }
    BridgeHeader > .hdr-lease { color: $text-muted; }
    BridgeHeader > .hdr-polling { color: $severity-ok; }
    BridgeHeader > .hdr-stale { background: $state-stale; color: $background; text-style: bold; }
    App.-mono BridgeHeader > .hdr-stale { text-style: bold reverse; }
    """

    def __init__(self, *, id: str | None = None, seconds: bool = True) -> None:
        super().__init__(id=id)
        # To the minute on slow links: a ticking seconds field is most of an idle screen's bytes.
        self.clock_format = CLOCK_SECONDS if seconds else CLOCK_MINUTES
        self._line: Callable[[int], Line] | None = None  # the last show(), for a width

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
        if self._line is not None:
            self.set_lines([self._line(self.size.width)])

    def _on_resize(self) -> None:
        # Besides LinesView.on_resize (Textual calls each class's handler): the
        # clock keeps to the new right edge.
        self._draw()


def header_text(header: BridgeHeader) -> str:
    """What the header shows, as plain text."""
    return "".join(text for line in header.lines for text, _ in line)
