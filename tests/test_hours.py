"""Operational hours: local wall-clock windows, DST, holidays, config errors."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bridge.config.file import ConfigError, parse_config
from bridge.core.hours import ALWAYS, parse_hhmm

LONDON = ZoneInfo("Europe/London")


def ts(text: str, tz: ZoneInfo = LONDON) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def business(extra: str = "") -> str:
    return (
        f'[calendars.business]\ntimezone = "Europe/London"\nstart = "08:00"\nend = "18:00"\n{extra}'
    )


def test_contains_respects_days_hours_and_holidays() -> None:
    hours = parse_config(business('holidays = ["2026-12-25"]'), "t.toml").hours("business")
    assert hours.contains(ts("2026-11-23T08:00"))  # Monday, opening minute
    assert not hours.contains(ts("2026-11-23T18:00"))  # closing is exclusive
    assert not hours.contains(ts("2026-11-22T12:00"))  # Sunday
    assert not hours.contains(ts("2026-12-25T12:00"))  # holiday, a Friday
    assert ALWAYS.contains(ts("2026-11-22T03:00"))


def test_seconds_within_spans_days_and_dst() -> None:
    hours = parse_config(business(), "t.toml").hours("business")
    # Friday 17:00 to Monday 09:00: one hour on Friday, one on Monday.
    assert hours.seconds_within(ts("2026-11-20T17:00"), ts("2026-11-23T09:00")) == 7200
    # The week the clocks go back (Sunday 25 Oct 2026): still 10 h a weekday.
    week = hours.seconds_within(ts("2026-10-19T00:00"), ts("2026-10-31T00:00"))
    assert week == 10 * 3600 * 10
    assert hours.seconds_within(ts("2026-11-23T12:00"), ts("2026-11-23T11:00")) == 0


def test_parse_hhmm_edges() -> None:
    assert parse_hhmm("24:00") == 1440
    for bad in ("8", "08:60", "24:01", "aa:bb", "8:5"):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('start = "18:00"\nend = "08:00"', "end (08:00) must be after start (18:00)"),
        ('start = "8h"', "'8h' is not a time of day like 08:30"),
        ('timezone = "Moon/Base"', "unknown time zone 'Moon/Base'"),
        ("days = []", "days is empty"),
    ],
)
def test_calendar_errors_are_one_line(extra: str, message: str) -> None:
    text = f"[calendars.night]\n{extra}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "t.toml")
    assert len(caught.value.lines) == 1
    assert "calendars.night" in caught.value.lines[0]
    assert message in caught.value.lines[0]
