"""The wall server: pages, sessions, limits and the token, on aiohttp.

textual-serve's own `Server` runs one fixed command and serves its own page
(web fonts from a public CDN, a Restart button); here each browser's command
carries the theme it asked for, keys and clicks are not passed on, and a
`/status` page lists every session with what its wall process draws and costs.
The terminal protocol is textual-serve's `AppService`, used as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import html
import json
import logging
import shlex
import signal
import ssl
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

import psutil
from aiohttp import WSMsgType, web
from textual.theme import Theme
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from yarl import URL

from bridge.config.file import Config, ConfigError
from bridge.config.records import SecretStr
from bridge.config.themes import check_theme_name
from bridge.config.wall import exposure_problem
from bridge.ui.theming import theme_names
from bridge.ui.wall.data import open_wall_store

__all__ = ["ServeSettings", "WallWebServer", "serve_wall"]

log = logging.getLogger("bridge.wall.serve")

COOKIE = "bridge_wall"
STOP_BOUND_S = 5.0  # a wall process that has not quit by then is killed
FONT_MIN, FONT_MAX = 6, 96
_HERE = files("bridge.ui.wall.web")
# textual-serve's own client (xterm.js and its protocol), served from the installed package.
_CLIENT = files("textual_serve") / "static"


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """What `bridge wall --serve` runs with: [wall.serve], then the command line's overrides."""

    address: str = "127.0.0.1"
    port: int = 8080
    max_browsers: int = 8
    token: SecretStr | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    fontsize: int = 16
    theme: str = "bridge-contrast"

    @classmethod
    def from_config(
        cls,
        config: Config,
        address: str | None = None,
        port: int | None = None,
        theme: str | None = None,
    ) -> ServeSettings:
        s = config.wall.serving
        return cls(
            address=address or s.address,
            port=port or s.port,
            max_browsers=s.max_browsers,
            token=s.token,
            tls_cert=s.tls_cert,
            tls_key=s.tls_key,
            fontsize=s.fontsize,
            theme=theme or s.theme,
        )

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"


