"""A real HTTP(S) server on 127.0.0.1 for webhook and HTTP-check tests.

stdlib `http.server` in a thread, so it answers whether the client is this
test's event loop or a `bridge` subprocess. Each path has a behaviour (status,
delay, hang until released); every request is recorded with the status it got.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Behaviour", "Seen", "TestServer", "serve"]

HANG_LIMIT = 30.0  # a hung request is released at the latest after this


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # hold the request until the server is released or stopped
    # Statuses for the first requests, then `status` (e.g. [500, 500] then 200).
    first: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None  # None: the answer could not be written (client gone)


class TestServer:
    __test__ = False  # not a pytest class

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status = owner._answer(self.path)
                try:
                    payload = b"ok\n"
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    got: int | None = status
                except OSError:
                    got = None
                owner._record(Seen(self.command, self.path, dict(self.headers), body, got))

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if context is not None else "http"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _answer(self, path: str) -> int:
        with self._lock:
            b = self.routes.get(path, Behaviour(status=404))
            status = b.first.pop(0) if b.first else b.status
        if b.delay:
            time.sleep(b.delay)
        if b.hang:
            self.release.wait(HANG_LIMIT)
        return status

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def requests(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if path is None or s.path == path]

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def route(self, path: str, behaviour: Behaviour) -> None:
        with self._lock:
            self.routes[path] = behaviour

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(10)


@contextlib.contextmanager
def serve(context: ssl.SSLContext | None = None) -> Iterator[TestServer]:
    server = TestServer(context)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def count(server: TestServer, path: str, cond: Callable[[Seen], bool] = lambda s: True) -> int:
    return sum(1 for s in server.requests(path) if cond(s))
