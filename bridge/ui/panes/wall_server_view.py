"""The Health pane's "wall server" section: `bridge wall --serve` as the store has it.

The lease holder's wall collector writes the snapshot `wall/server` (the
server's sessions, each wall process' CPU and memory) and its own health
(`wall-server`); this draws both: the server's address, browsers connected out
of the most it takes, and a line per browser. A server that does not answer is
one DOWN line with the collector's reason. Every text from the snapshot is
shown literally and bounded: it came over HTTP.
"""

from __future__ import annotations

from typing import Any

from bridge.core.models import CollectorHealth, Snapshot
from bridge.core.text import human_bytes, human_duration, safe_text
from bridge.core.wrap import cell_width, clip
from bridge.ui.widgets.lines import Line

__all__ = ["HEALTH_NAME", "SESSION_LINES", "SNAPSHOT", "wall_server_lines"]

SNAPSHOT = ("wall", "server")
HEALTH_NAME = "wall-server"  # the collector's name, as its health is recorded
SESSION_LINES = 8  # browsers listed one per line; more are counted
STALE_INTERVALS = 3.0  # older figures are dated: the lease holder may be gone


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _cpu(value: object) -> str:
    n = _num(value)
    return f"{n:.1f}%" if n is not None else "?%"


def _rss(value: object) -> str:
    n = _num(value)
    return human_bytes(n) if n is not None else "?"


def _pack(groups: list[list[tuple[str, str]]], width: int, indent: str) -> list[Line]:
    """Groups of pieces in lines of at most `width` cells: a group that does not fit
    starts a line of its own, indented (one longer than any line is cut)."""
    lines: list[list[tuple[str, str]]] = [[]]
    used = 0
    for group in groups:
        size = sum(cell_width(t) for t, _ in group)
        if lines[-1] and used + size > width:
            text, style = group[0]
            group = [(indent + text.removeprefix(" · ").lstrip(), style), *group[1:]]
            size = sum(cell_width(t) for t, _ in group)
            lines.append([])
            used = 0
        lines[-1].extend(group)
        used += size
    return [_clip_line(tuple(line), width) for line in lines]


def _session_lines(s: dict[str, Any], width: int) -> list[Line]:
    theme = safe_text(str(s.get("theme", "?")), limit=20).removeprefix("bridge-")
    cols, rows = _num(s.get("cols")), _num(s.get("rows"))
    size = f"{cols:.0f}x{rows:.0f}" if cols is not None and rows is not None else "?x?"
    rate = _num(s.get("bytes_per_s"))
    sent = f"{human_bytes(rate)}/s" if rate is not None else "?/s"
    pid = _num(s.get("pid"))
    remote = safe_text(str(s.get("remote", "")), limit=40)
    groups: list[list[tuple[str, str]]] = [
        [(f"  {theme} {size}", "")],
        [(f" · {sent}", "")],
        [(" · cpu ", "label"), (_cpu(s.get("cpu_percent")), "")],
        [(" · rss ", "label"), (_rss(s.get("rss_bytes")), "")],
        [(f" · pid {pid:.0f}" if pid is not None else " · pid ?", "muted")],
    ]
    if remote:
        groups.append([(f" · {remote}", "muted")])
    return _pack(groups, width, "    ")


def wall_server_lines(
    snap: Snapshot | None,
    health: CollectorHealth | None,
    *,
    url: str,
    now: float,
    width: int = 200,
    compact: bool = False,
) -> list[Line]:
    """The section's lines: one in `compact`, else a heading and a line per browser.
    Nothing where no wall server is watched (no snapshot and no health record)."""
    if snap is None and health is None:
        return []
    data: dict[str, Any] = snap.data if snap is not None else {}
    shown_url = safe_text(str(data.get("url") or url), limit=60)
    label = ("wall ", "label") if compact else ("wall server ", "label")
    if health is not None and health.consecutive_failures:
        why = safe_text(health.last_error or "no answer", limit=200)
        tries = f" ({health.consecutive_failures}x)" if health.consecutive_failures > 1 else ""
        words = why.split(" ")
        down = [[label, (shown_url, "")], [(f" DOWN{tries}: ", "sev-critical"), (words[0], "")]]
        if compact:
            return [
                _clip_line((*down[0], *down[1], ("".join(" " + w for w in words[1:]), "")), width)
            ]
        # The reason wraps at its words (it says what to fix), in a few lines at most.
        return _pack([*down, *([(" " + w, "")] for w in words[1:])], width, "  ")[:4]
    if snap is None:  # the collector ran, but nothing is stored yet
        return [(label, (shown_url, ""), ("  waiting for its first answer…", "muted"))]
    sessions = [s for s in data.get("sessions") or [] if isinstance(s, dict)]
    browsers = len(sessions)
    most = _num(data.get("max_browsers"))
    cpu = sum(_num(s.get("cpu_percent")) or 0.0 for s in sessions)
    rss = sum(_num(s.get("rss_bytes")) or 0.0 for s in sessions)
    full = most is not None and browsers >= most
    groups: list[list[tuple[str, str]]] = [
        [label, (shown_url, "")],
        [(f" · {browsers}/{most:.0f} browsers" if most is not None else f" · {browsers} browsers",
          "sev-warning" if full else "muted")],
    ]  # fmt: skip
    if browsers:
        groups.append([(f" · CPU {cpu:.1f}%", "muted")])
        groups.append([(f" · RSS {human_bytes(rss)}", "muted")])
    interval = health.interval if health is not None else 10.0
    if now - snap.at > STALE_INTERVALS * interval:
        groups.append([(f" · as of {human_duration(now - snap.at)} ago", "sev-warning")])
    if compact:  # the one-glance summary: one line, cut where it must be
        return [_clip_line(tuple(p for g in groups for p in g), width)]
    lines = _pack(groups, width, "  ")
    for s in sessions[:SESSION_LINES]:
        lines.extend(_session_lines(s, width))
    if browsers > SESSION_LINES:
        lines.append(((f"  … and {browsers - SESSION_LINES} more", "muted"),))
    return lines


def _clip_line(line: Line, width: int) -> Line:
    """At most `width` cells: the last pieces are cut, never wrapped into the next line."""
    out: list[tuple[str, str]] = []
    room = max(1, width)
    for text, style in line:
        if room <= 0:
            break
        if cell_width(text) > room:
            text = clip(text, room)
        out.append((text, style))
        room -= cell_width(text)
    return tuple(out)
