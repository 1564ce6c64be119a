"""Today's occurrences of a set of jobs, as a compact strip of text for the Schedule pane.

One character per slice of the day: `·` nothing due, `│` something due, `!` a job
in trouble is due then; the now-marker `▼` sits on the scale line above. Cron is
evaluated by croniter once per distinct (expression, zone, calendar) per day and
cached, so a redraw for thousands of jobs costs a lookup each.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from bridge.config.schedule import JobConfig

if TYPE_CHECKING:
    from bridge.core.hours import OperationalHours

__all__ = ["DayTimes", "day_bounds", "timeline_strip"]

MAX_PER_DAY = 1440  # an every-minute job: no more are drawn, or cached


def day_bounds(now: float, tz: tzinfo | None = None) -> tuple[float, float]:
    """Local midnight to midnight around `now` (23 or 25 hours on DST days).

    `tz` None is this host's zone with its daylight-saving rules (as the header
    clock shows it); a fixed UTC offset would make a DST day 24 hours long.
    """
    local = datetime.fromtimestamp(now, tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1)).replace(tzinfo=tz)
    return start.timestamp(), end.timestamp()


def _hour_at(start: float, hour: int, tz: tzinfo | None) -> float:
    """When the local clock reads `hour`:00 on the day starting at `start`."""
    return datetime.fromtimestamp(start, tz).replace(hour=hour).timestamp()


class DayTimes:
    """Occurrence times within one day, per job, cached per distinct schedule."""

    def __init__(self, hours: Mapping[str, OperationalHours] | None = None) -> None:
        self.hours = dict(hours or {})
        self._cache: dict[tuple[str, str, str | None, float], list[float]] = {}

    def times(self, job: JobConfig, start: float, end: float) -> list[float]:
        key = (job.schedule, job.timezone, job.calendar, start)
        found = self._cache.get(key)
        if found is not None:
            return found
        if len(self._cache) > 4096:
            self._cache.clear()
        within = self.hours.get(job.calendar) if job.calendar else None
        out: list[float] = []
        # Only hosts with jobs pay these imports.
        from zoneinfo import ZoneInfo

        from croniter import croniter

        try:
            it = croniter(job.schedule, datetime.fromtimestamp(start - 1, ZoneInfo(job.timezone)))
            while len(out) < MAX_PER_DAY:
                t = float(it.get_next(float))
                if t >= end:
                    break
                if within is None or within.contains(t):
                    out.append(t)
        except Exception:  # no further occurrence
            pass
        self._cache[key] = out
        return out

    def next_after(self, job: JobConfig, now: float, tz: tzinfo | None = None) -> float | None:
        """The next occurrence after `now` today or tomorrow (enough for a NEXT column)."""
        start, end = day_bounds(now, tz)
        for day_start, day_end in ((start, end), day_bounds(end + 1, tz)):
            times = self.times(job, day_start, day_end)
            i = bisect.bisect_right(times, now)
            if i < len(times):
                return times[i]
        return None


def timeline_strip(
    occurrences: Iterable[tuple[float, bool]],
    now: float,
    start: float,
    end: float,
    width: int,
    tz: tzinfo | None = None,
) -> tuple[str, str, int]:
    """(scale line, marks line, the now column) for (time, in trouble) pairs in [start, end).

    The hour labels sit where the local clock reads that hour in `tz` (None: this
    host), so after a daylight-saving change they still line up with the marks.
    """
    width = max(8, width)
    span = end - start
    marks = ["·"] * width
    for t, trouble in occurrences:
        if start <= t < end:
            col = min(width - 1, int((t - start) / span * width))
            if trouble:
                marks[col] = "!"
            elif marks[col] != "!":
                marks[col] = "│"
    scale = [" "] * width
    step = 3 if width >= 48 else 6
    for hour in range(0, 24, step):
        col = int((_hour_at(start, hour, tz) - start) / span * width)
        if not 0 <= col < width:
            continue
        label = f"{hour:02d}"
        if col + 2 <= width:
            scale[col : col + 2] = label
    now_col = min(width - 1, max(0, int((now - start) / span * width)))
    scale[now_col] = "▼"
    return "".join(scale), "".join(marks), now_col
