"""An event's frozen evidence as plain text lines, for `bridge events show`.

The evidence is what made the event: the values and the top processes at the
moment it was raised. A script or an operator over SSH reads it in the text
output as the console's details show it. The evidence is stored JSON that any
source may have written, so every value is checked for its type and every
text shown literally.
"""

from __future__ import annotations

import json
from typing import Any

from bridge.core.text import human_bytes, safe_text
from bridge.core.timefmt import show_time

__all__ = ["evidence_lines"]

_KNOWN = ("at", "metrics", "top_cpu", "top_memory")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _process(p: Any) -> str:
    if not isinstance(p, dict):
        return f"    {safe_text(json.dumps(p), limit=120)}"
    cpu, rss = _number(p.get("cpu")), _number(p.get("rss"))
    pid = p.get("pid")
    return (
        f"    {safe_text(str(pid if pid is not None else '?'), limit=10):>7} "
        f"{'?' if cpu is None else f'{cpu:.1f}':>5}% "
        f"{'?' if rss is None else human_bytes(rss):>7}  "
        f"{safe_text(str(p.get('name', '?')), limit=80)}"
    )


def evidence_lines(evidence: dict[str, Any] | None) -> list[str]:
    """`evidence:` and what it holds, indented under it; one line when there is none."""
    if not evidence:
        return ["evidence:      none"]
    at = _number(evidence.get("at"))
    lines = [f"evidence:      at raise, {show_time(at, 'second', label=True)}"]
    metrics = evidence.get("metrics")
    if isinstance(metrics, dict) and metrics:
        values = "  ".join(
            f"{safe_text(str(k), limit=40)} "
            + (f"{n:.1f}" if (n := _number(v)) is not None else safe_text(str(v), limit=40))
            for k, v in sorted(metrics.items(), key=lambda kv: str(kv[0]))
        )
        lines.append(f"  values       {values}")
    for title, key in (("top by CPU", "top_cpu"), ("top by memory", "top_memory")):
        procs = evidence.get(key)
        if isinstance(procs, list) and procs:
            lines.append(f"  {title}")
            lines.extend(_process(p) for p in procs)
    for k, v in evidence.items():
        if k not in _KNOWN:
            lines.append(
                f"  {safe_text(str(k), limit=20):<12} {safe_text(json.dumps(v), limit=200)}"
            )
    return lines
