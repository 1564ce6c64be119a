"""Debian's Chromium under Playwright, the wall server as a real process, and PNG pixels.

The wall is drawn on a canvas nobody can read back, so what it shows is checked
through the server's `/status` (each wall process' own account of what it drew)
and screenshots are compared as pixels, decoded here with zlib alone.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Isolated, Processes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (scripts/install-test-deps installs it as root)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class WallServer:
    """`bridge wall --serve` on 127.0.0.1:`port`, started and stopped for real."""

    def __init__(self, isolated: Isolated, processes: Processes, config: Path, port: int) -> None:
        self.isolated, self.processes, self.config, self.port = isolated, processes, config, port
        self.url = f"http://127.0.0.1:{port}/"
        self.log = isolated.root / f"serve-{port}.log"
        self.proc: Any = None
        self.verify = True  # False for a test's self-signed certificate

    async def start(self, *extra: str) -> None:
        argv = ["--config", str(self.config), "wall", "--serve", "--port", str(self.port), *extra]
        self.proc = self.processes.bridge(self.isolated, *argv, log=self.log)
        deadline = time.monotonic() + 20
        async with httpx.AsyncClient(verify=self.verify) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"wall server exited: {self.log.read_text()}")
                try:
                    if (await client.get(self.url + "alive")).status_code in (200, 503):
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail("wall server did not answer within 20 s")

    async def stop(self) -> None:
        self.proc.terminate()
        deadline = time.monotonic() + 15
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("wall server did not stop within 15 s of SIGTERM")
            await asyncio.sleep(0.05)

    async def status(self, cookies: dict[str, str] | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(cookies=cookies, verify=self.verify) as client:
            r = await client.get(self.url + "status")
            r.raise_for_status()
            data: dict[str, Any] = r.json()
            return data


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Debian Chromium (never a browser build of Playwright's own)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def png_pixels(data: bytes) -> tuple[int, list[bytes]]:
    """Bytes per pixel and each row's RGB(A) bytes of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return channels, rows


def colours(data: bytes) -> int:
    """How many distinct colours a PNG has: 1 for a blank canvas."""
    n, rows = png_pixels(data)
    return len({row[i : i + 3] for row in rows for i in range(0, len(row), n)})
