"""What an operator's schedule change applies to, and the new times they type.

Shared by the console's keys and anything else that changes the schedule, so
"this occurrence" and "14:30" mean the same everywhere.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from bridge.core.durations import parse_duration
from bridge.core.models import JobStatusRecord, ScheduleAction

__all__ = ["PENDING", "TimeError", "parse_new_time", "target_occurrence"]

# Occurrence states an operator change still applies to (not yet run or settled).
PENDING = frozenset({"due", "late", "blocked", "held", "rescheduled", "missed"})

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_HHMM = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})$")
HINT = "try 14:30, 2026-03-02 14:30 or +2h"


class TimeError(ValueError):
    """The operator's new time cannot be used; one line saying why."""


def parse_new_time(text: str, now: float, tz: tzinfo | None = None) -> float:
    """A new due time: `HH:MM` today, `YYYY-MM-DD HH:MM`, or `+DURATION` from now, in `tz`
    (default: this host's zone, as the header clock shows). A time already past is an
    error rather than silently tomorrow: the operator must see what they will get."""
    raw = text.strip()
    # Without a zone, naive local times: Python applies this host's rules (DST
    # included) on .timestamp(); today's fixed UTC offset would put a time after
    # a clock change an hour off.
    zone = tz
    local_now = datetime.fromtimestamp(now, zone)
    when: datetime
    if raw.startswith("+"):
        try:
            t = now + parse_duration(raw[1:])
        except ValueError as exc:
            raise TimeError(f"{raw!r}: {exc}") from None
        # To the minute, as the prompt confirms it: the time shown is the time stored.
        t -= t % 60
        if t <= now:
            raise TimeError(f"{raw!r} is less than a minute away")
        return t
    if m := _HHMM.match(raw):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute > 59:
            raise TimeError(f"{raw!r} is not a time of day ({HINT})")
        when = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    elif m := _DATE_HHMM.match(raw):
        try:
            day = datetime.strptime(m.group(1), "%Y-%m-%d")
            hour, minute = int(m.group(2)), int(m.group(3))
            when = day.replace(hour=hour, minute=minute, tzinfo=zone)
        except ValueError:
            raise TimeError(f"{raw!r} is not a date and time ({HINT})") from None
    else:
        raise TimeError(f"{raw!r} is not a time ({HINT})")
    t = when.timestamp()
    if t <= now:
        raise TimeError(f"{when:%Y-%m-%d %H:%M} is in the past")
    if t - now > 366 * 86400:
        raise TimeError(f"{when:%Y-%m-%d %H:%M} is more than a year away")
    return t


def target_occurrence(record: JobStatusRecord | None, action: ScheduleAction) -> float | None:
    """The scheduled time a change to this job applies to: the occurrence that needs
    attention (a missed one, one not yet run), else the next one. None: nothing to change."""
    if record is None:
        return None
    data: dict[str, Any] = record.data
    current = data.get("current")
    previous = data.get("previous")
    if action is ScheduleAction.DONE:
        if previous and previous.get("state") == "missed":
            return float(previous["scheduled"])
        if current and current.get("state") in PENDING | {"failed", "upcoming"}:
            return float(current["scheduled"])
        return None
    if action is ScheduleAction.RELEASE:
        for occ in (current, previous):
            if occ and occ.get("state") == "held":
                return float(occ["scheduled"])
        return None
    if current and current.get("state") in PENDING - {"missed"}:
        return float(current["scheduled"])
    nxt = data.get("next_due")
    return float(nxt) if nxt is not None else None
