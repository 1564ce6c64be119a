"""The local host's health as lines of text: pure functions of a snapshot, so
the layout is testable without a terminal and redraws only what changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.core.models import Snapshot
from bridge.core.text import human_bytes, human_duration, human_rate
from bridge.core.wrap import clip
from bridge.ui.widgets.lines import Line

__all__ = [
    "MIN_PROCESS_ROWS",
    "SPARK_METRICS",
    "health_lines",
    "local_disabled_lines",
    "process_rows",
    "sparkline",
]

# The top-process lists shrink to fit the pane down to this many rows each;
# below it the pane scrolls rather than show a list too short to be useful.
MIN_PROCESS_ROWS = 3
_PROCESS_LISTS = 2  # TOP CPU and TOP MEM, each a blank line, a title and its rows

_BLOCKS = "▁▂▃▄▅▆▇█"
# Series drawn as sparklines: metric -> (label, fixed scale or None for auto).
SPARK_METRICS: dict[str, tuple[str, float | None]] = {
    "cpu": ("CPU", 100.0),
    "memory": ("MEM", 100.0),
    "net_rx": ("NET rx", None),
    "net_tx": ("NET tx", None),
    "disk_read": ("DSK rd", None),
    "disk_write": ("DSK wr", None),
}


def sparkline(values: Sequence[float], width: int, top: float | None = None) -> str:
    """The last `width` values as block characters, scaled to `top` (or their max)."""
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    peak = top if top else max(tail, default=0.0)
    if peak <= 0:
        return (_BLOCKS[0] * len(tail)).rjust(width)
    out = "".join(
        _BLOCKS[min(len(_BLOCKS) - 1, int(v / peak * (len(_BLOCKS) - 1) + 0.5))] for v in tail
    )
    return out.rjust(width)


def bucketed(points: Sequence[tuple[float, float]], bucket: float, now: float) -> list[float]:
    """Averages per time bucket, complete buckets only.

    The partial bucket is left out so a sparkline changes once per bucket, not at
    every sample: a shifting line is rewritten in full, and that costs bytes.
    """
    current = int(now // bucket)
    sums: dict[int, list[float]] = {}
    for t, v in points:
        index = int(t // bucket)
        if index < current:
            sums.setdefault(index, []).append(v)
    return [sum(vs) / len(vs) for _, vs in sorted(sums.items())]


def process_rows(wanted: int, room: int | None) -> int:
    """Rows per top-process list so the pane fits `room` lines without a scrollbar.

    On the bridge screen nobody scrolls: a pane taller than its box hides its last
    lines behind a scrollbar, and every change of its height repaints it whole.
    """
    if room is None:
        return wanted
    fit = (room - 2 * _PROCESS_LISTS) // _PROCESS_LISTS
    return min(wanted, max(MIN_PROCESS_ROWS, fit))


def _level_class(levels: Mapping[str, str], metric: str) -> str:
    level = levels.get(metric, "ok")
    return f"sev-{level}" if level != "ok" else ""


def _bar(percent: float, width: int, cls: str) -> tuple[tuple[str, str], tuple[str, str]]:
    filled = max(0, min(width, round(percent / 100 * width)))
    return ("█" * filled, cls or "sev-ok"), ("░" * (width - filled), "bar-empty")


def _meter(label: str, percent: float, extra: str, width: int, cls: str) -> Line:
    bar_w = max(4, width - 8 - 7 - len(extra) - 1)
    return (
        (f"{label:<6}", "label"),
        *_bar(percent, bar_w, cls),
        (f" {percent:5.1f}%", cls),
        (f" {extra}", ""),
    )


def local_disabled_lines(host: str) -> list[Line]:
    """The host's place when `[local] enabled = false`: no sample will come to wait
    for, and the devices and checks below are all there is."""
    return [((host, "heading"), ("  local collector disabled ([local] enabled = false)", "muted"))]


def health_lines(
    snap: Snapshot | None,
    series: Mapping[str, Sequence[tuple[float, float]]],
    width: int,
    *,
    compact: bool = False,
    now: float,
    stale_after: float,
    trend_window: float = 300.0,
    interval: float = 2.0,
    top_rows: int = 0,
    height: int = 0,
) -> list[Line]:
    """The pane's lines; with `height`, the process lists shrink so that many fit."""
    if snap is None:
        return [(("waiting for the first local sample…", "muted"),)]
    d: dict[str, Any] = snap.data
    levels = snap.levels
    age = now - snap.at
    lines: list[Line] = []
    cpu = d.get("cpu", {})
    mem = d.get("memory", {})
    swap = d.get("swap", {})
    load = d.get("load", [0.0, 0.0, 0.0])
    cores = cpu.get("cores", 1) or 1
    head: list[tuple[str, str]] = [
        (str(d.get("hostname", snap.resource)), "heading"),
        # Minutes are enough for uptime, and a line that changes every second costs bytes.
        (f"  up {human_duration(d.get('uptime', 0) // 60 * 60)}", ""),
        (f"  {cores} cores", "muted"),
        ("  load ", "label"),
        (" ".join(f"{x:.2f}" for x in load), _level_class(levels, "load")),
    ]
    if age > stale_after:
        lines.append(((f"STALE: last sample {human_duration(age)} ago", "stale"),))
    lines.append(tuple(head))
    mem_extra = f"{human_bytes(mem.get('used', 0))}/{human_bytes(mem.get('total', 0))}"
    swap_extra = f"{human_bytes(swap.get('used', 0))}/{human_bytes(swap.get('total', 0))}"
    if compact:
        disks = d.get("disks", [])
        worst = max(disks, key=lambda x: x["percent"], default=None)
        rx = sum(n["rx_bps"] for n in d.get("net_io", []))
        tx = sum(n["tx_bps"] for n in d.get("net_io", []))
        lines.append(
            (
                ("CPU ", "label"),
                (f"{cpu.get('total', 0):5.1f}%", _level_class(levels, "cpu")),
                ("  MEM ", "label"),
                (f"{mem.get('percent', 0):5.1f}%", _level_class(levels, "memory")),
                ("  SWP ", "label"),
                (f"{swap.get('percent', 0):5.1f}%", _level_class(levels, "swap")),
            )
        )
        if worst is not None:
            lines.append(
                (
                    ("DSK ", "label"),
                    (f"{worst['mount']} ", ""),
                    (f"{worst['percent']:.1f}%", _level_class(levels, f"disk:{worst['mount']}")),
                    ("  NET ", "label"),
                    (f"rx {human_rate(rx)} tx {human_rate(tx)}", ""),
                )
            )
        return lines
    lines.append(_meter("CPU", cpu.get("total", 0.0), "", width, _level_class(levels, "cpu")))
    per_core = cpu.get("per_core", [])
    cell = 11
    per_line = max(1, width // cell)
    for start in range(0, len(per_core), per_line):
        parts: list[tuple[str, str]] = []
        for i, pct in enumerate(per_core[start : start + per_line], start):
            parts.append((f"{i:>3} ", "muted"))
            parts.append((f"{pct:5.0f}% ", ""))
        lines.append(tuple(parts))
    lines.append(
        _meter("MEM", mem.get("percent", 0.0), mem_extra, width, _level_class(levels, "memory"))
    )
    lines.append(
        _meter("SWAP", swap.get("percent", 0.0), swap_extra, width, _level_class(levels, "swap"))
    )
    lines.append((("", ""),))
    lines.append((("DISK", "heading"),))
    for disk in d.get("disks", []):
        extra = f"{human_bytes(disk['used'])}/{human_bytes(disk['total'])}"
        mount = str(disk["mount"])
        lines.append(
            _meter(
                mount[-6:] if len(mount) > 6 else mount,
                disk["percent"],
                extra,
                width,
                _level_class(levels, f"disk:{mount}"),
            )
        )
    for dev in d.get("disk_io", []):
        lines.append(
            (
                (f"  {dev['name']:<10}", "muted"),
                (f" rd {human_bytes(dev['read_Bps'])}/s", ""),
                (f"  wr {human_bytes(dev['write_Bps'])}/s", ""),
            )
        )
    lines.append((("", ""),))
    lines.append((("NET", "heading"),))
    for nic in d.get("net_io", []):
        lines.append(
            (
                (f"  {nic['name']:<10}", "muted"),
                (f" rx {human_rate(nic['rx_bps'])}", ""),
                (f"  tx {human_rate(nic['tx_bps'])}", ""),
            )
        )
    temps = d.get("temperatures", [])
    if temps:
        lines.append((("", ""),))
        lines.append((("TEMP", "heading"),))
        for t in temps[:8]:
            crit = t.get("critical") or t.get("high")
            cls = "sev-critical" if crit and t["current"] >= crit else ""
            lines.append(
                ((f"  {clip(t['label'], 20):<20}", "muted"), (f" {t['current']:.0f}°C", cls))
            )
    if series:
        spark_w = max(8, width - 10)
        bucket = max(interval, trend_window / spark_w)
        lines.append((("", ""),))
        lines.append(
            (
                (f"TREND, last {human_duration(trend_window)}", "heading"),
                (f"  one bar per {bucket:.0f} s", "muted"),
            )
        )
        for metric, (label, top) in SPARK_METRICS.items():
            values = bucketed(series.get(metric, []), bucket, now)
            lines.append(((f"{label:<8} ", "label"), (sparkline(values, spark_w, top), "spark")))
    procs = d.get("processes", {})
    room = height - len(lines) if height > 0 else None
    for title, key in (("TOP CPU", "by_cpu"), ("TOP MEM", "by_mem")):
        rows = procs.get(key, [])
        if not rows:
            if top_rows and not compact:
                # Processes are sampled less often: their place is kept until they
                # come, so the pane does not grow and redraw whole when they do.
                lines.append((("", ""),))
                lines.append(((title, "heading"), ("  sampling processes…", "muted")))
                lines.extend([(("", ""),)] * process_rows(top_rows, room))
            continue
        rows = rows[: process_rows(len(rows), room)]
        lines.append((("", ""),))
        lines.append(
            ((f"{title}", "heading"), (f"  of {procs.get('count', 0)} processes", "muted"))
        )
        name_w = max(8, width - 8 - 8 - 10)
        for p in rows:
            lines.append(
                (
                    (f"{p['pid']:>7} ", "muted"),
                    (f"{p['cpu']:5.1f}%" if key == "by_cpu" else f"{human_bytes(p['rss']):>6}", ""),
                    (f"  {clip(str(p['name']), name_w):<{name_w}}", ""),
                    (f" {clip(str(p['user']), 8)}", "muted"),
                )
            )
    return lines
