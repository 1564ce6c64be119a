"""A seeded store and a fixed clock, for Pilot and snapshot tests of the console."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bridge.config.file import Config
from bridge.config.schedule import JobConfig
from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, Severity
from bridge.store import open_store
from bridge.ui.app import BridgeApp, create_app
from collectors.base import Reading

# The header clock shows local time: pin the zone so snapshots match anywhere.
os.environ["TZ"] = "UTC"
time.tzset()

T0 = 1_795_000_000.0  # a fixed "now" for every console test
HOST = "bridge-test"


def local_reading(at: float, cpu: float = 42.5) -> Reading:
    return Reading(
        source="local",
        resource=HOST,
        at=at,
        metrics={"cpu": cpu, "memory": 61.0, "swap": 3.0, "load": 0.4, "net_rx": 8e5, "net_tx": 2e5,
                 "disk_read": 1e5, "disk_write": 3e5, "disk:/": 71.0, "disk:/var": 96.5},
        detail={
            "hostname": HOST,
            "cpu": {"total": cpu, "per_core": [40.0, 45.0, 38.0, 47.0], "cores": 4},
            "load": [1.6, 1.2, 0.9],
            "memory": {"total": 16 * 2**30, "used": 9.8 * 2**30, "percent": 61.0},
            "swap": {"total": 2 * 2**30, "used": 0.06 * 2**30, "percent": 3.0},
            "disks": [
                {"mount": "/", "device": "/dev/sda1", "fstype": "ext4", "total": 100 * 2**30,
                 "used": 71 * 2**30, "percent": 71.0},
                {"mount": "/var", "device": "/dev/sdb1", "fstype": "xfs", "total": 50 * 2**30,
                 "used": 48.2 * 2**30, "percent": 96.5},
            ],
            "disk_io": [{"name": "sda", "read_Bps": 1e5, "write_Bps": 3e5}],
            "net_io": [{"name": "eth0", "rx_bps": 8e5, "tx_bps": 2e5}],
            "uptime": 3 * 86400 + 4 * 3600,
            "processes": {
                "at": at,
                "count": 212,
                "by_cpu": [
                    {"pid": 4242, "name": "postgres", "user": "postgres", "cpu": 31.0, "rss": 900 * 2**20},
                    {"pid": 777, "name": "java", "user": "app", "cpu": 12.5, "rss": 2 * 2**30},
                ],
                "by_mem": [
                    {"pid": 777, "name": "java", "user": "app", "cpu": 12.5, "rss": 2 * 2**30},
                    {"pid": 4242, "name": "postgres", "user": "postgres", "cpu": 31.0, "rss": 900 * 2**20},
                ],
            },
            "temperatures": [],
        },
    )  # fmt: skip


EVENTS = [
    EventInput(
        "local", HOST, "disk:/var", Severity.CRITICAL, "/var is 96.5% full", T0 - 600, value=96.5
    ),
    EventInput(
        "snmp", "core-sw1", "ifOperStatus:Gi0/1", Severity.MAJOR, "uplink Gi0/1 down", T0 - 3600
    ),
    EventInput("http", "shop.example", "http", Severity.WARNING, "slow: 2.4 s", T0 - 120),
    # Untrusted text: markup and a terminal escape must show literally.
    EventInput("snmp", "edge-rt2", "trap", Severity.INFO, "[bold red]pwned[/] \x1b[2J", T0 - 30),
]

JOBS = [
    JobConfig(name="nightly-backup", schedule="0 2 * * *", timezone="Europe/London", owner="dba"),
    JobConfig(name="billing-batch", schedule="30 4 * * 1-5", owner="finance-ops"),
]


async def seed_store(path: Path | str) -> None:
    store = await open_store(path)
    try:
        for i in range(30):  # five minutes of history for the sparklines
            at = T0 - 290 + i * 10
            await store.write_reading(local_reading(at, cpu=20 + (i * 7) % 60), {})
        await store.write_reading(
            local_reading(T0 - 1),
            {"cpu": "ok", "memory": "ok", "load": "warning", "disk:/var": "critical"},
        )
        await store.upsert_events(EVENTS, actor="seed")
    finally:
        await store.close()


def make_app(
    path: Path,
    *,
    jobs: bool = True,
    clock: FixedClock | None = None,
    devices: Sequence[Mapping[str, Any]] = (),
) -> BridgeApp:
    """The real console on a seeded store, without polling, at a fixed time."""
    config = Config.model_validate(
        {"jobs": [j.model_dump() for j in JOBS] if jobs else [], "devices": list(devices)}
    )
    return create_app(
        config,
        operator="alice",
        store_path=path,
        clock=clock or FixedClock(T0),
        collect=False,
        hostname=HOST,
        feed_interval=0.05,
    )
