"""The Health pane's lines keep their places as data arrives, so nothing moves."""

from __future__ import annotations

from pathlib import Path

from conftest import settled, wait_until
from seed import T0, local_reading, make_app, seed_store

from bridge.core.models import Snapshot
from bridge.store import open_store
from bridge.ui.panes.health import HealthPane
from bridge.ui.panes.health_view import MIN_PROCESS_ROWS, health_lines, process_rows
from bridge.ui.widgets.lines import LinesView


def all_lines(view: LinesView) -> str:
    return "\n".join("".join(text for text, _ in line) for line in view.lines)


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


def _procs(n: int) -> dict[str, object]:
    rows = [{"pid": i, "name": f"p{i}", "user": "root", "cpu": 1.0, "rss": 1024} for i in range(n)]
    return {"count": n, "by_cpu": rows, "by_mem": rows}


def _fitted(processes: dict[str, object] | None, height: int) -> list[str]:
    data: dict[str, object] = {"cpu": {"total": 5.0, "per_core": [5.0]}}
    if processes is not None:
        data["processes"] = processes
    snap = Snapshot("local", "host", 100.0, data)
    lines = health_lines(snap, {}, 46, now=100.0, stale_after=6.0, top_rows=8, height=height)
    return ["".join(text for text, _ in line) for line in lines]


def test_process_lists_shrink_to_fit_the_pane() -> None:
    unlimited = _fitted(_procs(8), 0)
    assert sum("root" in ln for ln in unlimited) == 16  # 8 rows per list
    height = len(unlimited) - 4
    fitted = _fitted(_procs(8), height)
    assert len(fitted) == height  # fits, and uses the room it has
    assert sum("root" in ln for ln in fitted) == 12  # each list gave up two rows
    # While processes are being sampled, their place is already the fitted size.
    assert len(_fitted(None, height)) == len(fitted)


def test_process_lists_keep_a_useful_minimum() -> None:
    assert process_rows(8, None) == 8
    assert process_rows(8, 100) == 8
    assert process_rows(8, 4 + 2 * 5) == 5
    assert process_rows(8, 2) == MIN_PROCESS_ROWS  # too little room: scroll, not one row
    assert process_rows(2, 2) == 2
    assert process_rows(1, 100) == 1


async def test_the_pane_fits_without_a_scrollbar_at_120x40(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    reading = local_reading(T0)
    rows = [
        {"pid": 100 + i, "name": f"worker-{i}", "user": "app", "cpu": 9.0 - i, "rss": 2**20 * i}
        for i in range(8)
    ]
    reading.detail["processes"] = {"at": T0, "count": 99, "by_cpu": rows, "by_mem": rows}
    store = await open_store(db)
    try:
        await store.write_reading(reading, {})
    finally:
        await store.close()
    app = make_app(db, jobs=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(HealthPane)
        view = pane.host_view
        await wait_until(settled(pilot, lambda: "worker-0" in all_lines(view)), 10)
        assert 0 < len(view.lines) <= view.size.height
        assert not view.show_vertical_scrollbar
        shown = all_lines(view)
        assert "TOP MEM" in shown and "worker-2" in shown and "worker-7" not in shown
        # Zoomed, the pane has room for more of them, and still fits.
        before = shown.count("worker-")
        view.focus()
        await pilot.press("z")
        await wait_until(settled(pilot, lambda: all_lines(view).count("worker-") > before), 10)
        assert len(view.lines) <= view.size.height


async def test_the_pane_shows_the_intake_line(tmp_path: Path) -> None:
    from bridge.core.models import CollectorHealth

    db = tmp_path / "bridge.db"
    await seed_store(db)
    store = await open_store(db)
    try:
        text = "http://127.0.0.1:8765; wrong-token 3, too-large 1"
        await store.record_health(
            CollectorHealth(
                "intake", 5.0, last_run=T0, last_success=T0, runs=120, errors=4, last_error=text
            )
        )
    finally:
        await store.close()
    app = make_app(db, jobs=False)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(HealthPane).host_view
        await wait_until(settled(pilot, lambda: "intake " in all_lines(view)), 10)
        line = next(ln for ln in all_lines(view).splitlines() if ln.startswith("intake "))
        assert line.startswith("intake http://127.0.0.1:8765 · 120 requests, 4 refused: wrong-")
