"""What the console's widgets are given instead of the app that hosts them.

The panes, views and dialogs are the console's parts, and the app composes
them: were they to import the app (or check they sit in one), every pane would
import the module that imports every pane. The app builds one ConsoleContext
and hands it to each part it creates; the parts read through it (the store, the
config, the clock) and send the operator's changes up as messages
(bridge.ui.messages), which the app saves (bridge.ui.actions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.signal import Signal

    from bridge.config.file import Config
    from bridge.core.clock import Clock
    from bridge.core.models import Change
    from bridge.store import Store

__all__ = ["ConsoleContext"]


@dataclass(frozen=True, eq=False)
class ConsoleContext:
    """The console as its widgets see it. Fixed for the console's life; the store
    (opened once the app loads) and the operator (who may sign on, `T`) are read
    through the app's accessors, so a widget always sees the current ones."""

    config: Config
    clock: Clock
    hostname: str
    stale_after: float  # seconds after which this host's figures are stale
    store_changed: Signal[list[Change]]  # every commit the change feed delivers
    current_store: Callable[[], Store]
    current_operator: Callable[[], str]

    @property
    def store(self) -> Store:
        """The store, for reading: a widget's changes go up as messages instead
        (tests/test_ui_data_flow.py checks that no widget writes)."""
        return self.current_store()

    @property
    def operator(self) -> str:
        """Who has the bridge now: named in the prompts."""
        return self.current_operator()
