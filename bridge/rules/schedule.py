"""Schedule transitions as observations, so job events go through the same rules as the rest.

Source "schedule", resource = the job's name, one check per kind of trouble. A
state raises its own check and ends the ones it makes moot (a late job that
starts is no longer late); a success ends them all. The learned runtime
envelope is its own check, raised while the last run is outside it.
`[[rules]]` entries (source = "schedule", check = "late", ...) override the
severities below, add `for`, or a runbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bridge.config.schedule import JobConfig
from bridge.core.actions import SCHEDULE_SOURCE, SCHEDULE_VERBS
from bridge.core.models import ScheduleAction, Severity
from bridge.core.text import human_duration
from bridge.rules.engine import Observation
from bridge.schedule.engine import JobStatus
from bridge.schedule.engine import OccurrenceState as S

__all__ = [
    "CHECKS",
    "ENVELOPE",
    "SEVERITY",
    "SOURCE",
    "job_observations",
    "moot_checks",
    "report_key",
]

SOURCE = SCHEDULE_SOURCE
ENVELOPE = "envelope"

# The check each troubled state raises, and its default severity.
CHECK_OF: dict[S, str] = {
    S.FAILED: "failed",
    S.MISSED: "missed",
    S.LATE: "late",
    S.OVERRUNNING: "overrunning",
    S.BLOCKED: "blocked",
}
SEVERITY: dict[str, Severity] = {
    "failed": Severity.MAJOR,
    "missed": Severity.MAJOR,
    "late": Severity.MINOR,
    "overrunning": Severity.MINOR,
    "blocked": Severity.WARNING,
    ENVELOPE: Severity.MINOR,
}
CHECKS = tuple(CHECK_OF.values())

_PASSING = ("late", "blocked", "overrunning")  # conditions that end when the state moves on
# What each state resolves (besides its own check, which it raises).
ENDS: dict[S, tuple[str, ...]] = {
    S.SUCCEEDED: CHECKS,
    S.RUNNING: _PASSING,
    S.DUE: _PASSING,
    S.UPCOMING: _PASSING,
    S.HELD: _PASSING,
    S.RESCHEDULED: _PASSING,
    S.LATE: _PASSING,
    S.BLOCKED: _PASSING,
    S.FAILED: _PASSING,
    S.MISSED: _PASSING,
    S.OVERRUNNING: _PASSING,
}


def _clock(t: float, tz: str) -> str:
    return datetime.fromtimestamp(t, ZoneInfo(tz)).strftime("%a %H:%M %Z")


def _summary(job: JobConfig, status: JobStatus, at: float) -> str:
    cur = status.current
    prev = status.previous
    name = job.name
    state = status.state
    if state is S.LATE and cur is not None:
        return (
            f"{name} late: due {_clock(cur.due, job.timezone)}, not started "
            f"(grace {human_duration(job.grace)})"
        )
    if state is S.MISSED:
        missed = prev if prev is not None and prev.state is S.MISSED else cur
        due = _clock(missed.due, job.timezone) if missed is not None else "?"
        return f"{name} missed: the run due {due} never started"
    if state is S.BLOCKED and cur is not None:
        return f"{name} blocked: waiting for {', '.join(cur.blocked_by)}"
    if state is S.FAILED:
        run = status.last_run
        outcome = run.outcome if run is not None else ""
        return (f"{name} failed ({outcome})" if outcome else f"{name} failed")[:300]
    if state is S.OVERRUNNING:
        run = status.last_run
        took = (
            f" for {human_duration(at - run.started_at)}"
            if run is not None and run.started_at is not None
            else ""
        )
        limit = job.max_runtime if job.max_runtime is not None else (status.expected or 0) * 2
        return f"{name} overrunning: running{took}, limit {human_duration(limit)}"
    return f"{name} {state.value}"


def _envelope_summary(name: str, status: JobStatus) -> str:
    env = status.envelope
    parts = []
    for flag in env.flags:
        if flag == "too-short" and status.last_run and status.last_run.duration is not None:
            parts.append(f"ran {human_duration(status.last_run.duration)}")
        elif flag == "too-long":
            parts.append("ran too long")
        elif flag == "too-often":
            parts.append("ran more than once in one occurrence")
    median = f"median {human_duration(env.median)}" if env.median is not None else "no median"
    bounds = (
        f", expected {human_duration(env.low)} - {human_duration(env.high)}"
        if env.low is not None and env.high is not None
        else ""
    )
    return f"{name} outside its runtime envelope ({', '.join(env.flags)}): " + (
        f"{'; '.join(parts)}; {median}{bounds}"
    )


def _why(job: JobConfig, status: JobStatus) -> str:
    """Why the job's troubles end: who marked, held or moved it, or the run that succeeded."""
    cur = status.current
    change = cur.change if cur is not None else None
    if change is not None and status.state in (S.SUCCEEDED, S.HELD, S.RESCHEDULED):
        verb = SCHEDULE_VERBS.get(change.action, change.action.value)
        return f"{job.name} {verb} by {change.actor}: {change.reason}"
    run = status.last_run
    if status.state in (S.SUCCEEDED, S.RUNNING) and run is not None:
        by = f" by {run.actor}" if run.actor else ""
        verb = "started" if status.state is S.RUNNING else "succeeded"
        return f"{job.name} {verb} (run {run.run_id}{by})"
    return f"{job.name} {status.state}"


