"""The header: where, when, who, whether this process polls, and whether data is stale.

Split into small labels so the clock ticking rewrites only its own few cells.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from bridge.ui.lines import LinesView

__all__ = ["BridgeHeader"]


class _Clock(LinesView, can_focus=False):
    """A line view, so each tick re-sends only the digits that changed (a label
    re-sends itself whole: a third of the console's idle output). Its line has
    no styled parts, so none of LinesView's component classes is ever styled."""


class BridgeHeader(Horizontal):
    def __init__(self, *, id: str | None = None, seconds: bool = True) -> None:
        super().__init__(id=id)
        # To the minute on slow links: a ticking seconds field is most of an idle screen's bytes.
        self.clock_format = "%a %d %b %H:%M:%S %Z" if seconds else "%a %d %b %H:%M %Z"

    def compose(self) -> ComposeResult:
        yield Static("bridge", id="hdr-title", markup=False)
        yield Static("", id="hdr-host", markup=False)
        yield Static("", id="hdr-operator", markup=False)
        yield Static("", id="hdr-lease", markup=False)
        yield Static("", id="hdr-stale", markup=False)
        yield _Clock(id="hdr-clock")

    def _set(self, id: str, text: str) -> None:
        label = self.query_one(f"#{id}", Static)
        old = str(label.content)
        if old != text:
            # Re-layout only when the width changes: a layout pass repaints every
            # pane's scrollbar, which for the ticking clock is most of the bytes sent.
            label.update(text, layout=len(old) != len(text))

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
        self._set("hdr-host", host)
        self._set("hdr-operator", f"operator {operator}")
        self._set("hdr-lease", lease)
        self.query_one("#hdr-lease").set_class(polling, "-polling")
        stale = self.query_one("#hdr-stale", Static)
        stale.display = stale_for is not None
        if stale_for is not None:
            self._set("hdr-stale", f" STALE {int(stale_for)}s ")
        clock = time.strftime(self.clock_format, time.localtime(now))
        self.query_one(_Clock).set_lines([((clock, ""),)])
