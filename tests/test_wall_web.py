"""`bridge wall --serve`: the wall in a real headless Chromium, and the server's rules.

The browser tests drive Debian's Chromium through Playwright against the real
server process and its real wall processes on a real store; what the wall
draws is read from `/status` (each wall process' own snapshot), the canvas
through screenshots.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil
import pytest
from browser import WallServer, chromium, colours, free_port, needs_chromium
from conftest import Isolated, Processes, one_error_line, run_bridge, wait_until
from seed import HOST
from test_wall import fingerprint
from textual.binding import Binding
from wall_seed import DEVICES, seed_wall

from bridge.core.models import EventInput, Severity
from bridge.store import open_store
from bridge.ui.app import BridgeApp
from bridge.ui.panes.events import EventsPane

TOKEN = "wall-token-0123456789abcdef"
# Textual's key names as Playwright's.
_KEYS = {"question_mark": "?", "slash": "/", "space": "Space", "enter": "Enter", "escape": "Escape"}


def _playwright_key(key: str) -> str:
    *mods, last = key.split("+")
    names = {"ctrl": "Control", "shift": "Shift", "alt": "Alt"}
    return "+".join([*(names[m] for m in mods), _KEYS.get(last, last)])


def _config(isolated: Isolated, db: Path, port: int, serve: str = "") -> Path:
    devices = "".join(f'[[devices]]\nname = "{n}"\naddress = "127.0.0.1"\n\n' for n in DEVICES)
    text = f'[store]\npath = "{db}"\n\n[wall.serve]\nport = {port}\n{serve}\n\n{devices}'
    return isolated.write_config(text)


@pytest.fixture
async def db(isolated: Isolated) -> Path:
    path = isolated.root / "bridge.db"
    await seed_wall(path)
    return path


@pytest.fixture
async def server(isolated: Isolated, processes: Processes, db: Path) -> AsyncIterator[WallServer]:
    port = free_port()
    wall = WallServer(isolated, processes, _config(isolated, db, port), port)
    await wall.start()
    yield wall


async def _live(page: Any, within_ms: int = 20_000) -> None:
    await page.wait_for_function("document.body.dataset.wallState === 'live'", timeout=within_ms)


async def _one_session(server: WallServer, drawn: bool = True) -> dict[str, Any]:
    """The only session, once its wall process has drawn (written its snapshot)."""
    found: dict[str, Any] = {}

    async def ready() -> bool:
        sessions = (await server.status())["sessions"]
        if len(sessions) == 1 and (sessions[0]["wall"] is not None or not drawn):
            found.update(sessions[0])
            return True
        return False

    await wait_until(ready, 20, 0.1, what="one session whose wall has drawn")
    return found


def _clip(box: dict[str, float], session: dict[str, Any], region: list[int]) -> dict[str, float]:
    """A region in cells, in the page's pixels: the terminal screen over its cells."""
    cw, ch = box["width"] / session["cols"], box["height"] / session["rows"]
    x, y, w, h = region
    return {"x": box["x"] + x * cw, "y": box["y"] + y * ch, "width": w * cw, "height": h * ch}


# -- in Chromium ----------------------------------------------------------------------
@needs_chromium
@pytest.mark.slow
async def test_the_page_loads_only_from_this_server_and_draws(server: WallServer) -> None:
    origin = server.url.rstrip("/")
    seen: list[str] = []
    outside: list[str] = []

    async def route(r: Any) -> None:
        url = r.request.url
        seen.append(url)
        if url.startswith(origin + "/"):
            await r.continue_()
        else:  # a CDN font, anything: recorded and never fetched
            outside.append(url)
            await r.abort()

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 720})
        await page.route("**/*", route)
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        await page.goto(server.url)
        await _live(page)
        session = await _one_session(server)
        box = await page.locator(".xterm-screen").bounding_box()
        critical = await page.screenshot(
            clip=_clip(box, session, session["wall"]["regions"]["count-critical"])
        )
        assert not await page.locator("#stale").is_visible()
    assert outside == []
    assert seen and all(u.startswith(origin) for u in seen)
    # One socket, to this server, at the size the page measured.
    assert [u.split("?")[0] for u in sockets] == [
        f"ws://127.0.0.1:{server.port}/ws/bridge-contrast/16"
    ]
    wall = session["wall"]
    assert wall["theme"] == "bridge-contrast"  # the wall's default in a browser
    assert wall["counts"]["critical"] == 2
    assert colours(critical) > 2  # the big red digits and the frame on black, not a blank canvas


