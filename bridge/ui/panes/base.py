"""What every pane is: a bordered box with one focusable body, a title and a number.

The panes read the store (through the ConsoleContext the app gives them) and
reload only on the kinds of change that concern them; this base names those
hooks so the app can drive every pane alike. An operator's change goes up to
the app as a message (bridge.ui.messages)."""

from __future__ import annotations

from textual.containers import Vertical

from bridge.core.models import Change
from bridge.ui.context import ConsoleContext
from bridge.ui.widgets.lines import LinesView, plain
from bridge.ui.widgets.rowtable import RowTable

__all__ = ["Pane"]


class Pane(Vertical):
    """A bordered pane with one focusable body; `filter_text` narrows what it shows."""

    can_focus = False
    ALLOW_MAXIMIZE = True
    title = ""
    number = 0

    def __init__(self, context: ConsoleContext, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.context = context
        self.border_title = plain(f"{self.number} {self.title}")
        self.filter_text = ""

    @property
    def body(self) -> RowTable | LinesView:
        raise NotImplementedError

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.border_subtitle = plain(f"filter: {text}" if text else "")
        self.redraw()

    def focus_body(self) -> None:
        """The pane's key (`1` `2` `3`): focus its body."""
        self.body.focus()

    def redraw(self) -> None:
        """Rebuild the view from data already loaded (no store access)."""

    async def load(self, changes: list[Change] | None = None) -> None:
        """Read from the store what `changes` concern (everything when None)."""

    def open_details(self, key: str) -> None:
        """Enter on a row: show what there is to know about it."""
