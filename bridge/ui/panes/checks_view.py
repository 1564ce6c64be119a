"""The Health pane's "Checks" section: each HTTP check's status, latency and certificate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge.core.models import Severity, Snapshot
from bridge.core.wrap import clip
from bridge.ui.widgets.lines import Line

__all__ = ["add_check_lines", "check_lines"]

_ORDER = {s.label: int(s) for s in Severity}


def _worst(data: dict[str, Any]) -> str:
    levels = [str(o.get("severity", "ok")) for o in data.get("observations") or []]
    return max(levels, key=lambda s: _ORDER.get(s, 0), default="ok")


def _cls(level: str) -> str:
    return f"sev-{level}" if level in _ORDER else ""


def check_lines(snaps: Sequence[Snapshot], *, compact: bool = False) -> list[Line]:
    if not snaps:
        return []
    if compact:
        worst = [_worst(s.data) for s in snaps]
        bad = sum(1 for w in worst if w != "ok")
        return [
            (
                ("CHECKS ", "label"),
                (f"{len(snaps) - bad} ok", "sev-ok"),
                (f"  {bad} failing" if bad else "", _cls(max(worst, key=_ORDER.__getitem__))),
            )
        ]
    lines: list[Line] = [(("", ""),), (("CHECKS", "heading"),)]
    name_w = min(16, max(len(s.resource) for s in snaps))
    for snap in snaps:
        d = snap.data
        level = _worst(d)
        name = (f"  {clip(snap.resource, name_w):<{name_w}} ", "muted")
        if d.get("error"):
            lines.append((name, ("DOWN ", "sev-critical"), (str(d["error"]), "")))
            continue
        parts: list[tuple[str, str]] = [
            name,
            (f"HTTP {d.get('status')}", _cls(level)),
            (f"  {float(d.get('latency_ms', 0)):.0f} ms", ""),
        ]
        if d.get("cert_days") is not None:
            parts.append((f"  cert {float(d['cert_days']):.0f}d", "muted"))
        lines.append(tuple(parts))
    return lines


def add_check_lines(lines: list[Line], snaps: Sequence[Snapshot], *, compact: bool) -> None:
    """Under the host's heading line, so a failing service is seen before CPU bars."""
    extra = check_lines(snaps, compact=compact)
    if not extra:
        return
    at = next((i for i, ln in enumerate(lines) if any(c == "heading" for _, c in ln)), 0) + 1
    if not compact:
        extra = [*extra[1:], (("", ""),)]  # the blank line goes after the section instead
    lines[at:at] = extra