# What an operator's change to an occurrence in each state ends at once.
_MOOT: dict[ScheduleAction, frozenset[str]] = {
    ScheduleAction.DONE: frozenset({"late", "missed", "failed", "blocked"}),
    ScheduleAction.RESCHEDULE: frozenset({"late", "blocked"}),
    ScheduleAction.HOLD: frozenset({"late", "blocked"}),
}


def moot_checks(
    data: Mapping[str, Any], action: ScheduleAction, occurrence: float
) -> tuple[str, ...]:
    """The job's checks an operator's change to `occurrence` ends (its late, missed or
    failed event), from the stored status `data`: resolved with the change, by the
    operator and with their reason, rather than left to the next engine tick."""
    wanted = _MOOT.get(action, frozenset())
    for key in ("current", "previous"):
        occ = data.get(key)
        if occ and occ.get("scheduled") == occurrence:
            check = next((c for st, c in CHECK_OF.items() if st.value == occ.get("state")), None)
            return (check,) if check is not None and check in wanted else ()
    return ()


def report_key(
    status: JobStatus,
) -> tuple[str | None, tuple[str, ...], tuple[str, ...], str | None]:
    """What `job_observations` would say, in short: when it is unchanged (upcoming ->
    due), the rules would do nothing with the observations, so they need not be made.
    Each failed run is news (its count, its message), even straight after another."""
    run = status.last_run
    failed_run = run.run_id if status.state is S.FAILED and run is not None else None
    return CHECK_OF.get(status.state), ENDS.get(status.state, ()), status.envelope.flags, failed_run


def job_observations(job: JobConfig, status: JobStatus, at: float) -> list[Observation]:
    """What this status says about each of the job's checks (OK ones included, to resolve)."""
    out: list[Observation] = []
    # Each occurrence is its own news: a job late every cycle is late every cycle,
    # not "flapping", and its success must still resolve the late event.
    raised = CHECK_OF.get(status.state)
    why = _why(job, status)
    for check in ENDS.get(status.state, ()):
        if check != raised:
            out.append(Observation(SOURCE, job.name, check, Severity.OK, why, at, flaps=False))
    if raised is not None:
        out.append(
            Observation(
                SOURCE, job.name, raised, SEVERITY[raised], _summary(job, status, at), at,
                flaps=False,
            )
        )  # fmt: skip
    if status.envelope.flags:
        out.append(
            Observation(
                SOURCE, job.name, ENVELOPE, SEVERITY[ENVELOPE],
                _envelope_summary(job.name, status), at, flaps=False,
            )
        )  # fmt: skip
    else:
        out.append(
            Observation(
                SOURCE, job.name, ENVELOPE, Severity.OK, f"{job.name} within its envelope", at,
                flaps=False,
            )
        )  # fmt: skip
    return out
