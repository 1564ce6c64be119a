"""Today's occurrences of a set of jobs, as a compact strip of text for the Schedule pane.

One character per slice of the day, showing the worst state of what is due in
it (`Slot`): a glyph per state, so the strip reads the same in monochrome, and
an every-minute job draws a line of outcomes (done `─`, to come `╌`, running,
late, failed; `?` where no engine has judged it), not a wall of identical marks.
The scale line above keeps its hour labels and carries the now-marker `▼` in a
cell of its own: a label the marker would touch moves aside by a column or two
rather than lose a digit. Cron is evaluated by croniter once per distinct
(expression, zone, calendar) per day and cached, so a redraw for thousands of
jobs costs a lookup each.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from bridge.config.schedule import JobConfig

if TYPE_CHECKING:
    from bridge.core.hours import OperationalHours

__all__ = [
    "GLYPH",
    "DayTimes",
    "Slot",
    "day_bounds",
    "marks_line",
    "scale_line",
    "slot_of",
    "timeline_strip",
]

MAX_PER_DAY = 1440  # an every-minute job: no more are drawn, or cached


class Slot(enum.IntEnum):
    """What a slice of the day holds, worst last: a slice shows its worst occurrence."""

    NONE = 0  # nothing due
    OK = 1  # due earlier and not in trouble (succeeded, or no longer the engine's concern)
    PENDING = 2  # still to come (upcoming, due within its grace, held, rescheduled)
    UNKNOWN = 3  # due earlier, and no schedule engine has judged the job: nobody can vouch
    RUNNING = 4
    LATE = 5  # late, overrunning, blocked by a dependency
    FAILED = 6  # failed or missed


# One distinct shape per state: colour is a second channel, never the only one.
GLYPH = {
    Slot.NONE: "·",
    Slot.OK: "─",
    Slot.PENDING: "╌",
    Slot.UNKNOWN: "?",
    Slot.RUNNING: "▶",
    Slot.LATE: "!",
    Slot.FAILED: "✖",
}

_OF_STATE = {
    "failed": Slot.FAILED,
    "missed": Slot.FAILED,
    "late": Slot.LATE,
    "overrunning": Slot.LATE,
    "blocked": Slot.LATE,
    "running": Slot.RUNNING,
    "succeeded": Slot.OK,
}


def slot_of(state: str | None, t: float, now: float, *, judged: bool = True) -> Slot:
    """An occurrence's slot state from the engine's word for it (None: no word).

    Without one, an occurrence before `now` is drawn as done when the engine has
    judged the job (`judged`): it keeps a job in its failed, missed or late state
    until a later occurrence settles it, and those occurrences carry their state
    here. Of a job no engine has judged, nothing past is known.
    """
    found = _OF_STATE.get(state or "")
    if found is not None:
        return found
    if t > now or state is not None:
        return Slot.PENDING
    return Slot.OK if judged else Slot.UNKNOWN


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
        self._columns: dict[tuple[int, float, float, int], list[tuple[int, int, int]]] = {}

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

    def columns(
        self, times: list[float], start: float, end: float, width: int
    ) -> list[tuple[int, int, int]]:
        """(column, first index, index past the last) of `times` per column they fall in.

        Computed once per list of times (they are cached and shared by every job
        on one schedule) and width, so a redraw costs a step per column, not per
        occurrence: an every-minute job has 1 440 of them.
        """
        key = (id(times), start, end, width)
        found = self._columns.get(key)
        if found is not None:
            return found
        if len(self._columns) > 4096:
            self._columns.clear()
        runs: list[tuple[int, int, int]] = []
        for i, t in enumerate(times):
            col = _column(t, start, end, width)
            if runs and runs[-1][0] == col:
                runs[-1] = (col, runs[-1][1], i + 1)
            else:
                runs.append((col, i, i + 1))
        self._columns[key] = runs
        return runs

    def slots(
        self,
        job: JobConfig,
        now: float,
        start: float,
        end: float,
        width: int,
        known: Mapping[float, str] | None = None,
        moved: Iterable[float] = (),
        *,
        judged: bool = True,
    ) -> Iterator[tuple[int, Slot]]:
        """(column, worst slot) for one job's day: what `timeline_strip` draws from
        each occurrence's `slot_of`, the same, a step per column.

        `known` is the engine's word per due time (the job's current and previous
        occurrences), `moved` the cron times an operator moved away from.
        """
        times = self.times(job, start, end)
        now_at = bisect.bisect_right(times, now)  # times[:now_at] are past
        past = Slot.OK if judged else Slot.UNKNOWN
        # Occurrences not drawn by the default rule: index -> their slot (None: moved away).
        special: dict[int, Slot | None] = {}
        for t in moved:
            i = bisect.bisect_left(times, t)
            if i < len(times) and times[i] == t:
                special[i] = None
        for t, state in (known or {}).items():
            slot = slot_of(state, t, now, judged=judged)
            i = bisect.bisect_left(times, t)
            if i < len(times) and times[i] == t:
                special[i] = slot
            elif start <= t < end:  # an occurrence moved here
                yield _column(t, start, end, width), slot
        for col, lo, hi in self.columns(times, start, end, width):
            if special and any(lo <= i < hi for i in special):
                worst = Slot.NONE
                for i in range(lo, hi):
                    drawn = special.get(i, past if i < now_at else Slot.PENDING)
                    if drawn is not None and drawn > worst:
                        worst = drawn
                if worst is not Slot.NONE:
                    yield col, worst
            elif hi <= now_at:
                yield col, past
            elif lo >= now_at:
                yield col, Slot.PENDING
            else:  # the column now is in: some past, some to come
                yield col, max(past, Slot.PENDING)

    def next_after(self, job: JobConfig, now: float, tz: tzinfo | None = None) -> float | None:
        """The next occurrence after `now` today or tomorrow (enough for a NEXT column)."""
        start, end = day_bounds(now, tz)
        for day_start, day_end in ((start, end), day_bounds(end + 1, tz)):
            times = self.times(job, day_start, day_end)
            i = bisect.bisect_right(times, now)
            if i < len(times):
                return times[i]
        return None


def _column(t: float, start: float, end: float, width: int) -> int:
    return min(width - 1, int((t - start) / (end - start) * width))


def timeline_strip(
    occurrences: Iterable[tuple[float, Slot]],
    now: float,
    start: float,
    end: float,
    width: int,
    tz: tzinfo | None = None,
) -> tuple[str, str, int]:
    """(scale line, marks line, the now column) for (time, slot state) pairs in [start, end).

    Each column shows the worst state due in it (`marks_line`); `DayTimes.slots`
    gives the same worst states a column at a time.
    """
    width = max(8, width)
    worst = [Slot.NONE] * width
    for t, state in occurrences:
        if start <= t < end:
            col = _column(t, start, end, width)
            if state > worst[col]:
                worst[col] = state
    scale, now_col = scale_line(now, start, end, width, tz)
    return scale, marks_line(worst), now_col


def marks_line(worst: Iterable[Slot]) -> str:
    """One glyph per column, of its worst slot."""
    return "".join(GLYPH[s] for s in worst)


def scale_line(
    now: float, start: float, end: float, width: int, tz: tzinfo | None = None
) -> tuple[str, int]:
    """(the hour scale, the now column) `width` columns wide.

    The hour labels sit where the local clock reads that hour in `tz` (None:
    this host), so after a daylight-saving change they still line up with the
    marks; the now-marker has its own cell and never replaces a digit.
    """
    width = max(8, width)
    span = end - start
    now_col = min(width - 1, max(0, int((now - start) / span * width)))
    scale = [" "] * width
    scale[now_col] = "▼"
    step = 3 if width >= 48 else 6
    for hour in range(0, 24, step):
        col = int((_hour_at(start, hour, tz) - start) / span * width)
        at = _label_at(col, now_col, width)
        if at is not None:
            scale[at : at + 2] = f"{hour:02d}"
    return "".join(scale), now_col


def _label_at(col: int, now_col: int, width: int) -> int | None:
    """Where a two-digit label for column `col` goes: there, or the nearest place
    (at most two columns away) that leaves the now-marker its own cell."""
    if not 0 <= col < width:
        return None
    for at in (col, col + 1, col - 1, col + 2, col - 2):
        if at >= 0 and at + 2 <= width and not at <= now_col < at + 2:
            return at
    return None
