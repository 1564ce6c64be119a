"""New times as operators type them, what a change applies to, and today's timeline strip."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bridge.config.schedule import JobConfig
from bridge.core.models import JobStatusRecord, ScheduleAction
from bridge.schedule.reschedule import TimeError, parse_new_time, target_occurrence
from bridge.schedule.timeline import DayTimes, Slot, day_bounds, timeline_strip

NOW = datetime(2026, 3, 2, 11, 6, tzinfo=UTC).timestamp()
H = 3600.0


def test_new_times() -> None:
    assert parse_new_time("14:30", NOW, UTC) == datetime(2026, 3, 2, 14, 30, tzinfo=UTC).timestamp()
    assert (
        parse_new_time("2026-03-03 02:00", NOW, UTC)
        == datetime(2026, 3, 3, 2, tzinfo=UTC).timestamp()
    )
    assert parse_new_time("+2h", NOW, UTC) == NOW + 2 * H
    # To the minute, as the prompt shows it: 11:06:40 + 2h is 13:06.
    assert parse_new_time("+2h", NOW + 40, UTC) == NOW + 2 * H
    london = ZoneInfo("Europe/London")
    assert (
        parse_new_time("12:00", NOW, london) == datetime(2026, 3, 2, 12, tzinfo=london).timestamp()
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("25:00", "not a time of day"),
        ("noon", "not a time"),
        ("2026-02-30 10:00", "not a date and time"),
        ("09:00", "is in the past"),
        ("2026-03-02 11:06", "is in the past"),
        ("+0m", "more than zero"),
        ("+30s", "less than a minute away"),
        ("+soon", "not a duration"),
        ("2028-01-01 00:00", "more than a year away"),
    ],
)
def test_bad_new_times_say_why(text: str, why: str) -> None:
    with pytest.raises(TimeError, match=why):
        parse_new_time(text, NOW, UTC)


def record(state: str, current: str | None, previous: str | None = None) -> JobStatusRecord:
    data = {
        "current": {"scheduled": 100.0, "due": 100.0, "state": current} if current else None,
        "previous": {"scheduled": 50.0, "due": 50.0, "state": previous} if previous else None,
        "next_due": 200.0,
    }
    return JobStatusRecord("j", state, False, 0.0, data)


def test_which_occurrence_a_change_applies_to() -> None:
    late = record("late", "late")
    assert target_occurrence(late, ScheduleAction.RESCHEDULE) == 100.0
    assert target_occurrence(late, ScheduleAction.DONE) == 100.0
    done = record("succeeded", "succeeded")
    assert target_occurrence(done, ScheduleAction.RESCHEDULE) == 200.0  # the next one
    assert target_occurrence(done, ScheduleAction.DONE) is None
    assert target_occurrence(done, ScheduleAction.RELEASE) is None
    missed = record("missed", "due", "missed")
    assert target_occurrence(missed, ScheduleAction.DONE) == 50.0
    assert target_occurrence(record("held", "held"), ScheduleAction.RELEASE) == 100.0
    assert target_occurrence(None, ScheduleAction.HOLD) is None


def test_timeline_strip_marks_occurrences_trouble_and_now() -> None:
    start, end = day_bounds(NOW, UTC)
    job = JobConfig(name="j", schedule="0 */6 * * *")
    times = DayTimes().times(job, start, end)
    assert [datetime.fromtimestamp(t, UTC).hour for t in times] == [0, 6, 12, 18]
    pairs = [(t, Slot.LATE if t == times[1] else Slot.OK if t < NOW else Slot.PENDING)
             for t in times]  # fmt: skip
    scale, marks, now_col = timeline_strip(pairs, NOW, start, end, 48, UTC)
    assert len(scale) == len(marks) == 48
    assert marks[0] == "─" and marks[12] == "!" and marks[24] == "╌" and marks[36] == "╌"
    assert marks.count("·") == 44
    assert now_col == 22 and scale[now_col] == "▼" and scale.startswith("00 ")


def test_the_timeline_of_a_daylight_saving_day_keeps_its_hours_in_line() -> None:
    # 29 March 2026 in London is 23 hours long: 01:00 becomes 02:00. A fixed
    # offset drew it as 24 hours, so every mark after the change was an hour off.
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    now = datetime(2026, 3, 29, 15, 0, tzinfo=london).timestamp()
    start, end = day_bounds(now, london)
    assert end - start == 23 * 3600
    job = JobConfig(name="j", schedule="0 6 * * *", timezone="Europe/London")
    (six,) = DayTimes().times(job, start, end)
    scale, marks, _ = timeline_strip([(six, Slot.OK)], now, start, end, 46, london)  # 2 cols/hour
    assert marks.index("─") == 10  # five hours after midnight, not six
    assert (scale[10:12], scale[22:24], scale[34:36]) == ("06", "12", "18")


def test_a_local_time_after_a_clock_change_is_not_an_hour_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import datetime as dt
    import time
    from zoneinfo import ZoneInfo

    from bridge.schedule.reschedule import parse_new_time

    berlin = ZoneInfo("Europe/Berlin")
    now = dt.datetime(2027, 3, 1, 12, 0, tzinfo=berlin).timestamp()  # winter time, UTC+1
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        got = parse_new_time("2027-04-01 14:30", now)  # summer time, UTC+2
    finally:
        monkeypatch.undo()
        time.tzset()
    assert got == dt.datetime(2027, 4, 1, 14, 30, tzinfo=berlin).timestamp()


def test_the_schedule_panes_day_follows_this_hosts_daylight_saving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The pane asks for this host's day (no zone): a 23-hour day on the change,
    # where the fixed offset it used to take gave 24.
    import time
    from zoneinfo import ZoneInfo

    now = datetime(2026, 3, 29, 15, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()
    monkeypatch.setenv("TZ", "Europe/London")
    time.tzset()
    try:
        start, end = day_bounds(now)
        scale, _, _ = timeline_strip([], now, start, end, 46)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert end - start == 23 * 3600
    assert scale[10:12] == "06"
