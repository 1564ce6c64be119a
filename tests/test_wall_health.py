"""The wall server in the Health pane: a real `bridge wall --serve` with a token,
its `/status` read by the lease holder's wall collector into a real store, and
the console's Health pane (under Pilot) drawing each browser's wall process
(its CPU and memory); a stopped server is shown as down, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from browser import WallServer, free_port
from conftest import Isolated, Processes, settled, wait_until
from seed import HOST
from wall_seed import seed_wall

from bridge.config.file import Config
from bridge.core.clock import SystemClock
from bridge.core.models import CollectorHealth, Snapshot
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.poller import build_collectors
from bridge.runtime.runner import CollectorRunner
from bridge.store import open_store
from bridge.ui.app import create_app
from bridge.ui.panes.health import HealthPane
from bridge.ui.panes.wall_server_view import wall_server_lines
from bridge.ui.widgets.lines import LinesView
from collectors.wall_server import WallServerCollector, WallServerTarget, poll_url

TOKEN = "wall-health-token-0123456789"


def shown(view: LinesView) -> str:
    return "\n".join("".join(text for text, _ in line) for line in view.lines)


def _raw(db: Path, port: int) -> dict[str, Any]:
    return {"store": {"path": str(db)}, "wall": {"serve": {"port": port, "token": TOKEN}}}


def _toml(raw: dict[str, Any]) -> str:
    serve = raw["wall"]["serve"]
    return (
        f'[store]\npath = "{raw["store"]["path"]}"\n\n'
        f'[wall.serve]\nport = {serve["port"]}\ntoken = "{serve["token"]}"\n'
    )


@pytest.fixture
async def served(isolated: Isolated, processes: Processes) -> tuple[WallServer, dict[str, Any]]:
    db = isolated.root / "bridge.db"
    await seed_wall(db)
    port = free_port()
    raw = _raw(db, port)
    wall = WallServer(isolated, processes, isolated.write_config(_toml(raw)), port)
    await wall.start()
    return wall, raw


def _collector(config: Config) -> WallServerCollector:
    (collector,) = [c for c in build_collectors(config) if isinstance(c, WallServerCollector)]
    return collector


def test_the_lease_holder_watches_a_wall_server_only_where_one_is_configured() -> None:
    assert not any(
        isinstance(c, WallServerCollector) for c in build_collectors(Config.model_validate({}))
    )
    config = Config.model_validate({"wall": {"serve": {"address": "0.0.0.0", "token": TOKEN}}})
    collector = _collector(config)
    assert collector.url == "http://127.0.0.1:8080/status"  # a wildcard, on this host's loopback
    assert poll_url(WallServerTarget("::", 9000)) == "http://[::1]:9000/status"
    assert TOKEN not in repr(collector.url)


async def test_status_takes_the_token_as_a_bearer_header(
    served: tuple[WallServer, dict[str, Any]],
) -> None:
    server, _raw_config = served
    url = server.url + "status"
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).status_code == 401
        wrong = {"Authorization": "Bearer wrong-token-0123456789abc"}
        assert (await client.get(url, headers=wrong)).status_code == 401
        right = await client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    body = right.json()
    assert body["browsers"] == 0 and body["max_browsers"] == 8
    assert body["url"] == server.url and isinstance(body["now"], float)


async def _pid_known(server: WallServer) -> bool:
    async with httpx.AsyncClient() as client:
        r = await client.get(server.url + "status", headers={"Authorization": f"Bearer {TOKEN}"})
    sessions = r.json()["sessions"]
    return len(sessions) == 1 and sessions[0]["pid"] is not None


@pytest.mark.slow
async def test_the_health_pane_shows_the_wall_server_and_its_fall(
    served: tuple[WallServer, dict[str, Any]], isolated: Isolated
) -> None:
    server, raw = served
    config = Config.model_validate(raw)
    collector = _collector(config)
    store = await open_store(Path(raw["store"]["path"]))
    clock = SystemClock()
    runner = CollectorRunner(store, [collector], clock, LevelTracker({}), RuleEngine(config))
    health = CollectorHealth(name=collector.name, interval=collector.interval)
    try:
        # No browser yet: the server is up, with none of its 8 places taken.
        health = await runner.run_once(collector, health)
        assert health.consecutive_failures == 0, health.last_error
        snap = await store.snapshot("wall", "server")
        assert snap is not None and snap.data["browsers"] == 0
        assert snap.data["max_browsers"] == 8

        # One browser: a websocket as the page opens it, so its wall process starts.
        ws_url = f"ws://127.0.0.1:{server.port}/ws/bridge-contrast/16?width=100&height=30"
        async with aiohttp.ClientSession(cookies={}) as client:
            ws = await client.ws_connect(
                ws_url,
                headers={"Origin": server.url.rstrip("/"), "Cookie": await _cookie(server)},
            )
            await wait_until(lambda: _pid_known(server), 20, 0.1, what="the wall's pid")
            health = await runner.run_once(collector, health)
            health = await runner.run_once(collector, health)  # a rate between two polls
            snap = await store.snapshot("wall", "server")
            assert snap is not None
            (session,) = snap.data["sessions"]
            assert session["theme"] == "bridge-contrast"
            assert (session["cols"], session["rows"]) == (100, 30)
            assert session["rss_bytes"] > 1_000_000  # a Python process' memory, not a guess
            assert session["cpu_percent"] is not None and session["cpu_percent"] >= 0
            assert session["bytes_per_s"] is not None

            app = create_app(config, operator="alice", collect=False, hostname=HOST,
                             feed_interval=0.05)  # fmt: skip
            async with app.run_test(size=(120, 40)) as pilot:
                view = app.query_one(HealthPane).host_view

                def listed() -> bool:
                    return "1/8 browsers" in shown(view)

                await wait_until(settled(pilot, listed), 15, what="the wall server section")
                lines = shown(view).splitlines()
                start = next(i for i, ln in enumerate(lines) if ln.startswith("wall server "))
                end = start + 1
                while end < len(lines) and lines[end].startswith("  "):
                    end += 1
                section = lines[start:end]
                assert all(len(line) <= view.size.width for line in section)  # wrapped, not cut
                # Where a line wraps, its " · " goes: compare the words.
                text = " ".join(line.strip() for line in section).replace(" · ", " ")
                assert text.startswith(f"wall server {server.url} 1/8 browsers CPU ")
                assert " RSS " in text
                assert " contrast 100x30 " in text and "/s cpu " in text
                assert " rss " in text and " pid " in text

                # The server goes: the section says so, with the reason, in one line.
                await ws.close()
                await server.stop()
                health = await runner.run_once(collector, health)
                assert health.consecutive_failures == 1

                def down() -> bool:
                    return "DOWN: " in shown(view)

                await wait_until(settled(pilot, down), 15, what="the server shown down")
                text = shown(view)
                flat = " ".join(line.strip() for line in text.splitlines())
                assert f"wall server {server.url} DOWN: ConnectionError: All connection" in flat
                assert "ConnectError" not in text  # the reason once, not its wrappers
                assert "Traceback" not in text and "collector wall-server" not in text
                assert TOKEN not in text and TOKEN not in app.export_screenshot()
                assert TOKEN not in (health.last_error or "")
    finally:
        await collector.close()
        await store.close()


async def _cookie(server: WallServer) -> str:
    """The browser's cookie, as the page gets it from `/?token=` once."""
    async with httpx.AsyncClient() as client:
        r = await client.get(server.url, params={"token": TOKEN})
    assert r.status_code == 303
    return f"bridge_wall={r.cookies['bridge_wall']}"


