"""Operational hours: when the bridge is staffed and service levels count.

Reports measure response times inside these hours only, and jobs may belong to
a calendar. Local wall-clock hours in a named time zone, so a DST change moves
the window with the clock on the wall, as the people on shift expect.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = ["ALWAYS", "DAY_NAMES", "OperationalHours", "parse_hhmm"]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hhmm(text: str) -> int:
    """Minutes after midnight for "HH:MM"; "24:00" is the end of the day."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"{text!r} is not a time of day like 08:30")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > 24 * 60:
        raise ValueError(f"{text!r} is not a time of day like 08:30")
    return value


@dataclass(frozen=True)
class OperationalHours:
    """Open on `days` from `start` to `end` minutes of local time, except holidays."""

    tz: ZoneInfo
    days: frozenset[int]  # 0 = Monday, as date.weekday()
    start: int  # minutes after local midnight
    end: int  # exclusive; 1440 means midnight at the end of the day
    holidays: frozenset[dt.date] = frozenset()
    name: str = "always"

    def _open_on(self, day: dt.date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def _window(self, day: dt.date) -> tuple[float, float]:
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=self.tz)

        def at(minutes: int) -> float:
            d, m = divmod(minutes, 1440)
            local = midnight.replace(hour=m // 60, minute=m % 60) + dt.timedelta(days=d)
            # Re-attach the zone after the date arithmetic so DST is applied to
            # the wall-clock time, not carried over from midnight.
            return local.replace(tzinfo=self.tz).timestamp()

        return at(self.start), at(self.end)

    def contains(self, ts: float) -> bool:
        local = dt.datetime.fromtimestamp(ts, self.tz)
        if not self._open_on(local.date()):
            return False
        opened, closed = self._window(local.date())
        return opened <= ts < closed

    def seconds_within(self, start: float, end: float) -> float:
        """How much of [start, end) falls inside operational hours."""
        if end <= start:
            return 0.0
        day = dt.datetime.fromtimestamp(start, self.tz).date()
        last = dt.datetime.fromtimestamp(end, self.tz).date()
        total = 0.0
        while day <= last:
            if self._open_on(day):
                opened, closed = self._window(day)
                total += max(0.0, min(end, closed) - max(start, opened))
            day += dt.timedelta(days=1)
        return total


ALWAYS = OperationalHours(
    tz=ZoneInfo("UTC"), days=frozenset(range(7)), start=0, end=1440, name="always"
)