@needs_chromium
@pytest.mark.slow
async def test_a_raised_critical_shows_within_3_seconds(server: WallServer, db: Path) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 720})
        await page.goto(server.url)
        await _live(page)
        session = await _one_session(server)
        box = await page.locator(".xterm-screen").bounding_box()
        clip = _clip(box, session, session["wall"]["regions"]["count-critical"])
        before = await page.screenshot(clip=clip)
        store = await open_store(db)
        try:
            await store.upsert_events(
                [EventInput("local", HOST, "load", Severity.CRITICAL, "load 40", time.time())],
                actor="test",
            )
        finally:
            await store.close()
        raised = time.monotonic()

        async def shown() -> bool:
            wall = (await server.status())["sessions"][0]["wall"]
            return (
                bool(wall["counts"]["critical"] == 3) and await page.screenshot(clip=clip) != before
            )

        await wait_until(shown, 3.0, 0.1, what="the critical tile to show 3")
        assert time.monotonic() - raised <= 3.0


@needs_chromium
@pytest.mark.slow
async def test_keys_and_clicks_in_the_browser_change_nothing(server: WallServer, db: Path) -> None:
    before = await fingerprint(db)
    bindings = [*EventsPane.BINDINGS, *BridgeApp.BINDINGS]
    keys = {(b.key if isinstance(b, Binding) else b[0]).split(",")[0] for b in bindings}
    presses = [*map(_playwright_key, sorted(keys)), "Enter", "Control+c", "Escape", "y", "Enter"]
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 720})
        await page.goto(server.url)
        await _live(page)
        session = await _one_session(server)
        await page.locator(".xterm-screen").click()
        for key in presses:
            await page.keyboard.press(key)
        await page.keyboard.type("ack note")
        for x, y in [(100, 100), (640, 360), (1200, 700), (300, 500)]:
            await page.mouse.click(x, y)
            await page.mouse.dblclick(x, y)

        async def all_arrived() -> bool:
            now = (await server.status())["sessions"]
            return len(now) == 1 and now[0]["input_ignored"] >= session["input_ignored"] + len(
                presses
            )

        await wait_until(all_arrived, 10, 0.1, what="every key to reach the server")
        after = (await server.status())["sessions"]
        assert [s["id"] for s in after] == [session["id"]]  # q quit nothing
        assert await page.evaluate("document.body.dataset.wallState") == "live"
    assert await fingerprint(db) == before


@needs_chromium
@pytest.mark.slow
async def test_the_page_shows_stale_and_reconnects_after_a_server_restart(
    server: WallServer,
) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 720})
        navigations: list[str] = []
        page.on("framenavigated", lambda f: navigations.append(f.url))
        await page.goto(server.url)
        await _live(page)
        first = await _one_session(server)
        await wait_until(lambda: _has_pid(server, first), 10, 0.1, what="the wall's pid")
        await server.stop()
        assert not psutil.pid_exists(first["pid"])  # the server took its wall process along
        await page.wait_for_function("document.body.dataset.wallState === 'stale'", timeout=5000)
        assert await page.locator("#stale").is_visible()
        covered = await page.locator("#stale").bounding_box()
        assert covered == {"x": 0, "y": 0, "width": 1280, "height": 720}  # the whole screen
        assert "STALE" in await page.locator("#stale").inner_text()
        await server.start()
        await _live(page, within_ms=30_000)
        second = await _one_session(server)
        assert second["id"] != first["id"]
        assert not await page.locator("#stale").is_visible()
        assert navigations == [server.url]  # in place: never the browser's error page


async def _has_pid(server: WallServer, session: dict[str, Any]) -> bool:
    """The session's wall process is known (it reports its pid with its first drawing)."""
    session.update((await server.status())["sessions"][0])
    return session["pid"] is not None


@needs_chromium
@pytest.mark.slow
async def test_a_session_that_ends_comes_back_by_itself(server: WallServer) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 720})
        await page.goto(server.url)
        await _live(page)
        first = await _one_session(server)
        await wait_until(lambda: _has_pid(server, first), 10, 0.1, what="the wall's pid")
        assert first["rss_bytes"] > 0 and first["cpu_seconds"] >= 0
        psutil.Process(first["pid"]).kill()  # the wall process dies

        async def replaced() -> bool:
            sessions = (await server.status())["sessions"]
            return len(sessions) == 1 and sessions[0]["id"] != first["id"]

        await wait_until(replaced, 20, 0.1, what="a new session")
        await _live(page)


@needs_chromium
@pytest.mark.slow
async def test_theme_and_fontsize_come_from_the_url(server: WallServer) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 720})
        await page.goto(server.url + "?theme=light&fontsize=24")
        await _live(page)
        big = await _one_session(server)
        await page.goto(server.url + "?fontsize=12")
        await _live(page)

        async def small_one() -> bool:
            sessions = (await server.status())["sessions"]
            return (
                len(sessions) == 1 and sessions[0]["id"] != big["id"] and bool(sessions[0]["wall"])
            )

        await wait_until(small_one, 20, 0.1, what="the second session")
        small = (await server.status())["sessions"][0]
    assert big["wall"]["theme"] == "bridge-light" and big["fontsize"] == 24
    assert small["wall"]["theme"] == "bridge-contrast" and small["fontsize"] == 12
    # The wall follows the browser's size as it follows a terminal's.
    assert small["wall"]["size"][0] > big["wall"]["size"][0]
    assert small["wall"]["size"] == [small["cols"], small["rows"]]


