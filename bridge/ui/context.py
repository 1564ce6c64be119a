"""What the console's widgets may use of the app that hosts them.

The panes, views and dialogs are the console's parts, and the console app
composes them: were they to import the app for its type, every pane would
import the module that imports every pane. They import this instead, and the
app (bridge.ui.app) is a ConsoleApp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App
from textual.dom import DOMNode

if TYPE_CHECKING:
    from textual.signal import Signal

    from bridge.config.file import Config
    from bridge.core.clock import Clock
    from bridge.core.models import Change
    from bridge.store import Store

__all__ = ["ConsoleApp", "console_of"]


class ConsoleApp(App[int]):
    """The console as its widgets see it: the store, the config, the clock and the
    operator, and the few things they ask of it."""

    config: Config
    clock: Clock
    operator: str
    hostname: str
    stale_after: float  # seconds after which this host's figures are stale
    in_flight: int  # operator actions not yet committed to the store
    store_changed: Signal[list[Change]]

    @property
    def store(self) -> Store:
        raise NotImplementedError

    def action_zoom(self) -> None:
        """Zoom the focused pane to the whole screen, or back."""

    async def sign_on(self, name: str) -> None:
        """Act as `name` from now on (journalled), e.g. after they accept the handover."""
        raise NotImplementedError

    def poke_schedule(self) -> None:
        """Re-evaluate the schedule at once after an operator's change (if this
        console runs the schedule)."""


def console_of(node: DOMNode) -> ConsoleApp:
    """The console hosting `node`."""
    app = node.app
    if not isinstance(app, ConsoleApp):
        raise TypeError(f"{type(node).__name__} is one of the bridge console's widgets")
    return app
