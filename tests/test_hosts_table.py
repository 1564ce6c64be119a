"""The Health pane's host table and the wall's host tiles, on a store where three
hosts report: a and b with live collectors, c whose collector's lease lapsed.

The real app under Pilot on a real SQLite file, with a fixed clock; the hosts are
written as their collectors write them (a `collector` snapshot, a lease, samples).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from conftest import settled, wait_until
from seed import T0, local_reading
from textual.widgets import Static

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.runtime.hosts import COLLECTOR_SOURCE, collector_lease
from bridge.store import open_store
from bridge.ui.app import BridgeApp, create_app
from bridge.ui.panes.health import HealthPane
from bridge.ui.panes.hosts_table import HostTable
from bridge.ui.wall.app import WallApp
from bridge.ui.widgets.header import BridgeHeader, header_text
from collectors.base import Reading

SHOWN = 5.0  # bound for the console to show what the store says


def host_sample(host: str, at: float, cpu: float, worst: float) -> Reading:
    base = local_reading(at, cpu=cpu)
    detail: dict[str, Any] = dict(base.detail)
    detail["hostname"] = host
    detail["memory"] = {**detail["memory"], "percent": 30.0 + cpu / 2}
    detail["disks"] = [
        {**detail["disks"][0], "percent": 40.0},
        {**detail["disks"][1], "mount": f"/srv/{host}", "percent": worst},
    ]
    detail["load"] = [cpu / 10, 0.5, 0.5]
    return dataclasses.replace(base, resource=host, detail=detail)


async def seed_hosts(db: Path) -> None:
    """a and b alive and fresh; c's collector lapsed a minute and a half ago."""
    store = await open_store(db)
    try:
        for host, at, cpu, worst, ttl in (
            ("a", T0 - 1, 20.0, 81.0, 3600.0),
            ("b", T0 - 2, 60.0, 93.0, 3600.0),
            ("c", T0 - 90, 40.0, 50.0, 6.0),
        ):
            await store.write_reading(
                Reading(source=COLLECTOR_SOURCE, resource=host, at=at, detail={"duties": []}), {}
            )
            await store.write_reading(host_sample(host, at, cpu, worst), {})
            assert await store.try_lease(collector_lease(host), f"{host}:1:x", ttl, at)
    finally:
        await store.close()


def console(db: Path) -> BridgeApp:
    return create_app(
        Config(),
        operator="op",
        store_path=db,
        clock=FixedClock(T0),
        collect=False,
        hostname="a",
        feed_interval=0.05,
    )


def health_text(pane: HealthPane) -> str:
    return "\n".join("".join(t for t, _ in line) for line in pane.host_view.lines)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_several_hosts_show_as_a_table_and_enter_opens_one(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    db = tmp_path / "bridge.db"
    await seed_hosts(db)
    app = console(db)
    async with app.run_test(size=size) as pilot:
        pane = app.query_one(HealthPane)
        await pilot.press("3")

        def table() -> HostTable | None:
            found = pane.host_table
            return found if found is not None and found.display and found.rows else None

        if size == (80, 24):
            # The strip has no room for the table: the one-line host list stands for
            # it, and Enter zooms the pane to show it.
            await wait_until(
                settled(pilot, lambda: health_text(pane).startswith("hosts ▸a ● up")),
                SHOWN,
                what="the host line",
            )
            assert table() is None
            await pilot.press("enter")
        await wait_until(settled(pilot, lambda: table() is not None), SHOWN, what="host table")
        shown = table()
        assert shown is not None
        rows = {r.key: (r.cells, r.style) for r in shown.rows}
        assert rows == {
            "a": (("▸a", "20%", "40%", "81% /srv/a", "2.00", "up", "no"), ""),
            "b": ((" b", "60%", "60%", "93% /srv/b", "6.00", "up", "no"), ""),
            "c": ((" c", "40%", "50%", "50% /srv/c", "4.00", "down", "since 11:05:10"), "stale"),
        }
        # The header counts the hosts and the stale among them.
        header = app.query_one(BridgeHeader)
        await wait_until(
            settled(pilot, lambda: " a · 3 hosts, 1 stale " in header_text(header)),
            SHOWN,
            what="the header's count",
        )
        assert shown.has_focus
        # Every row, whole, fits the screen: the table is as tall as its rows.
        assert shown.size.height == 4
        # Enter on b: b's full view, with its figures.
        await pilot.press("down", "enter")
        await wait_until(
            settled(pilot, lambda: not shown.display and pane.shown == "b"),
            SHOWN,
            what="b's full view",
        )
        await wait_until(
            settled(pilot, lambda: "/srv/b" in health_text(pane)), SHOWN, what="b's figures"
        )
        # `h` still moves on, to c, stale.
        await pilot.press("h")
        await wait_until(settled(pilot, lambda: pane.shown == "c"), SHOWN, what="c's view")
        # Esc: back to the table. Zoomed (80x24), the first Esc is Textual's own
        # (it un-maximizes), the second goes back to the table.
        await pilot.press("escape")
        if size == (80, 24):
            await pilot.press("escape")
        await wait_until(settled(pilot, lambda: shown.display), SHOWN, what="the table again")
        await wait_until(settled(pilot, lambda: shown.has_focus), SHOWN, what="its focus")


async def test_the_wall_shows_a_stale_host_as_a_tile(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_hosts(db)
    app = WallApp(Config(), store_path=db, clock=FixedClock(T0), refresh_s=60, page_s=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.query_one("#devices-box")
        await wait_until(
            settled(pilot, lambda: "1 host stale" in str(box.border_title)), SHOWN, what="title"
        )
        tiles = {str(s.content): s.classes for s in app.query(".tile").results(Static)}
        # c alone (a and b report), worded as well as coloured, like a device down.
        assert list(tiles) == ["host c\n✖ DOWN"]
        assert "-down" in tiles["host c\n✖ DOWN"]
