"""A seeded store for the wall screen: events, devices in every state, schedule exceptions."""

from __future__ import annotations

from pathlib import Path

from seed import HOST, JOBS, T0, seed_store

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, Severity
from bridge.runtime.hosts import collector_lease, host_name
from bridge.runtime.schedule_loop import status_record
from bridge.schedule.engine import evaluate
from bridge.store import open_store
from bridge.ui.wall.app import WallApp
from collectors.base import Reading

LEASE_NAME = collector_lease(host_name())  # this host's collector lease

DEVICES = ["core-sw1", "edge-rt2", "dist-sw3", "fw-dmz", "ap-lobby", "ups-2"]


def wall_config() -> Config:
    return Config.model_validate(
        {
            "jobs": [j.model_dump() for j in JOBS],
            "devices": [{"name": n, "address": "127.0.0.1", "interval": 30} for n in DEVICES],
        }
    )


async def seed_wall(path: Path | str, *, poller_alive: bool = True) -> None:
    await seed_store(path)
    store = await open_store(path)
    try:
        for name in ("core-sw1", "edge-rt2", "dist-sw3", "fw-dmz"):
            await store.write_reading(Reading("snmp", name, T0 - 10, {}, {}), {})
        await store.write_reading(Reading("snmp", "ups-2", T0 - 900, {}, {}), {})  # stale
        await store.upsert_events(
            [
                EventInput("snmp", "fw-dmz", "reachability", Severity.MAJOR,
                           "fw-dmz unreachable: timeout", T0 - 50),
                EventInput("snmp", "dist-sw3", "reachability:flapping", Severity.MINOR,
                           "dist-sw3 reachability is flapping", T0 - 40),
                EventInput("local", HOST, "memory", Severity.CRITICAL, "memory 97%", T0 - 20),
            ],
            actor="seed",
        )  # fmt: skip
        run = await store.job_start("nightly-backup", "cron", T0 - 9 * 3600 + 5)
        await store.job_finish(
            "nightly-backup", "cron", T0 - 9 * 3600 + 65, ok=False, run_id=run.run_id, exit_code=3
        )
        # What the lease holder's schedule engine would have stored by now.
        since = T0 - 7 * 86400
        runs = await store.job_runs(since=since, limit=5000)
        changes = await store.schedule_changes(since=since)
        statuses = evaluate(wall_config().jobs, runs, changes, T0, since=since)
        await store.write_job_statuses([status_record(s, T0, since) for s in statuses.values()], T0)
        if poller_alive:
            await store.try_lease(LEASE_NAME, "seed-holder", 3600.0, T0 - 1)
        else:
            await store.try_lease(LEASE_NAME, "seed-holder", 6.0, T0 - 600)
    finally:
        await store.close()


def make_wall(path: Path | str, clock: FixedClock | None = None) -> WallApp:
    return WallApp(
        wall_config(),
        store_path=path,
        clock=clock or FixedClock(T0),
        hostname=HOST,
        refresh_s=0.2,
        page_s=3600,
    )
