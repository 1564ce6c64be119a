"""What the console remembers between starts: the theme the operator chose.

An operator who picks a theme (`t`, or the palette's theme picker) expects it at
the next start, like any terminal program's. It lives in the XDG state folder,
not in the config file, which is the site's and may not be writable. The choice
is kept together with the config's `[ui] theme` of that moment: when the config
names another theme later, that newer decision wins.

A missing, unreadable or garbled file means "nothing remembered", never an
error: a preference must not stop a console from starting.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bridge.core import paths

__all__ = ["remember_theme", "remembered_theme", "theme_file"]

log = logging.getLogger(__name__)

_MAX_NAME = 64


def theme_file() -> Path:
    return paths.state_dir() / "theme"


def remembered_theme(config_theme: str) -> str | None:
    """The theme chosen last, if the config still names the theme it named then."""
    try:
        text = theme_file().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    if len(lines) != 2 or not all(0 < len(line) <= _MAX_NAME for line in lines):
        return None
    chosen, configured = lines
    return chosen if configured == config_theme else None


def remember_theme(name: str, config_theme: str) -> None:
    """Keep `name` for the next start; written whole or not at all."""
    path = theme_file()
    if not (0 < len(name) <= _MAX_NAME and "\n" not in name):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(f"{name}\n{config_theme}\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot remember the theme in %s: %s", path, exc.strerror)
