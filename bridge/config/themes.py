"""User theme files: `$XDG_CONFIG_HOME/bridge/themes/*.toml`, checked without Textual.

A wall screen in a dim control room or a site's own colours should not need a
code change, so users add themes as data. A bad file is one line naming the file
and the key, like a bad config, and stops the console before the screen starts.

    name = "night-shift"
    dark = true
    primary = "#3d8fd1"          # required; the other base colours are optional
    background = "#000000"
    [variables]                  # any of the app variables, e.g. the severities
    severity-critical = "#ff2020"
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from bridge.config.file import ConfigError, loads_toml, unknown_theme
from bridge.core import paths

__all__ = [
    "BASE_COLOURS",
    "BUILTIN_THEMES",
    "ThemeSpec",
    "check_theme_name",
    "load_theme_file",
    "user_themes",
    "user_themes_dir",
]

# The themes bridge ships (themes/__init__.py builds them; a test keeps the two in step).
BUILTIN_THEMES: tuple[str, ...] = (
    "bridge-dark",
    "bridge-light",
    "bridge-contrast",
    "bridge-colorblind",
)

# Textual Theme's base colours a file may set; `primary` is required.
BASE_COLOURS: tuple[str, ...] = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)

_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_MAX_FILES = 64
_MAX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    """A user theme file as read and checked; the UI makes a Textual Theme of it
    (the core does not import Textual)."""

    name: str
    dark: bool
    colours: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


def user_themes_dir() -> Path:
    return paths.user_config_dir() / "themes"


def _colour(where: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not _COLOUR.fullmatch(value):
        raise ConfigError(
            [f"{where}: {key}: a colour is #rgb, #rrggbb or #rrggbbaa (got {value!r})"]
        )
    return value


def load_theme_file(path: Path, known_variables: Collection[str]) -> ThemeSpec:
    """Parse and check one theme file; raise ConfigError (one line naming it) if bad."""
    where = str(path)
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise ConfigError([f"{where}: theme file is larger than {_MAX_BYTES // 1024} KiB"])
        raw = loads_toml(path.read_text(encoding="utf-8"), where)
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{where}: theme file is not UTF-8 text ({exc.reason})"]) from None
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read theme file: {exc.strerror}"]) from None
    allowed = {"name", "dark", "variables", *BASE_COLOURS}
    for key in raw:
        if key not in allowed:
            raise ConfigError(
                [
                    f"{where}: {key}: unknown key (allowed: name, dark, {', '.join(BASE_COLOURS)}, [variables])"
                ]
            )
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            [f"{where}: name: required; lower-case letters, digits, '-' and '_' (got {name!r})"]
        )
    if name in BUILTIN_THEMES:
        raise ConfigError([f"{where}: name: {name!r} is a built-in theme; choose another name"])
    dark = raw.get("dark", True)
    if not isinstance(dark, bool):
        raise ConfigError([f"{where}: dark: true or false (got {dark!r})"])
    if "primary" not in raw:
        raise ConfigError([f'{where}: primary: required (a colour such as "#3d8fd1")'])
    colours = {k: _colour(where, k, raw[k]) for k in BASE_COLOURS if k in raw}
    variables_raw = raw.get("variables", {})
    if not isinstance(variables_raw, dict):
        raise ConfigError([f"{where}: variables: a table of variable = colour"])
    variables: dict[str, str] = {}
    for key, value in variables_raw.items():
        if key not in known_variables:
            raise ConfigError(
                [
                    f"{where}: variables.{key}: unknown variable (known: {', '.join(sorted(known_variables))})"
                ]
            )
        variables[key] = _colour(where, f"variables.{key}", value)
    return ThemeSpec(name=name, dark=dark, colours=colours, variables=variables, path=path)


def user_themes(known_variables: Collection[str], folder: Path | None = None) -> list[ThemeSpec]:
    """Every theme file in the user's themes folder, in file-name order."""
    folder = folder or user_themes_dir()
    try:
        if not folder.is_dir():
            return []
        paths = sorted(folder.glob("*.toml"))[:_MAX_FILES]
    except OSError as exc:  # a name too long, a folder not ours to read
        raise ConfigError(
            [f"{folder}: cannot read the themes folder: {exc.strerror or exc}"]
        ) from None
    specs: list[ThemeSpec] = []
    seen: dict[str, Path] = {}
    for path in paths:
        spec = load_theme_file(path, known_variables)
        if spec.name in seen:
            raise ConfigError(
                [f"{path}: name: theme {spec.name!r} is already defined in {seen[spec.name]}"]
            )
        seen[spec.name] = path
        specs.append(spec)
    return specs


def check_theme_name(name: str, available: Collection[str], source: str) -> None:
    """The configured theme must exist; the error lists every theme there is."""
    problem = unknown_theme(name, available)
    if problem is not None:
        raise ConfigError([f"{source}: {problem}"])
