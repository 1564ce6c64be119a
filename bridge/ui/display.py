"""Display modes for SSH and plain terminals: monochrome and low bandwidth.

Monochrome (`[ui] monochrome`, `--mono`, or NO_COLOR in the environment) uses
Textual's own no-colour filter and the `-mono` class on the app, under which the
stylesheets carry severity by bold and reverse; the words and symbols are there
in every mode. Low bandwidth (`[ui] low_bandwidth`, `--low-bandwidth`) turns off
animations, shows the clock to the minute, and redraws sample-driven panes at
most every LOW_BW_SAMPLES_S seconds.
"""

from __future__ import annotations

import os
from typing import Any

from textual.app import App

from bridge.config.file import Config
from bridge.core.models import Change
from bridge.core.timefmt import use_display_zone

__all__ = [
    "LOW_BW_AGE_REDRAW_S",
    "LOW_BW_EVENTS_S",
    "LOW_BW_FEED_S",
    "LOW_BW_SAMPLES_S",
    "SampleThrottle",
    "before_app_init",
    "configure_app",
]

LOW_BW_FEED_S = 2.0  # change feed poll interval
LOW_BW_SAMPLES_S = 10.0  # sample-driven redraws at most this often
LOW_BW_AGE_REDRAW_S = 30  # event ages are redrawn this often
LOW_BW_EVENTS_S = 1.5  # a burst of event changes is drawn once per this (feed + this <= 4 s)


def before_app_init(config: Config) -> None:
    """Textual reads NO_COLOR when the App is created; a configured monochrome sets it."""
    if config.ui.monochrome:
        os.environ["NO_COLOR"] = "1"


def configure_app(app: App[Any], config: Config) -> None:
    use_display_zone(config.ui.time)
    if app.no_color:
        app.add_class("-mono")
    if config.ui.low_bandwidth:
        app.animation_level = "none"
        app.add_class("-low-bandwidth")


class SampleThrottle:
    """Holds back sample ("reading") changes and lets them through at most every `period` s.

    Other changes (events, jobs, the lease) pass at once: an operator's ack must
    still show within a second; a CPU figure can wait.
    """

    def __init__(self, period: float = LOW_BW_SAMPLES_S) -> None:
        self.period = period
        self._held: dict[str, Change] = {}
        self._sent_at = float("-inf")

    def hold(self, changes: list[Change], now: float) -> list[Change]:
        """The changes to deliver now; readings are kept (latest per ref) for `due`,
        unless the period has already passed (the first reading shows at once)."""
        if now - self._sent_at >= self.period:
            self._sent_at = now
            self._held.clear()
            return changes
        rest: list[Change] = []
        for change in changes:
            if change.kind == "reading":
                self._held[change.ref] = change
            else:
                rest.append(change)
        return rest

    def due(self, now: float) -> list[Change]:
        """Held readings, if the period has passed since the last release."""
        if not self._held or now - self._sent_at < self.period:
            return []
        self._sent_at = now
        out = list(self._held.values())
        self._held.clear()
        return out
