"""The lease holder's schedule duty: keep the engine fed, store what changed, raise events.

Every second (or at once when poked) it reads only what is new — the change
feed names the jobs whose runs or schedule changes moved, and only those are
re-read — evaluates the engine (which recomputes only jobs whose data or time
boundary changed), writes the changed jobs' statuses to the store in one
transaction (consoles pick them up through the change feed), turns the changes
into observations for the rules engine, and keeps the open maintenance windows
in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bridge.config.file import Config
from bridge.core.clock import Clock
from bridge.core.models import Change, JobStatusRecord, MaintenanceWindow
from bridge.rules.engine import RuleEngine
from bridge.rules.schedule import job_observations, report_key
from bridge.runtime.feed import ChangeFeed
from bridge.schedule.engine import MAX_RUNS, JobStatus, Occurrence, ScheduleEngine
from bridge.schedule.maintenance import config_windows, job_windows
from bridge.store.protocol import Store

__all__ = ["HISTORY_S", "ScheduleLoop", "status_record"]

log = logging.getLogger(__name__)

TICK_S = 1.0
HISTORY_S = 40 * 86400.0  # runs and changes read at start: enough for a daily job's envelope
HISTORY_LIMIT = 200_000
YIELD_EVERY = 500  # jobs turned into records between chances for the UI to run
RELOAD_ALL_OVER = 500  # more jobs touched than this in one tick: read everything recent once


def _occurrence(o: Occurrence | None) -> dict[str, Any] | None:
    if o is None:
        return None
    out: dict[str, Any] = {"scheduled": o.scheduled, "due": o.due, "state": o.state.value}
    if o.blocked_by:
        out["blocked_by"] = list(o.blocked_by)
    if o.runs > 1:
        out["runs"] = o.runs
    if o.change is not None:
        out["change"] = {
            "action": o.change.action.value,
            "actor": o.change.actor,
            "reason": o.change.reason,
            "at": o.change.at,
        }
    return out


def status_record(status: JobStatus, now: float, first_at: float) -> JobStatusRecord:
    """What consoles need to draw a job, without running the engine themselves."""
    run = status.last_run
    env = status.envelope
    data: dict[str, Any] = {
        "next_due": status.next_due,
        "next_run": status.next_run,
        "current": _occurrence(status.current),
        "previous": _occurrence(status.previous),
        "expected": status.expected,
        "envelope": {
            "samples": env.samples,
            "median": env.median,
            "low": env.low,
            "high": env.high,
            "flags": list(env.flags),
        },
    }
    if run is not None:
        data["last_run"] = {
            "run_id": run.run_id,
            "status": run.status.value,
            "at": run.at,
            "ended_at": run.ended_at,
            "duration": run.duration,
            "exit_code": run.exit_code,
        }
    return JobStatusRecord(
        job=status.name,
        state=status.state.value,
        exception=status.exception,
        at=now,
        data=data,
        first_at=first_at,
    )


class ScheduleLoop:
    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        rules: RuleEngine,
        on_write: Callable[[], None] | None = None,
        interval: float = TICK_S,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.rules = rules
        self.on_write = on_write
        self.interval = interval
        self.engine = ScheduleEngine(
            config.jobs, hours={name: config.hours(name) for name in config.calendars}
        )
        self._jobs = {j.name: j for j in config.jobs}
        self._first_at: dict[str, float] = {}
        self._reported: dict[str, object] = {}  # per job: report_key of its last observations
        self._touched: set[str] = set()
        self._unwritten: set[str] = set()  # changed, but the write has not committed
        self._reload_all = False
        self._feed = ChangeFeed(store, self._on_changes)
        self._wake = asyncio.Event()
        self._windows: list[MaintenanceWindow] | None = None
        self.started = False

    def _on_changes(self, changes: list[Change]) -> None:
        for c in changes:
            if c.kind == "jobs" and c.ref in self._jobs:
                self._touched.add(c.ref)
        if len(self._touched) > RELOAD_ALL_OVER:
            self._touched.clear()
            self._reload_all = True

    def poke(self) -> None:
        """Tick now rather than at the next interval: a job signal just came in."""
        self._wake.set()

    async def start(self) -> None:
        now = self.clock.now()
        await self._feed.start()  # before reading, so nothing committed meanwhile is lost
        stored = await self.store.job_statuses()
        self._first_at = {r.job: r.first_at for r in stored if r.job in self._jobs}
        # A job judged before keeps its horizon; a new one is judged from now on, so
        # occurrences before bridge watched it are neither late nor missed.
        self.engine.set_since({name: self._first_at.get(name, now) for name in self._jobs})
        await self._load_recent(now)
        self.started = True

    async def _load_recent(self, now: float) -> None:
        since = now - HISTORY_S
        self.engine.add_runs(await self.store.job_runs(since=since, limit=HISTORY_LIMIT))
        self.engine.add_changes(await self.store.schedule_changes(since=since, limit=HISTORY_LIMIT))

    async def tick(self) -> list[str]:
        """One evaluation; returns the names of the jobs whose status changed."""
        if not self.started:
            await self.start()
        now = self.clock.now()
        await self._feed.poll()
        if self._reload_all:
            self._reload_all = False
            await self._load_recent(now)
        touched, self._touched = self._touched, set()
        for name in touched:
            self.engine.add_runs(await self.store.job_runs(name, limit=MAX_RUNS))
            self.engine.add_changes(
                await self.store.schedule_changes(name, since=now - HISTORY_S, limit=1000)
            )
        statuses = self.engine.evaluate(now)
        # Jobs whose last write failed are written again: the engine reports a
        # change only once.
        changed = list(dict.fromkeys([*self.engine.changed, *self._unwritten]))
        changed = [name for name in changed if name in statuses]
        wrote = False
        if changed:
            records = []
            observations = []
            reported: dict[str, object] = {}
            for i, name in enumerate(changed):
                if i and i % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # a console holding the lease keeps answering keys
                first = self._first_at.setdefault(name, now)
                status = statuses[name]
                records.append(status_record(status, now, first))
                key = report_key(status)
                if self._reported.get(name) != key:  # always on the first: rules may hold old state
                    reported[name] = key
                    observations.extend(job_observations(self._jobs[name], status, now))
            self._unwritten.update(changed)
            await self.store.write_job_statuses(records, now)
            for i in range(0, len(observations), YIELD_EVERY * 4):
                events = self.rules.process(observations[i : i + YIELD_EVERY * 4])
                if events:
                    await self.store.upsert_events(events, actor="bridge")
            # Only now: had a write failed, the next tick reports these again.
            self._reported.update(reported)
            self._unwritten.difference_update(changed)
            wrote = True
        if await self._update_windows(now, statuses):
            wrote = True
        if wrote and self.on_write is not None:
            self.on_write()
        return changed

    async def _update_windows(self, now: float, statuses: dict[str, JobStatus]) -> bool:
        # The first tick always writes, so windows a previous holder left are cleared.
        open_, _ = config_windows(self.config.maintenance, now)
        open_ += job_windows(self.config.jobs, statuses)
        key = sorted((w.name, w.hosts) for w in open_)
        if self._windows is not None and key == sorted((w.name, w.hosts) for w in self._windows):
            return False
        await self.store.set_maintenance_windows(open_, now)
        self._windows = open_
        return True

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception as exc:  # a bad tick must not end the schedule duty
                log.warning("schedule tick failed: %s", exc)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
