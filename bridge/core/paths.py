"""XDG locations, computed at call time so an overridden environment is honoured."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "cache_dir",
    "config_path",
    "data_dir",
    "default_store_path",
    "state_dir",
    "user_config_dir",
]

CONFIG_ENV = "BRIDGE_CONFIG"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var, "").strip()
    # The XDG spec says relative paths are invalid and must be ignored.
    if value and Path(value).is_absolute():
        return Path(value)
    return Path.home() / fallback


def user_config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "bridge"


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "bridge"


def cache_dir() -> Path:
    """What can be made again (parsed stylesheets): safe to delete at any time."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "bridge"


def state_dir() -> Path:
    """What the console remembers between starts (the operator's theme): not config, not data."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "bridge"


def default_store_path() -> Path:
    return data_dir() / "bridge.db"


def config_path(explicit: str | None) -> tuple[Path, bool]:
    """Return the config path and whether the user named it.

    A named file must exist; the default one may be absent (then defaults apply).
    """
    if explicit:
        return Path(explicit).expanduser(), True
    env = os.environ.get(CONFIG_ENV, "").strip()
    if env:
        return Path(env).expanduser(), True
    return user_config_dir() / "config.toml", False
