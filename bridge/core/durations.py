"""Durations as operators type them: 90s, 30m, 2h, 1d, 1h30m."""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_S = 90 * 86400


def parse_duration(text: str) -> float:
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isdigit():
        cleaned += "m"  # a bare number is minutes, the usual unit for a shelve
    pos = 0
    total = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    if not cleaned or pos != len(cleaned):
        raise ValueError(f"{text.strip()!r} is not a duration (try 30m, 2h, 1d, 1h30m)")
    if total <= 0:
        raise ValueError("the duration must be more than zero")
    if total > MAX_S:
        raise ValueError("the duration is longer than 90 days")
    return total
