"""The Health pane's lines keep their places as data arrives, so nothing moves."""

from __future__ import annotations

from bridge.models import Snapshot
from bridge.ui.health_view import health_lines


def lines_for(processes: dict[str, object] | None) -> list[str]:
    data: dict[str, object] = {"cpu": {"total": 5.0, "per_core": [5.0]}}
    if processes is not None:
        data["processes"] = processes
    snap = Snapshot("local", "host", 100.0, data)
    lines = health_lines(snap, {}, 46, now=100.0, stale_after=6.0, top_rows=3)
    return ["".join(text for text, _ in line) for line in lines]


def test_top_processes_keep_their_place_until_sampled() -> None:
    waiting = lines_for(None)
    assert any("sampling processes" in line for line in waiting)
    row = {"pid": 1, "name": "init", "user": "root", "cpu": 1.0, "rss": 1024}
    sampled = lines_for({"count": 3, "by_cpu": [row] * 3, "by_mem": [row] * 3})
    assert len(sampled) == len(waiting)  # same height: no full redraw when they come
    assert not any("sampling processes" in line for line in sampled)