@needs_chromium
@pytest.mark.slow
async def test_beyond_max_browsers_a_page_waits_with_503(
    isolated: Isolated, processes: Processes, db: Path
) -> None:
    port = free_port()
    server = WallServer(isolated, processes, _config(isolated, db, port, "max_browsers = 1"), port)
    await server.start()
    async with chromium() as browser:
        first = await browser.new_page(viewport={"width": 800, "height": 600})
        await first.goto(server.url)
        await _live(first)
        await _one_session(server)
        second = await browser.new_page(viewport={"width": 800, "height": 600})
        response = await second.goto(server.url)
        assert response is not None and response.status == 503
        await second.wait_for_function("document.body.dataset.wallState === 'stale'")
        await second.wait_for_function(
            "document.getElementById('stale-why').textContent.includes('full')", timeout=5000
        )
        assert len((await server.status())["sessions"]) == 1
        await first.close()  # a place frees: the waiting page takes it by itself
        await _live(second, within_ms=30_000)


# -- the server's rules, without a browser ------------------------------------------
def test_off_loopback_without_token_or_tls_is_one_line(isolated: Isolated, db: Path) -> None:
    config = _config(isolated, db, free_port())
    result = run_bridge(
        isolated, "--config", str(config), "wall", "--serve", "--address", "0.0.0.0"
    )
    one_error_line(result, "0.0.0.0", "token", "tls_cert")


def test_off_loopback_in_the_config_is_a_config_error(isolated: Isolated, db: Path) -> None:
    config = _config(isolated, db, free_port(), 'address = "192.0.2.1"')
    result = run_bridge(isolated, "--config", str(config), "check-config")
    one_error_line(result, "wall.serve", "192.0.2.1", "token")


async def test_the_token_once_then_a_cookie(
    isolated: Isolated, processes: Processes, db: Path
) -> None:
    port = free_port()
    config = _config(isolated, db, port, f'token = "{TOKEN}"')
    server = WallServer(isolated, processes, config, port)
    await server.start()
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/")).status_code == 401
        assert (await client.get("/status")).status_code == 401
        assert (await client.get("/ws/bridge-contrast/16")).status_code == 401
        assert (await client.get("/?token=wrong-token-0123456789")).status_code == 403
        r = await client.get(f"/?token={TOKEN}&theme=dark")
        assert r.status_code == 303
        assert r.headers["location"] == "/?theme=dark"  # the token leaves the address bar
        assert "httponly" in r.headers["set-cookie"].lower()
        assert TOKEN not in r.headers["set-cookie"]  # the cookie proves it without being it
        page = await client.get("/?theme=dark")  # the client kept the cookie
        assert page.status_code == 200 and "/ws/bridge-dark/16" in page.text
        assert (await client.get("/status")).json()["browsers"] == 0
        assert (await client.get("/alive")).status_code == 200  # for the page's reconnect
    await server.stop()
    assert TOKEN not in server.log.read_text()


