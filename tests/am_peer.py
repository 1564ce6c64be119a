"""A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on 127.0.0.1.

Started by the test with its own config and data directory, routing every
alert to the webhooks given (bridge's receiver, and a recorder to count what
Alertmanager sends), grouping and repeating within a second or two so a test
sees its behaviour in bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import wait_until

__all__ = [
    "ALERTMANAGER_BIN",
    "Alertmanager",
    "free_port",
    "needs_alertmanager",
    "run_alertmanager",
]

ALERTMANAGER_BIN = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
needs_alertmanager = pytest.mark.skipif(
    ALERTMANAGER_BIN is None, reason="prometheus-alertmanager is not installed (Debian package)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Alertmanager:
    url: str
    client: httpx.AsyncClient

    async def post_alerts(self, *alerts: dict[str, Any]) -> None:
        answer = await self.client.post(f"{self.url}/api/v2/alerts", json=list(alerts))
        assert answer.status_code == 200, answer.text

    async def silences(self) -> list[dict[str, Any]]:
        answer = await self.client.get(f"{self.url}/api/v2/silences")
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found

    async def alerts(self) -> list[dict[str, Any]]:
        answer = await self.client.get(f"{self.url}/api/v2/alerts")
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found


def _config(hooks: Sequence[tuple[str, str | None]]) -> str:
    lines = [
        "route:",
        "  receiver: bridge",
        "  group_by: [alertname, instance]",
        "  group_wait: 0s",
        "  group_interval: 1s",
        "  repeat_interval: 1s",
        "receivers:",
        "  - name: bridge",
        "    webhook_configs:",
    ]
    for url, token in hooks:
        lines += [f"      - url: {url}", "        send_resolved: true"]
        if token is not None:
            lines += ["        http_config:", "          authorization:",
                      f"            credentials: {token}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _write_config(folder: Path, hooks: Sequence[tuple[str, str | None]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "am.yml").write_text(_config(hooks), encoding="utf-8")


@contextlib.asynccontextmanager
async def run_alertmanager(
    folder: Path, port: int, hooks: Sequence[tuple[str, str | None]]
) -> AsyncIterator[Alertmanager]:
    """Alertmanager on 127.0.0.1:`port`, sending to each (url, bearer token) of `hooks`."""
    assert ALERTMANAGER_BIN is not None
    _write_config(folder, hooks)
    proc = await asyncio.create_subprocess_exec(
        ALERTMANAGER_BIN,
        f"--config.file={folder / 'am.yml'}",
        f"--storage.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def ready() -> bool:
                try:
                    return (await client.get(f"{url}/-/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(ready, 20, interval=0.1, what="Alertmanager ready")
            yield Alertmanager(url, client)
    finally:
        proc.terminate()
        with contextlib.suppress(ProcessLookupError, TimeoutError):
            await asyncio.wait_for(proc.wait(), 10)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
