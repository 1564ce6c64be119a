"""Who is acting: every journal row names its actor."""

from __future__ import annotations

import os

from bridge.core.text import safe_text

__all__ = ["OperatorNameError", "operator_name"]

OPERATOR_ENV = "BRIDGE_OPERATOR"
MAX_OPERATOR = 64  # as `T` and `[operator] name` allow


class OperatorNameError(ValueError):
    """--operator or BRIDGE_OPERATOR is no name the journal can keep: the console's
    `T` refuses it, so the command line does too, before acting in it."""


def operator_name(explicit: str | None = None, configured: str | None = None) -> str:
    """--operator, then BRIDGE_OPERATOR, then the config, then the login name."""
    for where, candidate in (
        ("--operator", explicit),
        (OPERATOR_ENV, os.environ.get(OPERATOR_ENV)),
        ("[operator] name", configured),
    ):
        if candidate and candidate.strip():
            name = candidate.strip()
            if len(name) > MAX_OPERATOR or not name.isprintable():
                raise OperatorNameError(
                    f"{where}: '{safe_text(name, single_line=False, limit=80)}' is not a name "
                    f"(at most {MAX_OPERATOR} printable characters)"
                )
            return name
    import getpass  # with termios: only a start without a named operator needs it

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        return f"uid{os.getuid()}"
