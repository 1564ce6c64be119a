"""The health pane's network half, driven by Pilot on a seeded store at a fixed time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import screen_text, settled, wait_until
from seed import T0
from seed_network import make_network_app, seed_network, switch_reading

from bridge.core.models import Change
from bridge.store import open_store
from bridge.ui.panes.health import HealthPane
from bridge.ui.panes.network_view import DeviceScreen, NetworkView
from bridge.ui.widgets.lines import LinesView
from bridge.ui.widgets.rowtable import RowTable

SnapCompare = Callable[..., bool]


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed_network(path)
    return path


def rendered(widget: RowTable | LinesView) -> str:
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def statuses(table: NetworkView) -> dict[str, str]:
    return {row.key: row.cells[2] for row in table.rows}


async def test_device_table_shows_every_status_without_secrets(db: Path) -> None:
    app = make_network_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(NetworkView)
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="device rows")
        assert statuses(table) == {
            "core-sw1": "up", "edge-rt2": "unreach", "old-sw": "stale", "lab-sw": "never",
        }  # fmt: skip
        core = table.rows[0]
        assert core.cells[5] == "10/2" and core.cells[6].endswith("Mb")
        styles = {row.key: row.cell_styles[2] for row in table.rows}
        assert styles == {"core-sw1": "sev-ok", "edge-rt2": "sev-major", "old-sw": "stale",
                          "lab-sw": "muted"}  # fmt: skip
        text = screen_text(app)
        assert "core-sw1" in text and "unreach" in text
        for secret in ("c0re-s3cret", "edge-s3cret"):
            assert secret not in text
        # The failing device is shown in its row, not as a host problem above the host lines.
        assert "failing" not in rendered(app.query_one(HealthPane).host_view)

        await pilot.press("3")
        assert app.focused is table  # Enter on a device needs the table focused


async def test_enter_opens_a_drill_down_with_literal_device_strings(db: Path) -> None:
    app = make_network_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(NetworkView)
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="device rows")
        await pilot.press("3", "enter")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, DeviceScreen)), 5, what="device screen"
        )
        screen = app.screen
        assert isinstance(screen, DeviceScreen) and screen.device == "core-sw1"
        interfaces = screen.query_one("#device-interfaces", RowTable)
        await wait_until(settled(pilot, lambda: len(interfaces.rows) == 12), 5, what="ifaces")
        lines = screen.query_one("#device-lines", LinesView)
        head = rendered(lines)
        # Markup and terminal escapes from the device arrive as visible text.
        assert "[link=http://x]click[/link] \\x1b[31mred\\x1b[0m" in head
        assert "TREND, last 1h00m" in head and "IN " in head
        spark = next(ln for ln in head.splitlines() if ln.startswith("CPU"))
        assert len(set(spark) & set("▁▂▃▄▅▆▇█")) >= 3  # an hour of moving CPU, not a flat line
        first = rendered(interfaces).splitlines()[1]
        assert first.startswith("Gi1/0/1") and "[bold red]ALERT[/bold re" in first
        assert "\x1b" not in screen_text(app)
        downs = [r for r in interfaces.rows if r.cells[2] == "up/down"]
        assert [r.cells[0] for r in downs] == ["Gi1/0/11", "Gi1/0/12"]
        assert all(r.cell_styles[2] == "sev-major" for r in downs)
        await pilot.press("escape")
        assert not isinstance(app.screen, DeviceScreen)


async def test_a_new_poll_updates_one_row_and_the_open_drill_down(db: Path) -> None:
    app = make_network_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(NetworkView)
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="device rows")
        await pilot.press("3", "down", "down", "enter")  # old-sw
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, DeviceScreen)), 5, what="device screen"
        )
        screen = app.screen
        assert isinstance(screen, DeviceScreen) and screen.device == "old-sw"
        before = {r.key: r for r in table.rows}
        store = await open_store(db)  # another process's poller, as far as the console knows
        try:
            reading = switch_reading("old-sw", T0 - 5, 9, descr="Old OS v2")
            await store.write_reading(reading, {})
            from bridge.core.models import CollectorHealth

            await store.record_health(
                CollectorHealth("snmp:old-sw", 30, last_run=T0 - 5, last_success=T0 - 5)
            )
        finally:
            await store.close()
        await wait_until(
            settled(pilot, lambda: statuses(table)["old-sw"] == "up"), 5, what="old-sw up"
        )
        after = {r.key: r for r in table.rows}
        assert [k for k in before if before[k] != after[k]] == ["old-sw"]
        lines = screen.query_one("#device-lines", LinesView)
        await wait_until(
            settled(pilot, lambda: "Old OS v2" in rendered(lines)), 5, what="drill-down update"
        )
        assert "STALE" not in rendered(lines)


async def test_filter_narrows_the_device_table(db: Path) -> None:
    app = make_network_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(NetworkView)
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="device rows")
        await pilot.press("3", "slash", *"unreach", "enter")
        assert [r.key for r in table.rows] == ["edge-rt2"]


async def test_80x24_shows_a_network_summary_line(db: Path) -> None:
    app = make_network_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        health = app.query_one(HealthPane)
        await wait_until(
            settled(pilot, lambda: "NET 4 devices" in rendered(health.host_view)), 5, what="summary"
        )
        summary = next(ln for ln in rendered(health.host_view).splitlines() if ln.startswith("NET"))
        assert "1 up" in summary and "1 unreachable" in summary and "1 stale" in summary
        assert not app.query_one(NetworkView).display
        await pilot.press("3")
        assert app.focused is health.host_view  # the table is hidden: focus the summary
        await pilot.press("z")
        await wait_until(
            settled(pilot, lambda: app.query_one(NetworkView).display), 5, what="zoomed table"
        )


async def test_80x24_a_filter_counts_the_devices_it_matches(db: Path) -> None:
    """At 80x24 the summary line is the device table: a filter blanked it with the
    host's lines, leaving the pane empty but for the host's name."""
    app = make_network_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        health = app.query_one(HealthPane)
        await wait_until(
            settled(pilot, lambda: "NET 4 devices" in rendered(health.host_view)), 5, what="summary"
        )
        await pilot.press("3", "slash", *"unreach", "enter")
        await wait_until(
            settled(pilot, lambda: "NET 1 device " in rendered(health.host_view)), 5,
            what="the summary of the matching devices",
        )  # fmt: skip
        summary = next(ln for ln in rendered(health.host_view).splitlines() if ln.startswith("NET"))
        assert "0 up" in summary and "1 unreachable" in summary


def test_snapshot_network_120x40(snap_compare: SnapCompare, tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "bridge.db"
    asyncio.run(seed_network(path))
    assert snap_compare(make_network_app(path), terminal_size=(120, 40))


def test_snapshot_device_drill_down(snap_compare: SnapCompare, tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "bridge.db"
    asyncio.run(seed_network(path))
    assert snap_compare(make_network_app(path), press=["3", "enter"], terminal_size=(120, 40))


async def test_a_device_poll_leaves_the_host_lines_alone(db: Path) -> None:
    """Each device poll records a reading and the device's health: the device table
    shows them; the host's lines are not rebuilt, nor every collector's health re-read,
    for each poll."""
    app = make_network_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(HealthPane)
        table = app.query_one(NetworkView)
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="device rows")
        redraws: list[str] = []
        redraw = pane.redraw

        def counted() -> None:
            redraws.append("host")
            redraw()

        pane.redraw = counted  # type: ignore[method-assign]  # our own pane, not Textual's
        poll = [Change(1, T0, "reading", "snmp|core-sw1"), Change(2, T0, "health", "snmp:core-sw1")]
        await pane.load(poll)
        assert redraws == []
        assert statuses(table)["core-sw1"] == "up"  # the device table did read it
        await pane.load([Change(3, T0, "health", "local")])
        assert redraws == ["host"]  # the host's own collector still redraws them


async def test_80x24_enter_on_health_opens_the_devices(db: Path) -> None:
    """At 80x24 the device table is hidden: `3` then Enter shows it (zoomed) and
    focuses it, and Enter again opens the device under the cursor."""
    app = make_network_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        health = app.query_one(HealthPane)
        table = app.query_one(NetworkView)
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="device rows")
        await pilot.press("3", "enter")
        await wait_until(
            settled(pilot, lambda: table.display and app.focused is table), 5, what="devices"
        )
        assert table.region.height >= 5 and health.has_class("-zoomed")
        await pilot.press("enter")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, DeviceScreen)), 5, what="device screen"
        )


async def test_120x40_with_devices_the_trends_and_top_processes_are_reachable(db: Path) -> None:
    """The device table takes part of the health pane: the host's sparklines and
    top-process lists are still reached, by `3` again and scrolling the host lines."""
    app = make_network_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        health = app.query_one(HealthPane)
        table = app.query_one(NetworkView)
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="device rows")
        await pilot.press("3")
        assert app.focused is table
        seen: set[str] = set()
        await pilot.press("3")  # again: the host lines
        assert health.host_view.has_focus
        for _ in range(health.host_view.virtual_size.height):
            seen |= set(rendered(health.host_view).splitlines())
            await pilot.press("down")
        text = "\n".join(seen)
        assert "TREND" in text and "TOP CPU" in text and "TOP MEM" in text
        assert any(ln.startswith("CPU") and "▂" in ln for ln in seen)
