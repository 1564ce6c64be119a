"""Invisible marks behind a pane's views, so that Textual sends a changed line in short pieces.

Textual sends a changed line of a widget from the widget's left edge to the last
changed cell: it cuts each screen line where a widget starts or ends, and writes
every piece a change touches from the piece's start. Every visible widget's
edges are cuts, including those of widgets hidden behind others. These marks
lie on a layer under the pane's views (which have opaque backgrounds and so
hide them): the views' lines are cut where the marks meet, and a figure that
ticks at the end of a line is sent from the nearest cut before it, not from
the pane's edge.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget

__all__ = ["LAYERS", "CutMarks"]

# The layers of a pane that has cut marks: the marks under everything else.
LAYERS = "cuts default"


class CutMarks(Horizontal, can_focus=False):
    """`pieces` blank widgets side by side, under the pane's views.

    Each piece a change touches costs a cursor move and its colours again, so
    more pieces are not cheaper: with three, the Health pane's ticking lines
    cost the least (docs/performance.md).
    """

    DEFAULT_CSS = """
    CutMarks { layer: cuts; width: 1fr; height: 1fr; }
    CutMarks > Widget { width: 1fr; height: 1fr; }
    """

    def __init__(self, pieces: int = 3, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pieces = pieces

    def compose(self) -> ComposeResult:
        for _ in range(self.pieces):
            yield Widget()
