"""The Schedule pane's day strip as pure text: each slot's worst state by a glyph of
its own, the hour labels kept at the widths the console runs at, and the now-marker
in a cell of its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.config.schedule import JobConfig
from bridge.schedule.timeline import (
    GLYPH,
    DayTimes,
    Slot,
    day_bounds,
    marks_line,
    slot_of,
    timeline_strip,
)

NOW = datetime(2026, 3, 2, 11, 6, tzinfo=UTC).timestamp()
LABELS = [f"{h:02d}" for h in range(0, 24, 3)]
# The timeline's width in the Schedule pane: 80 columns, the left column at 120, 120 zoomed.
WIDTHS = [78, 70, 118]


def strip_for(
    job: JobConfig, now: float, width: int, known: dict[float, str] | None = None
) -> tuple[str, str, int]:
    """The strip of one job's day, with the engine's word for some occurrences."""
    start, end = day_bounds(now, UTC)
    words = known or {}
    pairs = [(t, slot_of(words.get(t), t, now)) for t in DayTimes().times(job, start, end)]
    return timeline_strip(pairs, now, start, end, width, UTC)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_every_minute_job_draws_its_outcomes_not_a_wall(width: int) -> None:
    job = JobConfig(name="ping", schedule="* * * * *")
    start, _ = day_bounds(NOW, UTC)
    failed, late = start + 3 * 3600, start + 11 * 3600 + 5 * 60  # 03:00, 11:05
    _, marks, now_col = strip_for(job, NOW, width, {failed: "failed", late: "late"})
    assert "│" not in marks and "·" not in marks  # due in every slot
    # Done before now, to come after; the failure and the lateness stand out.
    assert marks[int(3 / 24 * width)] == GLYPH[Slot.FAILED]
    assert marks[now_col] == GLYPH[Slot.LATE]  # 11:05 shares the now slot
    assert set(marks[:now_col]) == {GLYPH[Slot.OK], GLYPH[Slot.FAILED]}
    assert set(marks[now_col + 1 :]) == {GLYPH[Slot.PENDING]}


def test_a_slot_shows_its_worst_occurrence() -> None:
    start, end = day_bounds(NOW, UTC)
    t = start + 2 * 3600
    states = [Slot.OK, Slot.FAILED, Slot.PENDING, Slot.RUNNING, Slot.LATE]
    _, marks, _ = timeline_strip([(t + i, s) for i, s in enumerate(states)], NOW, start, end, 48)
    assert marks[4] == GLYPH[Slot.FAILED]
    _, marks, _ = timeline_strip([(t, Slot.OK), (t + 1, Slot.RUNNING)], NOW, start, end, 48)
    assert marks[4] == GLYPH[Slot.RUNNING]


def test_each_state_has_a_glyph_of_its_own() -> None:
    # Monochrome draws no colour: the shape alone must tell the states apart.
    assert len(set(GLYPH.values())) == len(Slot)
    assert not {"▼", " "} & set(GLYPH.values())


def test_the_engines_words_map_to_slot_states() -> None:
    assert slot_of("missed", NOW - 60, NOW) is slot_of("failed", NOW - 60, NOW) is Slot.FAILED
    for word in ("late", "overrunning", "blocked"):
        assert slot_of(word, NOW - 60, NOW) is Slot.LATE
    assert slot_of("running", NOW - 60, NOW) is Slot.RUNNING
    assert slot_of("succeeded", NOW - 60, NOW) is Slot.OK
    assert slot_of("held", NOW - 60, NOW) is slot_of("due", NOW - 60, NOW) is Slot.PENDING
    assert slot_of(None, NOW - 60, NOW) is Slot.OK  # earlier, and the engine moved on
    assert slot_of(None, NOW + 60, NOW) is Slot.PENDING


@pytest.mark.parametrize("width", WIDTHS)
def test_the_now_marker_never_covers_a_digit_and_every_label_stays(width: int) -> None:
    job = JobConfig(name="j", schedule="0 * * * *")
    start, _ = day_bounds(NOW, UTC)
    for minute in range(0, 24 * 60, 5):  # the marker in every column through the day
        now = start + minute * 60
        scale, _, now_col = strip_for(job, now, width)
        assert scale[now_col] == "▼" and scale.count("▼") == 1, (minute, scale)
        assert scale.replace("▼", " ").split() == LABELS, (minute, scale)
        for hour in range(0, 24, 3):  # each label at most two columns from its hour
            exact = int(hour / 24 * width)
            assert f"{hour:02d}" in scale[max(0, exact - 2) : exact + 4], (minute, hour, scale)


def test_past_occurrences_of_a_job_no_engine_judged_are_unknown() -> None:
    # A console with no schedule engine behind it cannot say they ran.
    assert slot_of(None, NOW - 60, NOW, judged=False) is Slot.UNKNOWN
    assert slot_of(None, NOW + 60, NOW, judged=False) is Slot.PENDING


@pytest.mark.parametrize("schedule", ["* * * * *", "*/7 * * * *", "0 */6 * * *", "30 4 * * *"])
@pytest.mark.parametrize("width", [8, *WIDTHS])
def test_the_panes_column_at_a_time_slots_match_the_strip_of_each_occurrence(
    schedule: str, width: int
) -> None:
    job = JobConfig(name="j", schedule=schedule)
    start, end = day_bounds(NOW, UTC)
    day = DayTimes()
    times = day.times(job, start, end)
    cases: list[tuple[dict[float, str], list[float], bool]] = [
        ({}, [], True),
        ({}, [], False),
        ({times[0]: "failed", times[-1]: "held"}, [], True),
        # The first occurrence moved to 11:30 and late there; one before now running.
        ({start + 11.5 * 3600: "late", times[len(times) // 3]: "running"}, [times[0]], True),
    ]
    for now in (start + 60, NOW, end - 60):
        for known, moved, judged in cases:
            # An occurrence the engine speaks of is drawn, even at a time another left.
            pairs = [(t, slot_of(known.get(t), t, now, judged=judged)) for t in times
                     if t not in moved or t in known]  # fmt: skip
            pairs += [(t, slot_of(s, t, now)) for t, s in known.items() if t not in times]
            _, expected, _ = timeline_strip(pairs, now, start, end, width, UTC)
            worst = [Slot.NONE] * width
            for col, slot in day.slots(job, now, start, end, width, known, moved, judged=judged):
                worst[col] = max(worst[col], slot)
            assert marks_line(worst) == expected, (now, known, moved, judged)
