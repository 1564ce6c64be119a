"""The schedule engine with a fixed clock walking one day (UTC, 2026-03-02)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bridge.config.schedule import JobConfig
from bridge.core.models import JobRun, JobRunStatus, ScheduleAction, ScheduleChange
from bridge.schedule.engine import OccurrenceState as S
from bridge.schedule.engine import ScheduleEngine, evaluate

DAY = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
H, M = 3600.0, 60.0


def at(hours: float) -> float:
    return DAY + hours * H


def job(name: str, schedule: str, **kw: object) -> JobConfig:
    return JobConfig.model_validate({"name": name, "schedule": schedule, **kw})


class Runs:
    def __init__(self) -> None:
        self.rows: dict[int, JobRun] = {}

    def start(self, name: str, t: float) -> JobRun:
        run = JobRun(
            len(self.rows) + 1, name, f"r{len(self.rows) + 1}", t, None, JobRunStatus.RUNNING
        )
        self.rows[run.id] = run
        return run

    def end(self, run: JobRun, t: float, ok: bool = True) -> JobRun:
        status = JobRunStatus.OK if ok else JobRunStatus.FAILED
        done = JobRun(
            run.id, run.job, run.run_id, run.started_at, t, status, 0 if ok else 1,
            duration=t - (run.started_at or t),
        )  # fmt: skip
        self.rows[run.id] = done
        return done


def change(
    cid: int, name: str, occ: float, action: ScheduleAction, t: float, new: float | None = None
) -> ScheduleChange:
    return ScheduleChange(cid, name, occ, action, new, "tester", "because", t)


def test_a_day_of_a_schedule() -> None:
    jobs = [
        job("ontime", "0 1 * * *", grace=600, max_runtime=1800),
        job("late", "0 2 * * *", grace=600),
        job("fails", "0 3 * * *"),
        job("missed", "0 */6 * * *", grace=600),
        job("overrun", "0 4 * * *", max_runtime=1800),
        job("after", "30 4 * * *", depends_on=["overrun"]),
        job("moved", "0 5 * * *", grace=300),
        job("held", "0 6 * * *", grace=300),
    ]
    engine = ScheduleEngine(jobs, since=DAY)
    runs = Runs()

    def tick(t: float) -> dict[str, S]:
        return {name: s.state for name, s in engine.evaluate(t).items()}

    # 00:30: nothing has come due yet today (the 00:00 'missed' run is due at once).
    state = tick(at(0.5))
    assert state["ontime"] is S.UPCOMING and state["held"] is S.UPCOMING
    assert state["missed"] is S.LATE  # 00:00 + 10 min grace passed, never started

    # ontime: due at 01:00, starts 01:01, ends 01:20 -> succeeded.
    assert tick(at(1) + M)["ontime"] is S.DUE
    run = runs.start("ontime", at(1) + M)
    engine.add_runs([run])
    assert tick(at(1) + 2 * M)["ontime"] is S.RUNNING
    engine.add_runs([runs.end(run, at(1) + 20 * M)])
    assert tick(at(1) + 21 * M)["ontime"] is S.SUCCEEDED

    # late: due 02:00, grace 10 min; at 02:05 due, at 02:11 late, then it runs.
    assert tick(at(2) + 5 * M)["late"] is S.DUE
    assert tick(at(2) + 11 * M)["late"] is S.LATE
    late_run = runs.start("late", at(2) + 15 * M)
    engine.add_runs([late_run])
    assert tick(at(2) + 16 * M)["late"] is S.RUNNING
    engine.add_runs([runs.end(late_run, at(2) + 30 * M)])

    # fails: started and failed.
    failing = runs.start("fails", at(3))
    engine.add_runs([failing])
    engine.add_runs([runs.end(failing, at(3) + 5 * M, ok=False)])
    assert tick(at(3) + 6 * M)["fails"] is S.FAILED

    # overrun: max runtime 30 min; still running at 04:31 -> overrunning; 'after'
    # (depends on it) is blocked at its own due time.
    over = runs.start("overrun", at(4))
    engine.add_runs([over])
    assert tick(at(4) + 29 * M)["overrun"] is S.RUNNING
    state = tick(at(4) + 31 * M)
    assert state["overrun"] is S.OVERRUNNING
    assert state["after"] is S.BLOCKED
    assert engine.statuses["after"].current is not None
    assert engine.statuses["after"].current.blocked_by == ("overrun",)
    engine.add_runs([runs.end(over, at(4) + 40 * M)])
    state = tick(at(4) + 41 * M)
    assert state["overrun"] is S.SUCCEEDED
    assert state["after"] is S.LATE  # unblocked; 04:30 + 5 min default grace has passed
    assert "after" in engine.changed

    # moved: the operator moves 05:00 to 07:00 at 04:50.
    engine.add_changes([change(1, "moved", at(5), ScheduleAction.RESCHEDULE, at(4.8), at(7))])
    state = tick(at(5) + 30 * M)
    assert state["moved"] is S.RESCHEDULED
    status = engine.statuses["moved"]
    assert status.current is not None and status.current.due == at(7)

    # held: held before it was due; neither late nor missed; released -> late.
    engine.add_changes([change(2, "held", at(6), ScheduleAction.HOLD, at(5.9))])
    # missed: the 06:00 occurrence came and 00:00 never started -> missed, then late.
    state = tick(at(6) + 1 * M)
    assert state["missed"] is S.MISSED and state["held"] is S.HELD
    assert engine.statuses["missed"].previous is not None
    assert engine.statuses["missed"].previous.state is S.MISSED
    assert tick(at(6) + 11 * M)["missed"] is S.LATE
    assert tick(at(6) + 30 * M)["held"] is S.HELD
    engine.add_changes([change(3, "held", at(6), ScheduleAction.RELEASE, at(6.6))])
    assert tick(at(6) + 40 * M)["held"] is S.LATE

    # moved, at its new time
    assert tick(at(7) + 2 * M)["moved"] is S.DUE  # the new time is used
    assert tick(at(7) + 6 * M)["moved"] is S.LATE

    # end of the day: the outcomes stay until the next occurrence.
    state = tick(at(23.9))
    assert state["ontime"] is S.SUCCEEDED
    assert state["late"] is S.SUCCEEDED
    assert state["fails"] is S.FAILED
    # the next day: yesterday's 'fails' is history; today's is due.
    state = tick(at(24 + 3) + M)
    assert state["fails"] is S.DUE
    assert engine.statuses["fails"].previous is not None
    assert engine.statuses["fails"].previous.state is S.FAILED


def test_mark_done_and_time_zone() -> None:
    # 02:00 in New York is 07:00 UTC in March before DST (2026-03-08).
    jobs = [job("ny", "0 2 * * *", timezone="America/New_York", grace=60)]
    statuses = evaluate(jobs, [], [], at(7) + 30, since=DAY)
    assert statuses["ny"].state is S.DUE
    assert statuses["ny"].current is not None and statuses["ny"].current.due == at(7)
    done = change(1, "ny", at(7), ScheduleAction.DONE, at(7.5))
    assert evaluate(jobs, [], [done], at(8), since=DAY)["ny"].state is S.SUCCEEDED


def test_learned_envelope_flags_long_short_and_often() -> None:
    jobs = [job("etl", "0 * * * *", grace=600)]
    runs = Runs()
    history = [runs.end(runs.start("etl", at(h)), at(h) + 10 * M) for h in range(6)]
    engine = ScheduleEngine(jobs, since=DAY)
    engine.add_runs(history)
    status = engine.evaluate(at(5) + 20 * M)["etl"]
    assert status.envelope.samples == 6 and status.envelope.median == 10 * M
    assert status.envelope.flags == ()
    assert status.expected == 10 * M  # learned: no duration in config

    # a run still going at 3x the median is too long (and, at 2x, overrunning)
    long_run = runs.start("etl", at(6))
    engine.add_runs([long_run])
    status = engine.evaluate(at(6) + 25 * M)["etl"]
    assert status.state is S.OVERRUNNING and "too-long" not in status.envelope.flags
    status = engine.evaluate(at(6) + 31 * M)["etl"]
    assert "too-long" in status.envelope.flags

    engine.add_runs([runs.end(long_run, at(6) + 32 * M)])
    short = runs.end(runs.start("etl", at(7)), at(7) + 2 * M)
    engine.add_runs([short])
    status = engine.evaluate(at(7) + 3 * M)["etl"]
    assert status.envelope.flags == ("too-short",)

    again = runs.end(runs.start("etl", at(7) + 5 * M), at(7) + 15 * M)
    engine.add_runs([again])
    status = engine.evaluate(at(7) + 16 * M)["etl"]
    assert "too-often" in status.envelope.flags


def test_ten_thousand_jobs_tick_fast() -> None:
    minutes = [f"{m} {h} * * *" for m in range(0, 60, 7) for h in range(0, 24, 3)]
    zones = ["UTC", "Europe/Berlin", "America/New_York"]
    jobs = [
        job(f"j{i}", minutes[i % len(minutes)], timezone=zones[i % 3], duration=600)
        for i in range(10_000)
    ]
    engine = ScheduleEngine(jobs, since=DAY)
    engine.evaluate(at(12))  # warm-up: parses each distinct cron once
    worst = 0.0
    for step in range(1, 61):  # an hour, tick every minute
        t0 = time.perf_counter()
        engine.evaluate(at(12) + step * M)
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.1, f"slowest tick {worst * 1000:.1f} ms"


def test_every_minute_job_run_each_minute_is_not_too_often() -> None:
    """The early-start allowance is shorter than the period: a one-minute job that
    starts a few seconds after each due time has one run per occurrence, and the
    minute before its run it is due, not already succeeded."""
    jobs = [job("tick", "* * * * *", grace=30)]
    runs = Runs()
    history = [runs.end(runs.start("tick", at(1) + m * M + 4), at(1) + m * M + 8) for m in range(8)]
    engine = ScheduleEngine(jobs, since=at(1))
    engine.add_runs(history)
    status = engine.evaluate(at(1) + 7 * M + 30)["tick"]
    assert "too-often" not in status.envelope.flags
    assert status.state is S.SUCCEEDED and status.current is not None
    assert status.current.runs == 1
    status = engine.evaluate(at(1) + 8 * M + 2)["tick"]
    assert status.state is S.DUE, status
