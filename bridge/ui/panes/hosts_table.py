"""The Health pane's host table: one row per host reporting to the store, shown where
more than one does, so an estate reads at a glance; Enter opens a host's full view.

Figures come from each host's newest `local` snapshot; any host may write one, so
every cell is plain text (RowTable draws it literally)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.core.models import Snapshot
from bridge.core.timefmt import same_day, show_time
from bridge.runtime.hosts import HostStatus
from bridge.ui.widgets.rowtable import Column, Row, RowTable

__all__ = ["HOST_COLUMNS", "HostTable", "host_rows"]

HOST_COLUMNS = (
    # Narrow panes drop load, then the disk, then memory: which host is stale stays.
    Column("host", "HOST"),
    Column("cpu", "CPU", 4, align="right"),
    Column("mem", "MEM", 4, align="right", drop=1),
    Column("disk", "WORST DISK", 12, drop=2),
    Column("load", "LOAD", 5, align="right", drop=3),
    Column("collector", "COLLECTOR", 9),
    Column("stale", "STALE", 14),
)


def _percent(value: Any) -> str:
    return f"{value:.0f}%" if isinstance(value, int | float) else "—"


def _worst_disk(disks: Any) -> str:
    """The fullest disk, the one that fills first: its use and its mount."""
    if not isinstance(disks, list):
        return "—"
    known = [d for d in disks if isinstance(d, dict) and isinstance(d.get("percent"), int | float)]
    if not known:
        return "—"
    worst = max(known, key=lambda d: d["percent"])
    return f"{worst['percent']:.0f}% {worst.get('mount', '')}"


def _when(t: float, now: float) -> str:
    # A time, not an age: the row stays put and is not redrawn every second.
    return show_time(t, "clock" if same_day(t, now) else "minute")


def host_rows(
    hosts: Sequence[HostStatus], samples: Mapping[str, Snapshot], shown: str, now: float
) -> list[Row]:
    """A row per host, keyed by its name; stale hosts styled (and worded) as stale."""
    rows: list[Row] = []
    for h in hosts:
        snap = samples.get(h.host)
        d: dict[str, Any] = snap.data if snap is not None else {}
        cpu = d.get("cpu", {})
        mem = d.get("memory", {})
        load = d.get("load")
        stale = "no"
        if h.stale:
            stale = f"since {_when(h.stale_since, now)}" if h.stale_since is not None else "yes"
        rows.append(
            Row(
                key=h.host,
                cells=(
                    ("▸" if h.host == shown else " ") + h.host,
                    _percent(cpu.get("total") if isinstance(cpu, dict) else None),
                    _percent(mem.get("percent") if isinstance(mem, dict) else None),
                    _worst_disk(d.get("disks")),
                    f"{load[0]:.2f}" if isinstance(load, list) and load else "—",
                    "up" if h.alive else "down",
                    stale,
                ),
                style="stale" if h.stale else "",
            )
        )
    return rows


class HostTable(RowTable):
    """The hosts, one row each; Enter on one opens its full view (the pane handles it)."""

    DEFAULT_CSS = """
    HostTable { max-height: 60%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(HOST_COLUMNS, empty_text="no hosts match the filter", id=id)
