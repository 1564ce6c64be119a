"""What a served wall shows, written to a JSON file after every redraw.

A browser draws the terminal on a canvas that a test or a monitor cannot read;
the wall server (bridge/ui/wall/web) reads this file instead and lists it on its
`/status` page: which process, which theme and size, the counts and newest
serious events as drawn, whether the STALE banner is up, and where on the screen
(in cells) each count tile is, so that a screenshot can be cut to one tile.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widget import Widget

from bridge.ui.wall.data import COUNTED, WallData

__all__ = ["snapshot_of", "write_snapshot"]


def _region(widget: Widget) -> list[int]:
    r = widget.region
    return [r.x, r.y, r.width, r.height]


def snapshot_of(app: App[Any], data: WallData | None, stale: float | None) -> dict[str, Any]:
    regions = {
        f"count-{sev.label}": _region(app.query_one(f"#count-{sev.label}")) for sev in COUNTED
    }
    out: dict[str, Any] = {
        "pid": os.getpid(),
        "theme": app.theme,
        "size": [app.size.width, app.size.height],
        "stale": stale is not None,
        "regions": regions,
        "read_at": None,
        "counts": {},
        "serious": [],
    }
    if data is not None:
        out["read_at"] = data.read_at
        out["counts"] = {sev.label: data.counts.get(sev, 0) for sev in COUNTED}
        out["serious"] = [
            {"id": e.id, "severity": e.severity.label, "resource": e.resource, "summary": e.summary}
            for e in data.serious
        ]
    return out


def write_snapshot(path: Path, snapshot: dict[str, Any]) -> None:
    """Whole or not at all: the server may read it at any moment."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(snapshot), encoding="utf-8")
    tmp.replace(path)
