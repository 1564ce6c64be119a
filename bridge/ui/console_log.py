"""Where log lines go while the full-screen console runs.

A warning written to stderr lands on top of the drawn screen (a dead device
logs one per poll) and stays there until the next full repaint. While the
console owns the terminal, the root logger writes to a file beside the store
instead; `bridge collect` and the other commands keep logging to stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

__all__ = ["log_to_file"]

LOG_NAME = "console.log"
MAX_BYTES = 1_000_000


def log_to_file(store_path: Path) -> Path | None:
    """Move the root logger's stderr handlers to `<store dir>/console.log`; return the file."""
    root = logging.getLogger()
    path: Path | None = store_path.expanduser().parent / LOG_NAME
    assert path is not None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Rotated while it runs too: a console left up for weeks beside a dead
        # device must not fill the disk.
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=1, encoding="utf-8"
        )
    except OSError:
        handler, path = logging.NullHandler(), None  # quiet is better than a garbled screen
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in list(root.handlers):
        stream = getattr(old, "stream", None)
        if stream in (sys.stderr, sys.__stderr__, sys.stdout, sys.__stdout__):
            root.removeHandler(old)
    root.addHandler(handler)
    return path
