"""bridge: a terminal console for IT operations bridges.

The package root holds the core (config, store, rules, runner). Only `bridge.ui`
may import Textual or Rich, so the core can run headless under `bridge collect`.
"""

import time as _time
from pathlib import Path as _Path

__version__ = "0.1.0"

__all__ = ["STARTED_CPU", "__version__"]


def _cpu_counters() -> tuple[float, tuple[str, ...]] | None:
    """The kernel's CPU counter lines of /proc/stat, and when they were read."""
    lines: list[str] = []
    try:
        with _Path("/proc/stat").open(encoding="ascii") as stat:
            for line in stat:
                if not line.startswith("cpu"):
                    break
                lines.append(line)
    except (OSError, ValueError):  # not Linux: the local collector reads its own
        return None
    return _time.monotonic(), tuple(lines)


# Read as `bridge` starts (this is the first module it imports), for the console's
# first local sample: a CPU share is measured over at least 0.25 s
# (collectors.local), and counters read any later, when the collector is
# imported some 0.15 s into the start, left that sample waiting for the span.
STARTED_CPU = _cpu_counters()
