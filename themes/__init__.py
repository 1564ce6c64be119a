"""bridge's themes: Textual `Theme` objects plus the severity and state variables.

The variables are declared once (`VARIABLE_DEFAULTS`) and overridden per theme,
so `.tcss` files name `$severity-critical` and never a colour.
"""

from __future__ import annotations

from textual.theme import Theme

__all__ = ["DEFAULT_THEME", "THEMES", "VARIABLE_DEFAULTS"]

# Declared once; every theme may override any of them.
VARIABLE_DEFAULTS: dict[str, str] = {
    "severity-critical": "#ff5555",
    "severity-major": "#ff8c1a",
    "severity-minor": "#ffd23f",
    "severity-warning": "#e6c84f",
    "severity-info": "#5fafff",
    "severity-ok": "#4ebf71",
    "state-stale": "#ff5555",
    "state-muted": "#8a8a8a",
    "spark": "#5fafff",
}

DEFAULT_THEME = "bridge-dark"

THEMES: list[Theme] = [
    Theme(
        name="bridge-dark",
        primary="#3d8fd1",
        secondary="#2a5f8f",
        accent="#ffa62b",
        warning="#ffa62b",
        error="#ff5555",
        success="#4ebf71",
        foreground="#dcdcdc",
        background="#101418",
        surface="#161c22",
        panel="#1e2630",
        dark=True,
        variables={},
    ),
    Theme(
        name="bridge-light",
        primary="#1f5fa8",
        secondary="#2a5f8f",
        accent="#b35900",
        warning="#9a6700",
        error="#b3261e",
        success="#1e7a3c",
        foreground="#1b1f23",
        background="#f6f7f9",
        surface="#ffffff",
        panel="#e4e8ee",
        dark=False,
        variables={
            "severity-critical": "#c0161d",
            "severity-major": "#b34700",
            "severity-minor": "#8a6d00",
            "severity-warning": "#7a6400",
            "severity-info": "#1f5fa8",
            "severity-ok": "#1e7a3c",
            "state-stale": "#c0161d",
            "state-muted": "#6b6f76",
            "spark": "#1f5fa8",
        },
    ),
    # For wall screens across a room: pure colours on black, nothing subtle.
    Theme(
        name="bridge-contrast",
        primary="#ffffff",
        secondary="#ffff00",
        accent="#ffff00",
        warning="#ffff00",
        error="#ff0000",
        success="#00ff00",
        foreground="#ffffff",
        background="#000000",
        surface="#000000",
        panel="#1a1a1a",
        dark=True,
        variables={
            "severity-critical": "#ff0000",
            "severity-major": "#ff8000",
            "severity-minor": "#ffff00",
            "severity-warning": "#ffff80",
            "severity-info": "#00ffff",
            "severity-ok": "#00ff00",
            "state-stale": "#ff00ff",
            "state-muted": "#c0c0c0",
            "spark": "#00ffff",
        },
    ),
    # Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
    Theme(
        name="bridge-colorblind",
        primary="#0072b2",
        secondary="#56b4e9",
        accent="#e69f00",
        warning="#e69f00",
        error="#d55e00",
        success="#009e73",
        foreground="#e8e8e8",
        background="#111111",
        surface="#1a1a1a",
        panel="#262626",
        dark=True,
        variables={
            "severity-critical": "#d55e00",
            "severity-major": "#e69f00",
            "severity-minor": "#f0e442",
            "severity-warning": "#f0e442",
            "severity-info": "#56b4e9",
            "severity-ok": "#009e73",
            "state-stale": "#cc79a7",
            "state-muted": "#9a9a9a",
            "spark": "#56b4e9",
        },
    ),
]
