"""The lease holder's schedule loop on a real store, walking a day with a fixed clock.

Asserts the stored job statuses (what every console reads) and the events raised
and resolved through the rules engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Isolated, Processes, run_bridge, wait_until

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.core.models import EventState, ScheduleAction, Severity
from bridge.rules.engine import RuleEngine
from bridge.runtime.schedule_loop import ScheduleLoop
from bridge.store import Store, open_store

DAY = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # a Monday
H, M = 3600.0, 60.0


def at(hours: float) -> float:
    return DAY + hours * H


CONFIG = {
    "calendars": {"business": {"start": "09:00", "end": "17:00"}},
    "jobs": [
        {"name": "ontime", "schedule": "0 1 * * *", "grace": 600, "max_runtime": 1800},
        {"name": "late", "schedule": "0 2 * * *", "grace": 600},
        {"name": "fails", "schedule": "0 3 * * *"},
        {"name": "missed", "schedule": "0 */6 * * *", "grace": 600},
        {"name": "overrun", "schedule": "0 4 * * *", "max_runtime": 1800},
        {"name": "after", "schedule": "30 4 * * *", "depends_on": ["overrun"]},
        {"name": "moved", "schedule": "0 5 * * *", "grace": 300},
        {"name": "office", "schedule": "0 * * * *", "grace": 600, "calendar": "business"},
    ],
    "rules": [{"source": "schedule", "check": "blocked", "severity": "minor"}],
}


class Walk:
    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.clock = FixedClock(at(-10 / 60))  # Sunday 23:50: the engine starts watching
        self.loop = ScheduleLoop(store, config, self.clock, RuleEngine(config))

    async def to(self, t: float) -> dict[str, str]:
        self.clock.set(t)
        await self.loop.tick()
        return {r.job: r.state for r in await self.store.job_statuses()}

    async def event(self, job: str, check: str) -> tuple[Severity, EventState] | None:
        e = await self.store.find_event(f"schedule|{job}|{check}")
        return None if e is None else (e.severity, e.state)


async def test_a_day_walked_by_the_loop(store: Store) -> None:
    config = Config.model_validate(CONFIG)
    w = Walk(store, config)
    state = await w.to(at(-10 / 60))
    assert state["ontime"] == "upcoming" and state["office"] == "upcoming"

    # 00:11: missed's 00:00 run has not started -> late, a minor event.
    assert (await w.to(at(0) + 11 * M))["missed"] == "late"
    assert await w.event("missed", "late") == (Severity.MINOR, EventState.OPEN)

    # ontime: starts and succeeds inside its grace: never an event.
    assert (await w.to(at(1) + M))["ontime"] == "due"
    run = await store.job_start("ontime", "cron", at(1) + 2 * M)
    assert (await w.to(at(1) + 3 * M))["ontime"] == "running"
    await store.job_finish("ontime", "cron", at(1) + 20 * M, ok=True, run_id=run.run_id)
    assert (await w.to(at(1) + 21 * M))["ontime"] == "succeeded"
    assert await w.event("ontime", "late") is None

    # late: late at 02:11 (event), starts 02:15 -> the late event resolves.
    assert (await w.to(at(2) + 11 * M))["late"] == "late"
    assert await w.event("late", "late") == (Severity.MINOR, EventState.OPEN)
    await store.job_start("late", "cron", at(2) + 15 * M)
    assert (await w.to(at(2) + 16 * M))["late"] == "running"
    assert await w.event("late", "late") == (Severity.MINOR, EventState.RESOLVED)
    await store.job_finish("late", "cron", at(2) + 30 * M, ok=True)

    # fails: a failed run is a major event.
    await store.job_start("fails", "cron", at(3))
    await store.job_finish("fails", "cron", at(3) + 5 * M, ok=False, exit_code=3, message="disk")
    assert (await w.to(at(3) + 6 * M))["fails"] == "failed"
    failed = await store.find_event("schedule|fails|failed")
    assert failed is not None and failed.severity is Severity.MAJOR
    assert "exit 3" in failed.summary and "disk" in failed.summary

    # overrun: past max_runtime -> overrunning; 'after' depends on it -> blocked (the
    # rule raises it to minor); the run ends -> both resolve, 'after' turns late.
    await store.job_start("overrun", "cron", at(4))
    state = await w.to(at(4) + 31 * M)
    assert state["overrun"] == "overrunning" and state["after"] == "blocked"
    assert await w.event("overrun", "overrunning") == (Severity.MINOR, EventState.OPEN)
    assert await w.event("after", "blocked") == (Severity.MINOR, EventState.OPEN)
    await store.job_finish("overrun", "cron", at(4) + 40 * M, ok=True)
    state = await w.to(at(4) + 41 * M)
    assert state["overrun"] == "succeeded" and state["after"] == "late"
    assert await w.event("overrun", "overrunning") == (Severity.MINOR, EventState.RESOLVED)
    assert await w.event("after", "blocked") == (Severity.MINOR, EventState.RESOLVED)
    assert await w.event("after", "late") == (Severity.MINOR, EventState.OPEN)

    # moved: rescheduled from 05:00 to 07:00 -> not late at 05:30; late at 07:06.
    await store.change_schedule(
        "moved", ScheduleAction.RESCHEDULE, at(5), "alice", "db freeze", at(4.8), new_time=at(7)
    )
    assert (await w.to(at(5.5)))["moved"] == "rescheduled"
    assert await w.event("moved", "late") is None

    # missed: the 06:00 occurrence came and 00:00 never ran -> missed (major).
    assert (await w.to(at(6) + M))["missed"] == "missed"
    assert await w.event("missed", "missed") == (Severity.MAJOR, EventState.OPEN)

    assert (await w.to(at(7) + 6 * M))["moved"] == "late"
    assert await w.event("moved", "late") == (Severity.MINOR, EventState.OPEN)

    # office: hourly inside business hours only: nothing expected before 09:00.
    assert (await w.to(at(8) + 30 * M))["office"] == "upcoming"
    assert await w.event("office", "late") is None
    assert (await w.to(at(9) + 11 * M))["office"] == "late"

    # missed's 12:00 run succeeds: its missed and late events resolve.
    await store.job_start("missed", "cron", at(12))
    await store.job_finish("missed", "cron", at(12) + M, ok=True)
    assert (await w.to(at(12) + 2 * M))["missed"] == "succeeded"
    assert await w.event("missed", "missed") == (Severity.MAJOR, EventState.RESOLVED)

    # The stored details consoles draw.
    records = {r.job: r for r in await store.job_statuses()}
    moved = records["moved"].data["current"]
    assert moved["due"] == at(7) and moved["change"]["reason"] == "db freeze"
    assert records["fails"].exception and records["fails"].data["last_run"]["exit_code"] == 3
    assert records["after"].first_at == at(-10 / 60)


async def test_only_changed_jobs_are_written(store: Store) -> None:
    config = Config.model_validate(CONFIG)
    w = Walk(store, config)
    await w.to(at(0.5))
    seq = await store.last_seq()
    await w.to(at(0.5) + 1)  # nothing crossed a boundary: nothing written
    assert await store.changes_since(seq) == []
    await store.job_start("ontime", "cron", at(0.5) + 2)
    seq = await store.last_seq()
    changed = await w.loop.tick()
    assert changed == ["ontime"]
    assert [r.job for r in await store.job_statuses(after_seq=seq)] == ["ontime"]


async def test_a_failed_write_is_written_again_with_its_event(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked database at the wrong moment must not lose a failure for good."""
    config = Config.model_validate(CONFIG)
    w = Walk(store, config)
    await w.to(at(2.5))
    run = await store.job_start("fails", "cron", at(3) + 10)
    await store.job_finish("fails", "cron", at(3) + 20, ok=False, run_id=run.run_id)
    real = store.write_job_statuses
    calls = 0

    async def locked_once(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("database is locked")
        await real(*args, **kwargs)

    monkeypatch.setattr(store, "write_job_statuses", locked_once)
    with pytest.raises(sqlite3.OperationalError):
        await w.to(at(3) + 30)
    assert await w.event("fails", "failed") is None
    states = await w.to(at(3) + 31)  # the next tick: nothing new happened meanwhile
    assert states["fails"] == "failed"
    assert await w.event("fails", "failed") == (Severity.MAJOR, EventState.OPEN)


async def test_a_new_lease_holder_keeps_the_horizon(store: Store) -> None:
    config = Config.model_validate(CONFIG)
    w = Walk(store, config)
    await w.to(at(-10 / 60))
    await w.to(at(0) + 11 * M)
    assert await w.event("missed", "late") == (Severity.MINOR, EventState.OPEN)
    # Another process takes over later: the stored horizon still judges 00:00.
    rules = RuleEngine(config)
    rules.restore(await store.list_events(keep_unacked_resolved=False))
    clock = FixedClock(at(6) + M)
    again = ScheduleLoop(store, config, clock, rules)
    await again.tick()
    states = {r.job: r.state for r in await store.job_statuses()}
    assert states["missed"] == "missed"
    assert await w.event("missed", "missed") == (Severity.MAJOR, EventState.OPEN)


async def test_bridge_collect_runs_the_schedule(isolated: Isolated, processes: Processes) -> None:
    """The real headless poller: job signals from another process become stored states
    and a failed run an event, within a few seconds. A yearly job: no occurrence comes
    due during the test, so the run stays the current occurrence's whatever the minute."""
    db = isolated.root / "sched.db"
    config = isolated.write_config(
        f'[store]\npath = "{db}"\n\n[local]\nenabled = false\n\n'
        '[[jobs]]\nname = "sync"\nschedule = "0 0 1 1 *"\n',
        name="sched.toml",
    )
    log = isolated.root / "collect.log"
    proc = processes.bridge(isolated, "--config", str(config), "collect", log=log)
    store = await open_store(db)
    try:

        def state_is(*wanted: str) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                assert proc.poll() is None, log.read_text(errors="replace")
                records = {r.job: r.state for r in await store.job_statuses()}
                return records.get("sync") in wanted

            return check

        await wait_until(state_is("upcoming"), 20.0, what="the first status")
        started = run_bridge(isolated, "--config", str(config), "job", "start", "sync")
        assert started.returncode == 0, started.stderr
        await wait_until(state_is("running"), 10.0, what="running")
        failed = run_bridge(
            isolated, "--config", str(config), "job", "fail", "sync", "--exit-code", "4"
        )
        assert failed.returncode == 0, failed.stderr
        await wait_until(state_is("failed"), 10.0, what="failed")

        async def raised() -> bool:
            event = await store.find_event("schedule|sync|failed")
            return event is not None and event.state is EventState.OPEN

        await wait_until(raised, 10.0, what="the failed event")
    finally:
        await store.close()


async def test_a_run_outside_its_envelope_is_a_minor_event(store: Store) -> None:
    config = Config.model_validate({"jobs": [{"name": "etl", "schedule": "0 * * * *"}]})
    clock = FixedClock(at(-0.5))
    loop = ScheduleLoop(store, config, clock, RuleEngine(config))
    await loop.tick()
    for h in range(6):  # six hourly runs of ten minutes: the median is 10 min
        run = await store.job_start("etl", "cron", at(h))
        await store.job_finish("etl", "cron", at(h) + 10 * M, ok=True, run_id=run.run_id)
        clock.set(at(h) + 11 * M)
        await loop.tick()
    assert await store.find_event("schedule|etl|envelope") is None
    run = await store.job_start("etl", "cron", at(6))
    await store.job_finish("etl", "cron", at(6) + M, ok=True, run_id=run.run_id)
    clock.set(at(6) + 2 * M)
    await loop.tick()
    event = await store.find_event("schedule|etl|envelope")
    assert event is not None and (event.severity, event.state) == (Severity.MINOR, EventState.OPEN)
    assert "too-short" in event.summary and "median 10m00s" in event.summary
    record = {r.job: r for r in await store.job_statuses()}["etl"]
    assert record.data["envelope"]["flags"] == ["too-short"]
    run = await store.job_start("etl", "cron", at(7))
    await store.job_finish("etl", "cron", at(7) + 9 * M, ok=True, run_id=run.run_id)
    clock.set(at(7) + 10 * M)
    await loop.tick()
    event = await store.find_event("schedule|etl|envelope")
    assert event is not None and event.state is EventState.RESOLVED


async def test_a_poke_evaluates_at_once(store: Store) -> None:
    """With a one-minute interval, only the poke can explain a prompt re-evaluation."""
    config = Config.model_validate({"jobs": [{"name": "etl", "schedule": "0 5 * * *"}]})
    clock = FixedClock(at(4))
    loop = ScheduleLoop(store, config, clock, RuleEngine(config), interval=60.0)
    task = asyncio.create_task(loop.run())
    try:

        async def state() -> str | None:
            return {r.job: r.state for r in await store.job_statuses()}.get("etl")

        async def upcoming() -> bool:
            return await state() == "upcoming"

        await wait_until(upcoming, 5.0, what="the first tick")
        clock.set(at(5) + 1)
        await store.change_schedule(
            "etl", ScheduleAction.HOLD, at(5), "alice", "vendor outage", clock.now()
        )
        loop.poke()

        async def held() -> bool:
            return await state() == "held"

        await wait_until(held, 5.0, what="the poked tick")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
