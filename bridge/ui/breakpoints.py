"""The screen's breakpoint classes for the terminal's size, as Textual chooses them.

Separate so that the console and the wall, which both declare breakpoints, give
their first screen its classes before the first layout (see `breakpoint_classes`).
"""

from __future__ import annotations

from typing import Any

from textual.app import App

__all__ = ["breakpoint_class", "breakpoint_classes"]


def breakpoint_class(dimension: int, breakpoints: list[tuple[int, str]] | None) -> str | None:
    """The class of the widest breakpoint that `dimension` reaches, as Textual's
    Screen picks it on a resize (the largest threshold not above the size)."""
    for threshold, name in sorted(breakpoints or [], reverse=True):
        if dimension >= threshold:
            return name
    return None


def breakpoint_classes(app: App[Any]) -> list[str]:
    """The classes Textual will give the app's screens for the terminal's present size.

    Textual applies them on a resize only after it has laid out and painted the
    screen for that size, so a first screen without them is painted a second time
    with them: a screen created with them already is painted once.
    """
    size = app.size
    found = (
        breakpoint_class(size.width, app.HORIZONTAL_BREAKPOINTS),
        breakpoint_class(size.height, app.VERTICAL_BREAKPOINTS),
    )
    return [name for name in found if name is not None]
