"""A seeded SNMP estate for console tests: devices up, unreachable, stale and never polled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seed import T0, make_app, seed_store

from bridge.core.clock import FixedClock
from bridge.core.models import CollectorHealth
from bridge.store import open_store
from bridge.ui.app import BridgeApp
from collectors.base import Reading

HOSTILE_ALIAS = "[bold red]ALERT[/bold red] \x1b]0;owned\x07\x1b[2J"
HOSTILE_DESCR = "Evil OS [link=http://x]click[/link] \x1b[31mred\x1b[0m"

DEVICES: list[dict[str, Any]] = [
    {"name": "core-sw1", "address": "192.0.2.10", "community": "c0re-s3cret", "interval": 30},
    {"name": "edge-rt2", "address": "192.0.2.20", "community": "edge-s3cret", "interval": 30},
    {"name": "old-sw", "address": "192.0.2.30", "interval": 30},
    {"name": "lab-sw", "address": "192.0.2.40", "interval": 30},
]


def _interfaces(count: int, down: set[int], step: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, count + 1):
        oper = "down" if i in down else "up"
        rows.append(
            {"index": i, "name": f"Gi1/0/{i}", "descr": f"GigabitEthernet1/0/{i}",
             "alias": HOSTILE_ALIAS if i == 1 else f"port {i}", "type": 6, "oper": oper,
             "admin": "up", "speed": 1_000_000_000, "hc": True,
             "in_bps": None if oper == "down" else 1e6 * i + step * 1e4,
             "out_bps": None if oper == "down" else 5e5 * i,
             "in_errors": 2.0 if i == 3 else 0.0, "out_errors": 0.0,
             "in_discards": 0.0, "out_discards": 0.0}
        )  # fmt: skip
    return rows


def switch_reading(name: str, at: float, step: int, descr: str = HOSTILE_DESCR) -> Reading:
    interfaces = _interfaces(12, {11, 12}, step)
    in_bps = sum(r["in_bps"] or 0 for r in interfaces)
    out_bps = sum(r["out_bps"] or 0 for r in interfaces)
    cpu = 20.0 + (step * 7) % 50
    return Reading(
        source="snmp",
        resource=name,
        at=at,
        metrics={"if_up": 10, "if_down": 2, "in_bps": in_bps, "out_bps": out_bps,
                 "errors": 2.0, "cpu": cpu, "uptime": 86400 * 12 + at - T0},
        detail={"address": "192.0.2.10:161", "version": "2c", "sysName": f"{name}.example",
                "sysDescr": descr, "sysObjectID": "1.3.6.1.4.1.9.1.1", "sysContact": "",
                "sysLocation": "DC1 row 4", "sysUpTime": 86400 * 12 + at - T0,
                "restarted": False, "interfaces": interfaces, "storage": [],
                "poll_ms": 41.0, "requests": 4, "truncated": False,
                "cpu": {"load": cpu, "per_cpu": [cpu]}},
    )  # fmt: skip


async def seed_network(path: Path) -> None:
    """The console seed plus an estate: one of each device status, an hour of history."""
    await seed_store(path)
    store = await open_store(path)
    try:
        for step in range(60):  # an hour of polls for the drill-down sparklines
            await store.write_reading(switch_reading("core-sw1", T0 - 3540 + step * 60, step), {})
        await store.record_health(
            CollectorHealth("snmp:core-sw1", 30, last_run=T0 - 60, last_success=T0 - 60,
                            latency_ms=41.0, runs=120)
        )  # fmt: skip
        await store.write_reading(switch_reading("edge-rt2", T0 - 900, 3), {})
        await store.record_health(
            CollectorHealth("snmp:edge-rt2", 30, last_run=T0 - 20, last_success=T0 - 900,
                            runs=40, errors=9, consecutive_failures=4, timeouts=4, backoff=8.0,
                            last_error="SnmpTimeout: no response within 2 s x 2 tries")
        )  # fmt: skip
        await store.write_reading(switch_reading("old-sw", T0 - 600, 5, descr="Old OS"), {})
        await store.record_health(
            CollectorHealth("snmp:old-sw", 30, last_run=T0 - 600, last_success=T0 - 600,
                            latency_ms=80.0, runs=3)
        )  # fmt: skip
    finally:
        await store.close()


def make_network_app(path: Path, *, clock: FixedClock | None = None) -> BridgeApp:
    return make_app(path, clock=clock, devices=DEVICES)