async def test_bad_theme_or_fontsize_is_400_with_one_line(server: WallServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.get("/?theme=nonesuch")
        assert r.status_code == 400 and "unknown theme" in r.text and "bridge-contrast" in r.text
        r = await client.get("/?fontsize=huge")
        assert r.status_code == 400 and "fontsize" in r.text
        r = await client.get("/?fontsize=500")
        assert r.status_code == 400
        r = await client.get("/?theme=<script>")
        assert "<script>" not in r.text


def test_a_missing_store_is_one_line(isolated: Isolated) -> None:
    config = _config(isolated, isolated.root / "nope" / "bridge.db", free_port())
    result = run_bridge(isolated, "--config", str(config), "wall", "--serve")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


async def test_a_port_in_use_is_one_line(isolated: Isolated, server: WallServer, db: Path) -> None:
    config = _config(isolated, db, server.port)
    result = await asyncio.to_thread(
        run_bridge, isolated, "--config", str(config), "wall", "--serve"
    )
    one_error_line(result, "cannot listen", f"127.0.0.1:{server.port}")


async def test_a_websocket_from_another_site_is_refused(server: WallServer) -> None:
    url = f"ws://127.0.0.1:{server.port}/ws/bridge-contrast/16?width=80&height=24"
    async with aiohttp.ClientSession() as client:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(url, headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
    assert (await server.status())["browsers"] == 0


def test_address_and_port_go_with_serve(isolated: Isolated, db: Path) -> None:
    config = _config(isolated, db, free_port())
    result = run_bridge(isolated, "--config", str(config), "wall", "--port", "9999")
    one_error_line(result, "--serve")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "wall.crt", folder / "wall.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@needs_chromium
@pytest.mark.slow
async def test_over_tls_the_page_and_its_socket_are_encrypted(
    isolated: Isolated, processes: Processes, db: Path
) -> None:
    cert, key = _self_signed(isolated.root)
    port = free_port()
    serve = f'tls_cert = "{cert}"\ntls_key = "{key}"\ntoken = "{TOKEN}"'
    server = WallServer(isolated, processes, _config(isolated, db, port, serve), port)
    server.url = f"https://127.0.0.1:{port}/"
    server.verify = False
    await server.start()
    async with chromium() as browser:
        context = await browser.new_context(ignore_https_errors=True)
        page = await context.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        await page.goto(server.url + f"?token={TOKEN}")
        await _live(page)
        assert page.url == server.url  # the token out of the address bar
        [cookie] = await context.cookies()
        assert cookie["secure"] and cookie["httpOnly"] and cookie["value"] != TOKEN
        assert sockets and all(u.startswith(f"wss://127.0.0.1:{port}/") for u in sockets)


def test_unreadable_tls_files_are_one_line(isolated: Isolated, db: Path) -> None:
    serve = f'tls_cert = "{isolated.root}/no.crt"\ntls_key = "{isolated.root}/no.key"'
    config = _config(isolated, db, free_port(), serve)
    result = run_bridge(isolated, "--config", str(config), "wall", "--serve")
    one_error_line(result, "tls_cert", "no.crt")


def test_check_config_sums_the_wall_server_up_without_its_token(
    isolated: Isolated, db: Path
) -> None:
    serve = f'address = "0.0.0.0"\ntoken = "{TOKEN}"\nmax_browsers = 3'
    config = _config(isolated, db, 8181, serve)
    result = run_bridge(isolated, "--config", str(config), "check-config")
    assert result.returncode == 0, result.stderr
    assert "wall:     `wall --serve` on http://0.0.0.0:8181/ (at most 3 browsers; token set" in (
        result.stdout
    )
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("serve", "line"),
    [
        ('token = "short"', "wall.serve.token: must be 16 to 200"),
        ('tls_cert = "c.pem"', "wall.serve: tls_cert and tls_key go together"),
        ("max_browsers = 0", "wall.serve.max_browsers: must be at least 1"),
        ('listen = "0.0.0.0"', 'did you mean "address"'),
    ],
)
def test_bad_wall_serve_config_is_one_line(
    isolated: Isolated, db: Path, serve: str, line: str
) -> None:
    config = _config(isolated, db, 8181, serve)
    result = run_bridge(isolated, "--config", str(config), "check-config")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert line in result.stderr
    assert '"short"' not in result.stderr  # a bad token is not echoed either


@pytest.mark.parametrize("serve", [[], ["--serve"]])
def test_an_unknown_theme_is_one_line(isolated: Isolated, db: Path, serve: list[str]) -> None:
    config = _config(isolated, db, free_port())
    result = run_bridge(isolated, "--config", str(config), "wall", *serve, "--theme", "nonesuch")
    one_error_line(result, "wall --theme", "nonesuch")


async def test_the_theme_on_the_command_line_is_the_default(
    isolated: Isolated, processes: Processes, db: Path
) -> None:
    port = free_port()
    server = WallServer(isolated, processes, _config(isolated, db, port), port)
    await server.start("--theme", "bridge-dark")
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert "/ws/bridge-dark/16" in (await client.get("/")).text
        assert "/ws/bridge-light/16" in (await client.get("/?theme=light")).text


@pytest.mark.slow
async def test_a_wall_process_that_does_not_quit_is_ended_within_a_bound(
    server: WallServer,
) -> None:
    """A frozen wall process (SIGSTOP, as a wedged one) when its browser leaves."""
    import signal

    url = f"ws://127.0.0.1:{server.port}/ws/bridge-contrast/16?width=100&height=30"
    async with aiohttp.ClientSession() as client:
        ws = await client.ws_connect(url, headers={"Origin": server.url.rstrip("/")})
        session = await _one_session(server)
        await wait_until(lambda: _has_pid(server, session), 10, 0.1, what="the wall's pid")
        wall = psutil.Process(session["pid"])
        wall.send_signal(signal.SIGSTOP)
        await ws.close()

    async def gone() -> bool:
        if (await server.status())["browsers"] != 0:
            return False
        try:
            return wall.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    await wait_until(gone, 15, 0.1, what="the frozen wall process to be ended")
