"""Themes at run time: the built-in ones plus the user's files, checked before the screen starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.theme import BUILTIN_THEMES, Theme

from bridge.config.file import Config
from bridge.config.themes import ThemeSpec, check_theme_name, user_themes
from themes import THEMES, VARIABLE_DEFAULTS

__all__ = [
    "bridge_theme_names",
    "load_user_themes",
    "next_theme",
    "read_user_themes",
    "start_theme",
    "theme_names",
    "to_theme",
]


def to_theme(spec: ThemeSpec) -> Theme:
    c = spec.colours.get
    return Theme(
        name=spec.name,
        primary=spec.colours["primary"],
        secondary=c("secondary"),
        warning=c("warning"),
        error=c("error"),
        success=c("success"),
        accent=c("accent"),
        foreground=c("foreground"),
        background=c("background"),
        surface=c("surface"),
        panel=c("panel"),
        boost=c("boost"),
        dark=spec.dark,
        variables=dict(spec.variables),
    )


def read_user_themes(folder: Path | None = None) -> list[Theme]:
    """The user's theme files as themes; raises ConfigError for a bad file."""
    return [to_theme(s) for s in user_themes(VARIABLE_DEFAULTS.keys(), folder)]


def theme_names(user: list[Theme]) -> list[str]:
    """Every theme `[ui] theme` may name: bridge's, the user's, and Textual's
    own (`nord`, `gruvbox`, ...), which the palette's theme picker offers too."""
    names = [t.name for t in THEMES] + [t.name for t in user]
    return names + [n for n in BUILTIN_THEMES if n not in names]


def load_user_themes(
    config: Config, config_path: Path | None, folder: Path | None = None
) -> list[Theme]:
    """The user's themes; raises ConfigError for a bad file or an unknown `[ui] theme`."""
    extra = read_user_themes(folder)
    names = theme_names(extra)
    check_theme_name(config.ui.theme, names, str(config_path) if config_path else "config")
    return extra


def start_theme(app: App[Any], name: str) -> None:
    """Give an app its first theme, through Textual's own theme watcher."""
    app.theme = name


def bridge_theme_names(app: App[Any]) -> list[str]:
    """The themes `t` cycles through: bridge's own and the user's, not all of Textual's."""
    builtin = [t.name for t in THEMES]
    user = getattr(app, "user_theme_names", [])
    return [n for n in [*builtin, *user] if n in app.available_themes]


def next_theme(app: App[Any]) -> str:
    names = bridge_theme_names(app)
    current = app.theme
    at = names.index(current) if current in names else -1
    app.theme = names[(at + 1) % len(names)]
    return app.theme