async def test_at_80x24_the_wall_server_is_one_line(tmp_path: Path) -> None:
    """The one-glance summary: the server in one line, with every browser's cost summed."""
    db = tmp_path / "bridge.db"
    await seed_wall(db)
    raw = _raw(db, 8080)
    store = await open_store(db)
    try:
        from collectors.base import Reading

        clock = SystemClock()
        sessions = [
            {"id": f"s{i}", "theme": "bridge-dark", "cols": 80, "rows": 24, "pid": 100 + i,
             "bytes_per_s": 900.0, "cpu_percent": 1.5, "rss_bytes": 60e6, "remote": "[b]x"}
            for i in range(3)
        ]  # fmt: skip
        detail = {"url": "http://127.0.0.1:8080/", "browsers": 3, "max_browsers": 8,
                  "sessions": sessions}  # fmt: skip
        await store.write_reading(Reading("wall", "server", clock.now(), {}, detail), {})
        await store.record_health(
            CollectorHealth(name="wall-server", interval=10.0, runs=1, last_success=clock.now())
        )
    finally:
        await store.close()
    app = create_app(Config.model_validate(raw), operator="alice", collect=False, hostname=HOST,
                     feed_interval=0.05)  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(HealthPane).host_view

        def one() -> bool:
            return "3/8 browsers" in shown(view)

        await wait_until(settled(pilot, one), 15, what="the compact wall line")
        lines = [ln for ln in shown(view).splitlines() if ln.startswith("wall ")]
        assert lines == ["wall http://127.0.0.1:8080/ · 3/8 browsers · CPU 4.5% · RSS 171.7M"]


