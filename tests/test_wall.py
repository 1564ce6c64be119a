"""`bridge wall`: read-only by construction, and what it shows from a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Isolated, one_error_line, run_bridge, settled, wait_until
from seed import T0
from textual.binding import Binding
from textual.widgets import Static
from wall_seed import DEVICES, make_wall, seed_wall, wall_config

from bridge.core.actions import Action
from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, Severity
from bridge.core.timefmt import show_time
from bridge.runtime.hosts import collector_lease, host_name
from bridge.store import ReadOnlyStoreError, open_store
from bridge.ui.app import BridgeApp
from bridge.ui.panes.events import EventsPane
from bridge.ui.wall.app import CountTile, WallApp
from bridge.ui.wall.data import DeviceStatus, read_wall
from bridge.ui.widgets.bigdigits import big_number
from bridge.ui.widgets.header import BridgeHeader, header_text
from bridge.ui.widgets.lines import LinesView
from collectors.base import Reading

LEASE_NAME = collector_lease(host_name())  # this host's collector lease


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed_wall(path)
    return path


async def fingerprint(path: Path) -> tuple[object, ...]:
    """Everything an action could touch: events, the whole journal, the change sequence."""
    store = await open_store(path)
    try:
        events = await store.list_events(include_resolved=True, limit=10_000)
        journal = await store.journal(limit=10_000)
        return (events, journal, await store.last_seq(), await store.job_runs(limit=1000))
    finally:
        await store.close()


async def test_readonly_store_refuses_every_write(db: Path) -> None:
    before = await fingerprint(db)
    store = await open_store(db, read_only=True)
    try:
        [event] = await store.list_events(limit=1)
        writes = [
            store.act([event.id], Action.ACK, "mallory", T0, note="x"),
            store.upsert_events(
                [EventInput("x", "y", "z", Severity.CRITICAL, "injected", T0)], actor="m"
            ),
            store.record("mallory", "sign-on", "x", T0),
            store.job_start("nightly-backup", "mallory", T0),
            store.try_lease(LEASE_NAME, "mallory", 6.0, T0 + 99_999),
            store.write_reading(Reading("local", "h", T0, {}, {}), {}),
        ]
        for write in writes:
            with pytest.raises(ReadOnlyStoreError, match="read-only"):
                await write
    finally:
        await store.close()
    assert await fingerprint(db) == before


async def test_wall_keys_reach_nothing(db: Path) -> None:
    """Every key the console answers to, pressed on the wall: the store is unchanged."""
    before = await fingerprint(db)
    app = make_wall(db)
    bindings = [*EventsPane.BINDINGS, *BridgeApp.BINDINGS]
    keys = [b.key if isinstance(b, Binding) else b[0] for b in bindings]
    keys = [k.split(",")[0] for k in keys if k != "q"]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(settled(pilot, lambda: app.data is not None), 5, what="first read")
        for key in [*keys, "enter", "ctrl+p", "t", "escape", "space", "y", "enter"]:
            await pilot.press(key)
        await pilot.press(*"ack note", "enter")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]  # no dialog could open
        await pilot.press("q")
    assert app.return_code == 0
    assert await fingerprint(db) == before


async def test_wall_data_from_the_store(db: Path) -> None:
    store = await open_store(db, read_only=True)
    try:
        data = await read_wall(store, wall_config(), T0)
    finally:
        await store.close()
    assert data.counts[Severity.CRITICAL] == 2 and data.counts[Severity.MAJOR] == 2
    status = {t.name: t.status for t in data.devices}
    assert status == {
        "core-sw1": DeviceStatus.ALARM,
        "edge-rt2": DeviceStatus.UP,
        "dist-sw3": DeviceStatus.FLAPPING,
        "fw-dmz": DeviceStatus.DOWN,
        "ap-lobby": DeviceStatus.UNKNOWN,
        "ups-2": DeviceStatus.STALE,
    }
    assert [(j.job, j.state) for j in data.exceptions] == [
        ("nightly-backup", "failed"),
        ("billing-batch", "late"),
    ]
    assert data.poller_alive


async def test_wall_shows_words_not_only_colours(db: Path) -> None:
    app = make_wall(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(settled(pilot, lambda: app.data is not None), 5, what="first read")
        tiles = "\n".join(str(s.content) for s in app.query(".tile").results(Static))
        for word in ("DOWN", "FLAPPING", "ALARM", "UP", "STALE", "UNKNOWN"):
            assert word in tiles, tiles
        serious = "\n".join(
            "".join(t for t, _ in line) for line in app.query_one("#serious", LinesView).lines
        )
        assert "✖ CRITICAL" in serious and "▲ MAJOR" in serious
        assert not app.query_one("#stale-banner").display


async def test_stale_banner_when_the_collector_stops(db: Path) -> None:
    clock = FixedClock(T0)
    app = make_wall(db, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        banner = app.query_one("#stale-banner", Static)
        await wait_until(settled(pilot, lambda: app.data is not None), 5, what="first read")
        assert not banner.display
        clock.advance(60)  # samples stop; and the seeded lease lasts an hour
        await wait_until(settled(pilot, lambda: banner.display), 5, what="STALE banner")
        assert "STALE" in str(banner.content) and "no new data" in str(banner.content)


async def test_stale_banner_when_no_poller_holds_the_lease(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    await seed_wall(path, poller_alive=False)
    app = make_wall(path)
    async with app.run_test(size=(80, 24)) as pilot:
        banner = app.query_one("#stale-banner", Static)
        await wait_until(settled(pilot, lambda: banner.display), 5, what="STALE banner")
        assert "no collector is running" in str(banner.content)


async def test_device_tiles_rotate_through_pages(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    await seed_wall(path)
    config = wall_config().model_copy(
        update={"devices": [*wall_config().devices, *[
            wall_config().devices[0].model_copy(update={"name": f"leaf-{i:02d}"}) for i in range(40)
        ]]}
    )  # fmt: skip
    app = WallApp(config, store_path=path, clock=FixedClock(T0), refresh_s=60, page_s=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.query_one("#devices-box")
        await wait_until(
            settled(pilot, lambda: "page 1/" in str(box.border_title)), 5, what="pages"
        )
        first = [str(s.content) for s in app.query(".tile").results(Static)]
        assert first[0].endswith("✖ DOWN")  # worst first
        app.next_page()
        await wait_until(
            settled(pilot, lambda: "page 2/" in str(box.border_title)), 5, what="page 2"
        )
        assert [str(s.content) for s in app.query(".tile").results(Static)] != first
    assert len(DEVICES) + 40 == len(config.devices)


def test_big_number_scales_to_fit() -> None:
    small = big_number("12", 3, 14)
    large = big_number("12", 13, 44)
    assert len(small.splitlines()) == 3 and len(large.splitlines()) > 6
    assert big_number("12", 2, 5) == "12"  # too small for art: plain digits


def test_cli_wall_without_a_store_is_one_line(isolated: Isolated) -> None:
    one_error_line(run_bridge(isolated, "wall"), "no store here yet")


@pytest.mark.parametrize("size", [(80, 24), (240, 70)], ids=["80x24", "240x70"])
async def test_wall_fills_the_screen(db: Path, size: tuple[int, int]) -> None:
    """From the smallest to the largest: the status line is on the last row, numbers scale."""
    app = make_wall(db)
    cols, rows = size
    async with app.run_test(size=size) as pilot:
        await wait_until(settled(pilot, lambda: app.data is not None), 5, what="first read")
        await pilot.pause()
        bar = app.query_one("#refreshed").region
        assert bar.y == rows - 1 and bar.width == cols
        digits = app.query_one("#count-critical .count-digits", Static)
        art_rows = len(str(digits.content).splitlines())
        assert art_rows >= (3 if rows < 30 else 9), str(digits.content)
        assert app.query_one("#devices-box").region.bottom <= rows - 1


async def test_wall_monochrome(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: a down device is reverse video as well as the word DOWN."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_wall(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(settled(pilot, lambda: bool(app.query(".tile.-down"))), 5, what="tiles")
        assert app.has_class("-mono")
        down = app.query_one(".tile.-down", Static)
        assert down.rich_style.reverse and "DOWN" in str(down.content)
        assert not app.query_one(".tile.-up", Static).rich_style.reverse


async def test_wall_header_shows_title_host_and_who(db: Path) -> None:
    """The header's clock keeps to the right: the title, host and `operator wall` stay visible."""
    app = make_wall(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(settled(pilot, lambda: app.data is not None), 5, what="first read")
        await pilot.pause()
        header = app.query_one(BridgeHeader)
        text = header_text(header)
        assert len(text) == 80
        for part in (" bridge ", f" {app.hostname} ", " operator wall ", " ○ reading "):
            assert part in text, (part, text)
        clock = show_time(app.clock.now(), header.clock_format, label=True)
        assert text.endswith(f" {clock} "), text


async def test_wall_judges_staleness_like_the_device_table(db: Path) -> None:
    """One setting for every view of a device: [network] stale_after_intervals."""
    from bridge.config.network import NetworkConfig
    from bridge.ui.wall.data import device_tiles

    patient = wall_config().model_copy(update={"network": NetworkConfig(stale_after_intervals=100)})
    store = await open_store(db, read_only=True)
    try:
        tiles = {t.name: t.status for t in await device_tiles(store, patient, T0)}
    finally:
        await store.close()
    assert tiles["ups-2"] is DeviceStatus.UP  # polled 900 s ago: within 100 x 30 s


async def test_wall_recomputes_digits_and_pages_on_resize(tmp_path: Path) -> None:
    """160x50 then 80x24: the digits shrink to fit, every count stays readable, and
    the device paging follows the new size (not the one the wall started at)."""
    path = tmp_path / "bridge.db"
    await seed_wall(path)
    config = wall_config().model_copy(
        update={"devices": [*wall_config().devices, *[
            wall_config().devices[0].model_copy(update={"name": f"leaf-{i:02d}"}) for i in range(40)
        ]]}
    )  # fmt: skip
    app = WallApp(config, store_path=path, clock=FixedClock(T0), refresh_s=60, page_s=3600)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(settled(pilot, lambda: app.data is not None), 5, what="first read")
        digits = app.query_one("#count-critical .count-digits", Static)
        await wait_until(
            settled(pilot, lambda: len(str(digits.content).splitlines()) >= 6), 5, what="big"
        )
        box = app.query_one("#devices-box")
        big_pages = str(box.border_title)

        await pilot.resize_terminal(80, 24)

        def fits() -> bool:
            for tile in app.query(CountTile):
                digits = tile.query_one(".count-digits", Static)
                art = str(digits.content).splitlines()
                room = tile.content_region
                if not (room.contains_region(digits.region) and len(art) <= digits.size.height):
                    return False
                if max(len(line) for line in art) > digits.size.width:
                    return False
                if not room.contains_region(tile.query_one(".count-unacked").region):
                    return False  # the unacked count is not pushed out
            return True

        await wait_until(settled(pilot, fits), 5, what="digits that fit 80x24")
        await wait_until(
            settled(pilot, lambda: str(box.border_title) != big_pages), 5, what="new paging"
        )
        tiles = list(app.query(".tile").results(Static))
        grid = app.query_one("#devices")
        assert all(t.region.bottom <= grid.region.bottom for t in tiles)
        assert all(t.region.right <= grid.region.right for t in tiles)


async def test_wall_newest_rows_align(db: Path) -> None:
    """Each "Newest" row's summary starts in the same column, however long the resource."""
    app = make_wall(db)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one("#serious", LinesView)
        await wait_until(settled(pilot, lambda: len(view.lines) >= 2), 5, what="rows")
        starts = {sum(len(text) for text, _ in line[:3]) for line in view.lines}
        assert len(starts) == 1, starts