@dataclass(slots=True)
class Session:
    """One browser, its wall process and what passed between them."""

    id: str
    remote: str
    theme: str
    fontsize: int
    snapshot: Path
    started_at: float = field(default_factory=time.time)
    cols: int = 0
    rows: int = 0
    bytes_out: int = 0
    input_ignored: int = 0
    process: psutil.Process | None = None

    def wall(self) -> dict[str, Any] | None:
        """What the wall process last drew, as it wrote it (snapshot.py)."""
        try:
            data: dict[str, Any] = json.loads(self.snapshot.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data

    def costs(self, wall: dict[str, Any] | None) -> dict[str, Any]:
        """The wall process' CPU seconds and resident memory: ours only (its parent is us)."""
        if self.process is None and wall is not None:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(int(wall["pid"]))
                if proc.ppid() == psutil.Process().pid:
                    self.process = proc
        if self.process is None:
            return {"pid": None, "cpu_seconds": None, "rss_bytes": None}
        try:
            with self.process.oneshot():
                cpu = self.process.cpu_times()
                return {
                    "pid": self.process.pid,
                    "cpu_seconds": round(cpu.user + cpu.system, 3),
                    "rss_bytes": self.process.memory_info().rss,
                }
        except psutil.Error:
            return {"pid": self.process.pid, "cpu_seconds": None, "rss_bytes": None}


class WallService(AppService):
    """textual-serve's process driver, closing the browser's socket when the wall
    process ends for any reason (textual-serve closes it only on a clean exit), so
    the page never shows a frozen last frame as if it were live."""

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            with contextlib.suppress(Exception):
                await self.remote_close()


def _page(name: str) -> Template:
    return Template((_HERE / "templates" / name).read_text(encoding="utf-8"))


class WallWebServer:
    """The aiohttp application: `/`, `/ws/{theme}/{fontsize}`, `/alive`, `/status` and the statics."""

    def __init__(
        self,
        settings: ServeSettings,
        wall_command: list[str],
        *,
        themes: list[str],
        state_dir: Path,
    ) -> None:
        self.settings = settings
        self.wall_command = wall_command
        self.themes = themes
        self.state_dir = state_dir
        self.sessions: dict[str, Session] = {}
        self.sockets: set[web.WebSocketResponse] = set()
        self.downloads = DownloadManager()
        self.index = _page("wall.html")
        self.refused = _page("refused.html")

    # -- who may look --------------------------------------------------------------
    def _cookie_value(self) -> str | None:
        """The cookie proves the token without being it: an HMAC of a fixed label."""
        if self.settings.token is None:
            return None
        key = self.settings.token.get_secret_value().encode()
        return hmac.new(key, b"bridge wall cookie", hashlib.sha256).hexdigest()

    def _allowed(self, request: web.Request) -> bool:
        wanted = self._cookie_value()
        if wanted is None:
            return True
        return hmac.compare_digest(request.cookies.get(COOKIE, ""), wanted)

    def _refuse(self, status: int, line: str) -> web.Response:
        body = self.refused.substitute(status=status, line=html.escape(line))
        return web.Response(status=status, text=body, content_type="text/html")

    def _theme(self, asked: str | None) -> str | None:
        """`contrast` or `bridge-contrast`, any theme the console knows; None if unknown."""
        if not asked:
            return self.settings.theme
        for name in (asked, f"bridge-{asked}"):
            if name in self.themes:
                return name
        return None

    # -- handlers --------------------------------------------------------------------
    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if token is not None and self.settings.token is not None:
            given, wanted = token.encode("utf-8", "surrogateescape"), self.settings.token
            if not hmac.compare_digest(given, wanted.get_secret_value().encode()):
                return self._refuse(403, "wrong token")
            # Once: the cookie from now on, and the token out of the address bar.
            query = {k: v for k, v in request.query.items() if k != "token"}
            response = web.HTTPSeeOther(request.rel_url.with_query(query).human_repr())
            response.set_cookie(
                COOKIE,
                self._cookie_value() or "",
                max_age=400 * 86400,
                httponly=True,
                samesite="Strict",
                secure=self.settings.tls,
            )
            return response
        if not self._allowed(request):
            return self._refuse(401, "this wall needs its token: open it once as /?token=...")
        theme = self._theme(request.query.get("theme"))
        if theme is None:
            return self._refuse(400, f"unknown theme; one of: {', '.join(self.themes)}")
        try:
            fontsize = int(request.query.get("fontsize", self.settings.fontsize))
        except ValueError:
            fontsize = -1
        if not FONT_MIN <= fontsize <= FONT_MAX:
            return self._refuse(
                400, f"fontsize must be a whole number from {FONT_MIN} to {FONT_MAX}"
            )
        full = len(self.sessions) >= self.settings.max_browsers
        body = self.index.substitute(
            theme=html.escape(theme),
            fontsize=fontsize,
            full="full" if full else "",
            max_browsers=self.settings.max_browsers,
        )
        # Full: the page still comes, with 503, and waits for a place by itself.
        headers = {"Cache-Control": "no-store"}
        return web.Response(
            status=503 if full else 200, text=body, content_type="text/html", headers=headers
        )

    async def handle_alive(self, request: web.Request) -> web.Response:
        """For the page's reconnect: 200 when a browser could connect now, else 503."""
        full = len(self.sessions) >= self.settings.max_browsers
        return web.Response(
            status=503 if full else 200,
            text="full\n" if full else "ok\n",
            headers={"Cache-Control": "no-store"},
        )

    async def handle_favicon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)  # no icon, and no 404 in the browser's console

    def _bearer(self, request: web.Request) -> bool:
        """`Authorization: Bearer TOKEN`: how a program (the lease holder's wall
        collector) shows the token, having no cookie and never putting it in a URL."""
        if self.settings.token is None:
            return False
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        wanted = self.settings.token.get_secret_value().encode()
        given_bytes = given.strip().encode("utf-8", "surrogateescape")
        return scheme.lower() == "bearer" and hmac.compare_digest(given_bytes, wanted)

    async def handle_status(self, request: web.Request) -> web.Response:
        if not (self._allowed(request) or self._bearer(request)):
            return web.json_response({"error": "token needed"}, status=401)
        return web.json_response(self.status())

    def status(self) -> dict[str, Any]:
        sessions = []
        for s in list(self.sessions.values()):
            wall = s.wall()
            sessions.append(
                {
                    "id": s.id,
                    "remote": s.remote,
                    "started_at": s.started_at,
                    "theme": s.theme,
                    "fontsize": s.fontsize,
                    "cols": s.cols,
                    "rows": s.rows,
                    "bytes_out": s.bytes_out,
                    "input_ignored": s.input_ignored,
                    **s.costs(wall),
                    "wall": wall,
                }
            )
        return {
            # The server's own clock, so a reader computes rates (bytes/s, CPU %)
            # from `started_at` and the counters without trusting its own.
            "now": time.time(),
            "url": self.settings.url(),
            "browsers": len(sessions),
            "max_browsers": self.settings.max_browsers,
            "sessions": sessions,
        }

    def command_for(self, session: Session) -> str:
        argv = [*self.wall_command, "--theme", session.theme, "--snapshot", str(session.snapshot)]
        # exec: the shell textual-serve starts becomes the wall, so its pid is the wall's.
        return "exec " + shlex.join(argv)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            raise web.HTTPUnauthorized(text="token needed\n")
        origin = request.headers.get("Origin")
        if origin is not None and URL(origin).raw_authority != request.host:
            # Another site's page in the kiosk's browser: no wall for it.
            raise web.HTTPForbidden(text="cross-origin websocket refused\n")
        theme = self._theme(request.match_info["theme"])
        if theme is None:
            raise web.HTTPBadRequest(text="unknown theme\n")
        if len(self.sessions) >= self.settings.max_browsers:
            raise web.HTTPServiceUnavailable(
                text=f"the wall server is full: {self.settings.max_browsers} browsers\n"
            )

        def size(name: str, default: int) -> int:
            try:
                return max(1, min(int(request.query.get(name, default)), 1000))
            except ValueError:
                return default

        sid = uuid.uuid4().hex[:12]
        try:
            fontsize = int(request.match_info["fontsize"])
        except ValueError:
            fontsize = self.settings.fontsize
        session = Session(
            sid, request.remote or "?", theme, fontsize, self.state_dir / f"{sid}.json"
        )
        session.cols, session.rows = size("width", 80), size("height", 24)
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        self.sockets.add(websocket)
        self.sessions[sid] = session

        async def send(data: bytes) -> None:
            session.bytes_out += len(data)
            await websocket.send_bytes(data)

        async def close() -> None:
            await websocket.close()

        service = WallService(
            self.command_for(session),
            write_bytes=send,
            write_str=websocket.send_str,
            close=close,
            download_manager=self.downloads,
        )
        log.info("wall session %s from %s (%s) started", sid, session.remote, theme)
        try:
            await service.start(session.cols, session.rows)
            await self._messages(websocket, service, session)
        finally:
            await self._stop(service, session)
            self.sessions.pop(sid, None)
            self.sockets.discard(websocket)
            session.snapshot.unlink(missing_ok=True)
            log.info("wall session %s ended", sid)
        return websocket

    async def _messages(
        self, websocket: web.WebSocketResponse, service: AppService, session: Session
    ) -> None:
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
                kind = envelope[0]
            except (ValueError, IndexError, KeyError, TypeError):
                continue
            if kind == "resize" and isinstance(envelope[1], dict):
                try:
                    cols, rows = int(envelope[1]["width"]), int(envelope[1]["height"])
                except (KeyError, TypeError, ValueError):
                    continue
                session.cols, session.rows = cols, rows
                await service.set_terminal_size(cols, rows)
            elif kind == "ping":
                await websocket.send_json(["pong", envelope[1]])
            elif kind == "stdin":
                # The wall only shows: a key or a click in the browser reaches nothing.
                session.input_ignored += 1
            elif kind == "focus":
                await service.focus()
            elif kind == "blur":
                await service.blur()

    async def _stop(self, service: AppService, session: Session) -> None:
        """Ask the wall process to quit; whatever is left of it after the bound is
        killed. textual-serve's stop can return on time with the process still
        there (a frozen one: its reader is cancelled and swallows that), so the
        process itself is what is waited for."""
        procs = self._wall_processes(session)
        deadline = time.monotonic() + STOP_BOUND_S
        with contextlib.suppress(Exception):
            await asyncio.wait_for(service.stop(), STOP_BOUND_S)
        left = max(0.2, deadline - time.monotonic())
        _gone, alive = await asyncio.to_thread(psutil.wait_procs, procs, timeout=left)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()

    @staticmethod
    def _wall_processes(session: Session) -> list[psutil.Process]:
        """The session's wall process, known by its pid or, before it reported one,
        as our child whose command line names the session's snapshot file."""
        if session.process is not None:
            return [session.process]
        mine = []
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.Error):
                if str(session.snapshot) in child.cmdline():
                    mine.append(child)
        return mine

    async def on_shutdown(self, app: web.Application) -> None:
        # "Going away": each page covers itself with STALE and waits for the server.
        for websocket in list(self.sockets):
            await websocket.close(code=1001, message=b"server shutdown")

    def make_app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.get("/", self.handle_index),
                web.get("/ws/{theme}/{fontsize}", self.handle_websocket),
                web.get("/alive", self.handle_alive),
                web.get("/favicon.ico", self.handle_favicon),
                web.get("/status", self.handle_status),
                web.static("/static/client", Path(str(_CLIENT))),
                web.static("/static/wall", Path(str(_HERE / "static"))),
            ]
        )
        app.on_shutdown.append(self.on_shutdown)
        return app


