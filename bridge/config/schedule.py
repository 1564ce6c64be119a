"""Config for the operations schedule: `[[jobs]]`, `[calendars]` and `[[maintenance]]`.

The checks that need croniter or zoneinfo import them only when a job, a calendar
or a window is actually checked, so a config without a schedule never pays for them."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, ClassVar, Literal

from bridge.config.records import Field, Model, PositiveSeconds

if TYPE_CHECKING:
    from bridge.core.hours import OperationalHours


def _known_zone(value: str) -> str:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _valid_cron(value: str) -> str:
    from croniter import croniter  # ~30 ms to import: only when there is a schedule to check

    value = value.strip()
    try:
        valid = croniter.is_valid(value)
    except Exception:  # croniter raises odd types for odd input
        valid = False
    if not valid:
        raise ValueError(f"invalid cron expression {value!r}")
    return value


def _dependency_names(value: list[str]) -> list[str]:
    for i, name in enumerate(value):
        if not name.strip():
            raise ValueError(f"depends_on[{i}] is empty")
    return list(dict.fromkeys(value))


def _time_of_day(value: str) -> str:
    from bridge.core.hours import parse_hhmm

    parse_hhmm(value)
    return value.strip()


class JobConfig(Model):
    _suggest: ClassVar[dict[str, str]] = {
        "cron": "schedule",
        "tz": "timezone",
        "time_zone": "timezone",
        "depends": "depends_on",
        "after": "depends_on",
    }

    name: str = Field(min_length=1, max_length=64)
    schedule: str = Field(min_length=1, description="cron expression", check=_valid_cron)
    timezone: str = Field(default="UTC", check=_known_zone)
    duration: PositiveSeconds | None = None
    grace: float = Field(default=300, ge=0)
    max_runtime: PositiveSeconds | None = None
    depends_on: list[str] = Field(default=[], check=_dependency_names)
    hosts: list[str] = []
    owner: str | None = None
    runbook: str | None = None
    calendar: str | None = (
        None  # a [calendars.NAME]: occurrences outside its hours are not expected
    )
    maintenance: bool = False  # a running occurrence opens a maintenance window for `hosts`


class MaintenanceConfig(Model):
    """A maintenance window: events for `hosts` (globs) are stored but suppressed while open.

    Either recurring (cron `schedule` + `duration` seconds, in `timezone`) or fixed
    (`start`/`end`; a time without an offset is read in `timezone`).
    """

    _suggest: ClassVar[dict[str, str]] = {"cron": "schedule", "tz": "timezone"}

    name: str = Field(min_length=1, max_length=64)
    hosts: list[str] = Field(min_length=1)
    schedule: str | None = Field(default=None, check=_valid_cron)
    duration: float | None = Field(default=None, gt=0, le=7 * 86400)
    timezone: str = Field(default="UTC", check=_known_zone)
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None

    def _check(self) -> None:
        cron = self.schedule is not None or self.duration is not None
        fixed = self.start is not None or self.end is not None
        problem = None
        if cron and fixed:
            problem = "give either schedule + duration or start + end, not both"
        elif cron and (self.schedule is None or self.duration is None):
            problem = "a recurring window needs both schedule and duration (seconds)"
        elif fixed and (self.start is None or self.end is None):
            problem = "a fixed window needs both start and end"
        elif not cron and not fixed:
            problem = "give either schedule + duration or start + end"
        elif fixed and self.fixed_span()[1] <= self.fixed_span()[0]:
            problem = f"end ({self.end}) must be after start ({self.start})"
        if problem:
            raise ValueError(f"window {self.name!r}: {problem}")

    def fixed_span(self) -> tuple[float, float]:
        """(start, end) as epoch seconds, for a fixed window."""
        import zoneinfo

        assert self.start is not None and self.end is not None
        tz = zoneinfo.ZoneInfo(self.timezone)

        def epoch(t: datetime.datetime) -> float:
            return (t if t.tzinfo is not None else t.replace(tzinfo=tz)).timestamp()

        return epoch(self.start), epoch(self.end)


class CalendarConfig(Model):
    """Operational hours: `[calendars.business]` with days, start, end, timezone."""

    timezone: str = Field(default="UTC", check=_known_zone)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    ]
    start: str = Field(default="00:00", check=_time_of_day)
    end: str = Field(default="24:00", check=_time_of_day)
    holidays: list[datetime.date] = []

    def _check(self) -> None:
        from bridge.core.hours import parse_hhmm

        if parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if not self.days:
            raise ValueError("days is empty: the calendar would never be open")

    def hours(self, name: str) -> OperationalHours:
        import zoneinfo

        from bridge.core.hours import DAY_NAMES, OperationalHours, parse_hhmm

        return OperationalHours(
            tz=zoneinfo.ZoneInfo(self.timezone),
            days=frozenset(DAY_NAMES.index(d) for d in self.days),
            start=parse_hhmm(self.start),
            end=parse_hhmm(self.end),
            holidays=frozenset(self.holidays),
            name=name,
        )
