"""`bridge hosts [--json]`: the hosts reporting to this store, their collector's lease
and whether they are stale, for scripts and for a look from any host.

Reads the store only: a host's state is what its collector's lease and its newest
sample say, whichever process asks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.cli.support import with_store
from bridge.config.file import load_config
from bridge.core.clock import SystemClock
from bridge.core.text import column_widths, safe_text
from bridge.core.timefmt import show_time, zone_name

if TYPE_CHECKING:
    from bridge.runtime.hosts import HostStatus

__all__ = ["add_hosts_parser", "host_json"]


def host_json(h: HostStatus) -> dict[str, Any]:
    """One host for `--json`: times as Unix seconds, the lease without its holder's nonce."""
    lease = h.lease
    return {
        "host": h.host,
        "state": h.state,
        "stale": h.stale,
        "stale_since": h.stale_since,
        "last_reading": h.last_reading,
        "lease": None
        if lease is None
        else {
            "name": lease.name,
            "pid": lease.pid,
            "acquired_at": lease.acquired_at,
            "heartbeat_at": lease.heartbeat_at,
            "expires_at": lease.expires_at,
        },
        "duties": list(h.duties),
    }


def _when(t: float | None) -> str:
    return show_time(t, "second") if t is not None else "—"


def _lease_text(h: HostStatus, now: float) -> str:
    if h.alive:
        return "held"
    if h.lease is None:
        return "free (released)"
    return f"free (lapsed {_when(h.lease.expires_at)})"


def cmd_hosts(args: argparse.Namespace) -> int:
    from bridge.runtime.hosts import list_hosts  # only this command reads hosts

    config, _ = load_config(args.config)
    now = SystemClock().now()
    stale_after = config.ui.stale_after_intervals * config.local.interval
    hosts = with_store(config, lambda s: list_hosts(s, now, stale_after))
    if args.json:
        json.dump([host_json(h) for h in hosts], sys.stdout, indent=2)
        print()
        return 0
    if not hosts:
        print("no hosts have reported (run `bridge collect` on each host)")
        return 0
    zone = zone_name(now)
    rows = [["HOST", "STATE", "LEASE", f"LAST READING ({zone})", "STALE SINCE", "ESTATE DUTIES"]]
    for h in hosts:
        rows.append(
            [
                safe_text(h.host, limit=64),
                h.state,
                _lease_text(h, now),
                _when(h.last_reading),
                _when(h.stale_since) if h.stale else "—",
                ", ".join(h.duties) or "—",
            ]
        )
    widths = column_widths(rows)
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0


def add_hosts_parser(
    add: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser],
) -> None:
    p = add("hosts", cmd_hosts, "list hosts: their collector's lease, last reading, stale or not")
    p.add_argument("--json", action="store_true", help="JSON for scripts")
