"""`[local] enabled = false`: no local sample will come, so the Health pane says so
and shows what there is (devices, checks), and no header calls the data STALE
for want of one."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import settled, wait_until
from http_server import Behaviour, TestServer, serve
from seed import HOST, T0, seed_store
from wall_seed import seed_wall, wall_config

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.ui.app import BridgeApp, create_app
from bridge.ui.panes.health import HealthPane
from bridge.ui.wall.app import WallApp
from bridge.ui.widgets.header import BridgeHeader, header_text
from bridge.ui.widgets.lines import LinesView

DISABLED = "local collector disabled"


@pytest.fixture
def server() -> Iterator[TestServer]:
    with serve() as s:
        s.route("/ok", Behaviour())
        yield s


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health_text(app: BridgeApp) -> str:
    view = app.query_one("#health-view", LinesView)
    return "\n".join("".join(text for text, _ in line) for line in view.lines)


def config_without_local(**more: Any) -> Config:
    return Config.model_validate({"local": {"enabled": False}, **more})


async def test_a_polling_console_without_local_collector_shows_devices_and_checks(
    server: TestServer, tmp_path: Path
) -> None:
    config = config_without_local(
        http_checks=[{"name": "shop", "url": server.url("/ok"), "interval": 1}],
        # Nobody answers on this port: the device is shown as what it is.
        devices=[{"name": "core-sw1", "address": "127.0.0.1", "port": free_udp_port(),
                  "timeout": 0.5, "retries": 0}],
    )  # fmt: skip
    app = create_app(config, operator="alice", store_path=tmp_path / "bridge.db", hostname=HOST)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            settled(pilot, lambda: "HTTP 200" in health_text(app)), 10, what="the check's result"
        )
        text = health_text(app)
        assert DISABLED in text and HOST in text, text
        assert "waiting for the first local sample" not in text
        assert "CHECKS" in text and "shop" in text
        table = app.query_one(HealthPane).network
        assert table is not None and table.status("core-sw1") is not None


async def test_no_stale_claim_for_a_collector_that_is_not_there(tmp_path: Path) -> None:
    """Samples left in the store by an earlier run with the collector on are no news."""
    db = tmp_path / "bridge.db"
    await seed_store(db)  # local samples up to T0 - 1
    clock = FixedClock(T0)
    app = create_app(
        config_without_local(),
        operator="alice",
        store_path=db,
        clock=clock,
        collect=False,
        hostname=HOST,
        feed_interval=0.05,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        clock.advance(app.stale_after * 10 + 60)
        app._tick()  # the 1 s timer, without waiting a second
        await pilot.pause()
        header = header_text(app.query_one(BridgeHeader))
        assert "STALE" not in header, header
        text = health_text(app)
        assert DISABLED in text and "STALE" not in text and "CPU" not in text, text


async def test_the_wall_without_local_collector_is_stale_only_when_no_poller(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bridge.db"
    await seed_wall(db)  # a live lease holder, local samples up to T0 - 1
    clock = FixedClock(T0)
    config = wall_config().model_copy(update={"local": config_without_local().local})
    app = WallApp(config, store_path=db, clock=clock, hostname=HOST, refresh_s=0.2, page_s=3600)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(settled(pilot, lambda: app.data is not None), 5, what="the wall's data")
        clock.advance(app.stale_after * 10)  # the lease (an hour) is still held
        await app.reload()
        await pilot.pause()
        assert app.stale_for() is None
        assert "STALE" not in header_text(app.query_one(BridgeHeader))
        assert not app.query_one("#stale-banner").display
