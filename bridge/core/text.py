"""Untrusted text (device strings, job output, event summaries) made safe to show.

Control characters are never passed to a terminal: escape sequences could move
the cursor, retitle the window or worse. They are shown as visible escapes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from bridge.core.timefmt import show_time

__all__ = [
    "byte_rate_text",
    "column_widths",
    "human_bytes",
    "human_duration",
    "human_rate",
    "human_time",
    "human_utc",
    "metric_text",
    "rate_text",
    "redact_url",
    "safe_text",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def safe_text(text: str, *, single_line: bool = True, limit: int | None = None) -> str:
    if single_line:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def human_bytes(n: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}P"  # pragma: no cover - the loop returns at T


def human_rate(bits_per_s: float) -> str:
    """A network rate in bits per second, with its unit: 0b/s, 12.5Kb/s, 1.2Gb/s."""
    for unit in ("b", "Kb", "Mb", "Gb"):
        if abs(bits_per_s) < 1000 or unit == "Gb":
            return f"{bits_per_s:.0f}{unit}/s" if unit == "b" else f"{bits_per_s:.1f}{unit}/s"
        bits_per_s /= 1000
    return f"{bits_per_s:.1f}Tb/s"  # pragma: no cover


def _three_figures(n: float) -> str:
    return f"{n:.0f}" if abs(n) >= 100 or n == int(n) else f"{n:.3g}"


def rate_text(bits_per_s: float) -> str:
    """A network rate as an operator reads it, with a space: `301 Mb/s`, `12.5 Kb/s`."""
    for unit in ("b/s", "Kb/s", "Mb/s", "Gb/s"):
        if abs(bits_per_s) < 1000 or unit == "Gb/s":
            return f"{_three_figures(bits_per_s)} {unit}"
        bits_per_s /= 1000
    return f"{_three_figures(bits_per_s)} Tb/s"  # pragma: no cover


def byte_rate_text(bytes_per_s: float) -> str:
    """Disk throughput in binary units: `31.9 KiB/s`, `2.4 MiB/s`."""
    for unit in ("B/s", "KiB/s", "MiB/s", "GiB/s"):
        if abs(bytes_per_s) < 1024 or unit == "GiB/s":
            return f"{_three_figures(bytes_per_s)} {unit}"
        bytes_per_s /= 1024
    return f"{_three_figures(bytes_per_s)} TiB/s"  # pragma: no cover


_PERCENT = frozenset({"cpu", "memory", "swap", "disk"})
_BIT_RATES = frozenset({"net_rx", "net_tx", "in_bps", "out_bps"})
_BYTE_RATES = frozenset({"disk_read", "disk_write"})


def metric_text(name: str, value: float) -> str:
    """A collected metric's value with its unit (`disk_read 32688.2` is `31.9 KiB/s`),
    so evidence and details never show a bare number whose unit must be guessed."""
    kind = name.split(":", 1)[0]
    if kind in _PERCENT:
        return f"{value:.1f}%"
    if kind == "load":
        return f"{value:.2f} per core"
    if kind in _BIT_RATES:
        return rate_text(value)
    if kind in _BYTE_RATES:
        return byte_rate_text(value)
    if kind == "errors":
        return f"{value:.1f}/s"
    if kind == "uptime":
        return human_duration(value)
    if kind in ("if_up", "if_down"):
        return f"{value:.0f}"
    return f"{value:g}"


def human_duration(seconds: float) -> str:
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def human_time(t: float | None) -> str:
    """An instant to the minute in the display zone (`[ui] time`), named after it."""
    return show_time(t, "minute", label=True)


def human_utc(t: float | None) -> str:
    """An instant to the minute in UTC, for text that is stored (journal notes) and
    so read later in any zone; what is shown uses `human_time`."""
    if t is None:
        return "—"
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """The width of each column of a text table (header row included), so every
    renderer lines its columns up the same way."""
    return [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []


def redact_url(url: str, *, keep_path: bool = False) -> str:
    """A URL as it may be shown or logged: never a user, password or query, and
    no path unless asked (a webhook's path is often its token, as Slack's are)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "<an unreadable URL>"
    host = parts.netloc.rpartition("@")[2]
    rest = parts.path if keep_path else ("/…" if parts.path.strip("/") else "")
    if parts.query:
        rest += "?…"
    return f"{parts.scheme}://{host}{rest}" if parts.scheme else f"{host}{rest}"