def test_the_section_is_literal_bounded_and_says_down() -> None:
    now = 1_000_000.0
    data = {"url": "http://[::1]:8080/\x1b[31m", "browsers": 1, "max_browsers": 1,
            "sessions": [{"theme": "[red]x[/red]", "cols": 80, "rows": 24, "remote": "\x07",
                          "cpu_percent": 2.0, "rss_bytes": 1e6, "bytes_per_s": 10.0}]}  # fmt: skip
    snap = Snapshot("wall", "server", now - 5, data, {})
    lines = wall_server_lines(snap, None, url="http://x/", now=now, width=60)
    text = ["".join(t for t, _ in ln) for ln in lines]
    assert "\x1b" not in "".join(text) and "\x07" not in "".join(text)
    assert any("[red]x[/red]" in t for t in text)  # literal, never markup
    assert all(len(t) <= 60 for t in text)
    assert any(style == "sev-warning" for _, style in lines[0])  # full: 1 of 1
    # Old figures are dated; a failing collector is DOWN with its reason.
    old = wall_server_lines(snap, None, url="http://x/", now=now + 600, width=200)
    assert "as of 10m" in "".join(t for t, _ in old[0])
    failing = CollectorHealth(name="wall-server", interval=10.0, consecutive_failures=3,
                              last_error="ConnectionError: All connection attempts failed")  # fmt: skip
    (down,) = wall_server_lines(snap, failing, url="http://x/", now=now, width=200)
    assert "".join(t for t, _ in down).endswith(
        " DOWN (3x): ConnectionError: All connection attempts failed"
    )
    assert wall_server_lines(None, None, url="http://x/", now=now) == []


async def test_over_tls_the_collector_trusts_only_the_servers_own_certificate(
    isolated: Isolated, processes: Processes
) -> None:
    from test_wall_web import _self_signed

    db = isolated.root / "bridge.db"
    await seed_wall(db)
    cert, key = _self_signed(isolated.root)
    other = isolated.root / "other"
    other.mkdir()
    stranger, _ = _self_signed(other)
    port = free_port()
    raw = _raw(db, port)
    raw["wall"]["serve"].update(tls_cert=str(cert), tls_key=str(key))
    text = _toml(raw) + f'tls_cert = "{cert}"\ntls_key = "{key}"\n'
    server = WallServer(isolated, processes, isolated.write_config(text), port)
    server.url, server.verify = f"https://127.0.0.1:{port}/", False
    await server.start()
    collector = _collector(Config.model_validate(raw))
    try:
        assert collector.url == f"https://127.0.0.1:{port}/status"
        (reading,) = await collector.collect()  # self-signed, pinned: trusted
        assert reading.detail["url"] == server.url and reading.detail["browsers"] == 0
    finally:
        await collector.close()
    # Another certificate than the server's: refused, and said so without the token.
    impostor = WallServerCollector(WallServerTarget("127.0.0.1", port, TOKEN, stranger))
    try:
        with pytest.raises(ConnectionError) as refused:
            await impostor.collect()
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
        assert TOKEN not in str(refused.value)
    finally:
        await impostor.close()
