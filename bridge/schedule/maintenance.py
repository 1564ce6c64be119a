"""Maintenance windows: when events for some hosts are stored but do not alert.

Declared in config (`[[maintenance]]`, recurring by cron + duration, or fixed
start/end), or opened by a job with `maintenance = true` for as long as its
occurrence runs. The lease holder writes the open ones to the store; the store
marks events raised for their hosts as suppressed (`Event.suppressed_by`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bridge.config.schedule import JobConfig, MaintenanceConfig
from bridge.core.models import MaintenanceWindow
from bridge.schedule.engine import JobStatus
from bridge.schedule.engine import OccurrenceState as S

__all__ = ["config_windows", "job_windows", "window_for"]


def _span(config: MaintenanceConfig, now: float) -> tuple[tuple[float, float], float | None]:
    """(the latest window starting at or before now, the next start after now)."""
    if config.schedule is None or config.duration is None:
        start, end = config.fixed_span()
        return (start, end), (start if start > now else None)
    from croniter import croniter  # only hosts with scheduled windows pay its import

    tz = ZoneInfo(config.timezone)
    try:
        nxt: float | None = float(
            croniter(config.schedule, datetime.fromtimestamp(now, tz)).get_next(float)
        )
    except Exception:  # no further occurrence
        nxt = None
    try:
        # get_prev is strict: from a second later, a window starting exactly now counts.
        prev = float(croniter(config.schedule, datetime.fromtimestamp(now + 1, tz)).get_prev(float))
    except Exception:  # none before now
        return (now + 1, now), nxt
    return (prev, prev + config.duration), nxt


def config_windows(
    configs: Sequence[MaintenanceConfig], now: float
) -> tuple[list[MaintenanceWindow], list[MaintenanceWindow]]:
    """(the windows open at `now`, the next window of each config still to come)."""
    open_: list[MaintenanceWindow] = []
    coming: list[MaintenanceWindow] = []
    for c in configs:
        (start, end), nxt = _span(c, now)
        hosts = tuple(c.hosts)
        if start <= now < end:
            open_.append(MaintenanceWindow(c.name, hosts, start, end, "config"))
        if nxt is not None and nxt > now:
            length = c.duration if c.duration is not None else end - start
            coming.append(MaintenanceWindow(c.name, hosts, nxt, nxt + length, "config"))
    return open_, coming


def job_windows(
    jobs: Iterable[JobConfig], statuses: Mapping[str, JobStatus]
) -> list[MaintenanceWindow]:
    """A window per maintenance job whose occurrence is running now."""
    out = []
    for job in jobs:
        if not job.maintenance or not job.hosts:
            continue
        status = statuses.get(job.name)
        if status is None or status.state not in (S.RUNNING, S.OVERRUNNING):
            continue
        run = status.last_run
        start = run.at if run is not None else 0.0
        out.append(MaintenanceWindow(f"job:{job.name}", tuple(job.hosts), start, None, "job"))
    return out


def window_for(windows: Iterable[MaintenanceWindow], resource: str) -> MaintenanceWindow | None:
    """The first window covering `resource`, if any."""
    for w in windows:
        if any(fnmatch.fnmatchcase(resource, h) for h in w.hosts):
            return w
    return None
