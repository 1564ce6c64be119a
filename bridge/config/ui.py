"""Config for the console: `[ui]` (theme, time zone, bell, display modes) and `[operator]`."""

from __future__ import annotations

from typing import Literal

from bridge.config.records import Field, Model


class OperatorConfig(Model):
    name: str | None = Field(default=None, min_length=1, max_length=64)


class UiConfig(Model):
    theme: str = "bridge-dark"
    # The zone of every time on screen and in reports; the console's header names it.
    time: Literal["local", "utc"] = "local"
    stale_after_intervals: float = Field(default=3, gt=0)
    monochrome: bool = False  # severity by words, symbols, bold and reverse only
    low_bandwidth: bool = False  # no animations, minute clock, slower redraws
    # A new event at this severity or above rings the terminal bell and flashes the pane.
    bell: Literal["off", "major", "critical"] = "critical"