def _ssl_context(settings: ServeSettings) -> ssl.SSLContext | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            [f"[wall.serve] tls_cert/tls_key: cannot load {settings.tls_cert}: {exc}"]
        ) from None
    return context


def wall_command(config_path: Path | None, args: argparse.Namespace) -> list[str]:
    """`bridge wall` with this run's config and display options, by this interpreter."""
    argv = [sys.executable, "-m", "bridge", "wall"]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    if getattr(args, "mono", False):
        argv.append("--mono")
    if getattr(args, "low_bandwidth", False):
        argv.append("--low-bandwidth")
    if getattr(args, "allow_writable", False):
        argv.append("--allow-writable")
    return argv


async def _serve(server: WallWebServer, context: ssl.SSLContext | None) -> None:
    runner = web.AppRunner(server.make_app(), access_log=None)  # URLs may carry the token
    await runner.setup()
    settings = server.settings
    try:
        site = web.TCPSite(runner, settings.address, settings.port, ssl_context=context)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            [
                f"wall --serve: cannot listen on {settings.address}:{settings.port}: "
                f"{exc.strerror or exc}"
            ]
        ) from None
    print(
        f"bridge wall: serving {settings.url()} (at most {settings.max_browsers} browsers)",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def serve_wall(
    config: Config,
    config_path: Path | None,
    args: argparse.Namespace,
    *,
    user_themes: list[Theme],
) -> int:
    settings = ServeSettings.from_config(config, args.address, args.port, args.theme)
    where = f"wall --serve --address {settings.address}"
    problem = exposure_problem(settings.address, settings.token, settings.tls)
    if problem is not None:
        raise ConfigError([f"{where}: {problem}"])
    names = theme_names(user_themes)
    check_theme_name(settings.theme, names, "wall --theme" if args.theme else "[wall.serve] theme")
    context = _ssl_context(settings)

    async def check() -> None:  # a missing or writable store is one line now, not in every browser
        allow = bool(getattr(args, "allow_writable", False))
        store = await open_wall_store(config.store.resolved_url(), allow_writable=allow)
        await store.close()

    asyncio.run(check())
    with tempfile.TemporaryDirectory(prefix="bridge-wall-") as state:
        server = WallWebServer(
            settings, wall_command(config_path, args), themes=names, state_dir=Path(state)
        )
        asyncio.run(_serve(server, context))
    return 0
