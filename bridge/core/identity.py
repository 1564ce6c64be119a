"""Who is acting: every journal row names its actor."""

from __future__ import annotations

import os

__all__ = ["operator_name"]

OPERATOR_ENV = "BRIDGE_OPERATOR"


def operator_name(explicit: str | None = None, configured: str | None = None) -> str:
    """--operator, then BRIDGE_OPERATOR, then the config, then the login name."""
    for candidate in (explicit, os.environ.get(OPERATOR_ENV), configured):
        if candidate and candidate.strip():
            return candidate.strip()
    import getpass  # with termios: only a start without a named operator needs it

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        return f"uid{os.getuid()}"
