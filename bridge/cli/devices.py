"""`bridge devices [--json]`: the SNMP estate as the poller last saw it, for scripts.

Reads the store only, so it shows what the lease holder recorded and works
without polling anything. Credentials are never part of the output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.cli.support import with_store
from bridge.config.file import load_config
from bridge.core.clock import SystemClock
from bridge.core.text import column_widths, human_duration, rate_text, safe_text
from bridge.core.timefmt import show_time, zone_name

if TYPE_CHECKING:
    from bridge.reports.devices import DeviceStatus

__all__ = ["add_devices_parser"]


def _when(t: float | None) -> str:
    return show_time(t, "second")  # the zone is in the column's heading


def _row(d: DeviceStatus, traps: bool) -> list[str]:
    status = d.status + (" (stale)" if d.stale and d.status != "never polled" else "")
    rates = (
        f"in {rate_text(d.in_bps or 0)}  out {rate_text(d.out_bps or 0)}"
        if d.in_bps is not None or d.out_bps is not None
        else "—"
    )
    return [
        safe_text(d.name, limit=24),
        d.address,
        status,
        _when(d.last_success),
        safe_text(d.sys_name, limit=24) or "—",
        human_duration(d.sys_uptime) if d.sys_uptime is not None else "—",
        f"{d.if_up}/{d.if_down}" if d.if_up is not None else "—",
        rates,
        *([f"{d.traps_malformed}/{d.traps_refused}"] if traps else []),
    ]


def _header(now: float) -> list[str]:
    return ["NAME", "ADDRESS", "STATUS", f"LAST SUCCESS ({zone_name(now)})", "SYSNAME", "UPTIME",
            "IF UP/DOWN", "TRAFFIC"]  # fmt: skip


TRAPS_HEADER = "BAD/REFUSED TRAPS"  # with the trap receiver on: junk from the device's address


def cmd_devices(args: argparse.Namespace) -> int:
    # Here, not at the top: every `bridge COMMAND` start imports this module for
    # its parser.
    from bridge.reports.devices import load_device_statuses

    config, _ = load_config(args.config)
    now = SystemClock().now()
    statuses = with_store(config, lambda s: load_device_statuses(s, config, now))
    if args.json:
        json.dump([d.as_json() for d in statuses], sys.stdout, indent=2)
        print()
        return 0
    if not statuses:
        print("no devices configured ([[devices]] in the config)")
        return 0
    traps = config.traps.enabled
    rows = [_header(now) + [TRAPS_HEADER] * traps, *(_row(d, traps) for d in statuses)]
    widths = column_widths(rows)
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0


def add_devices_parser(
    add: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser],
) -> None:
    p = add("devices", cmd_devices, "list SNMP devices: status, last poll, uptime, interfaces")
    p.add_argument("--json", action="store_true", help="JSON for scripts")
