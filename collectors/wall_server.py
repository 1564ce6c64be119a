"""The wall server's own account of itself: `bridge wall --serve`'s `/status`.

Each browser has its own wall process; what each costs (CPU, memory) and sends
(bytes/s) is known only inside the server, so the lease holder asks it and
stores the answer as the snapshot `wall/server`, which every console's Health
pane reads. A server that does not answer is this collector's failure (the
runner records it as collector health: the pane shows the server as down).

Rates come from the server's counters and its own clock (`now`, `started_at`):
between two polls, the difference; for a session seen for the first time, the
average since it started. The token goes in an `Authorization` header only,
never in a URL or an error.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collectors.base import Reading

if TYPE_CHECKING:
    import httpx

__all__ = ["SOURCE", "WallServerCollector", "WallServerTarget", "poll_url", "session_rates"]

SOURCE, RESOURCE = "wall", "server"
MAX_SESSIONS = 1000  # the server's own bound on max_browsers


@dataclass(frozen=True, slots=True)
class WallServerTarget:
    """Where the server listens, as configured: `address` may be a wildcard."""

    address: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    # The server's own certificate: the TLS peer must present it (or a chain
    # to it), whatever name it is reached by.
    tls_cert: Path | None = None
    interval: float = 10.0
    timeout: float = 5.0


def poll_url(target: WallServerTarget) -> str:
    """`/status` on this host: a wildcard address is reached on its loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(
        target.address, target.address
    )
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if target.tls_cert is not None else "http"
    return f"{scheme}://{host}:{target.port}/status"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def session_rates(
    session: dict[str, Any], now: float, before: tuple[float, float, float | None] | None
) -> tuple[float | None, float | None]:
    """(bytes/s, CPU %) of one session: since the previous poll's
    (now, bytes_out, cpu_seconds), or since the session started."""
    sent = _number(session.get("bytes_out"))
    cpu = _number(session.get("cpu_seconds"))
    if before is not None and now > before[0]:
        span = now - before[0]
        rate = (sent - before[1]) / span if sent is not None else None
        used = (cpu - before[2]) / span * 100 if cpu is not None and before[2] is not None else None
    else:
        started = _number(session.get("started_at"))
        if started is None or now <= started:
            return None, None
        span = max(1.0, now - started)
        rate = sent / span if sent is not None else None
        used = cpu / span * 100 if cpu is not None else None
    # A restarted counter (a new process under an old id) is no negative rate.
    return (
        max(0.0, rate) if rate is not None else None,
        max(0.0, used) if used is not None else None,
    )


class WallServerCollector:
    """One GET of `/status` per interval; the sessions with their rates."""

    def __init__(self, target: WallServerTarget) -> None:
        self.target = target
        self.name = "wall-server"
        self.interval = target.interval
        self.reachability: tuple[str, str] | None = None
        self.on_the_clock = False
        self.url = poll_url(target)
        self._client: httpx.AsyncClient | None = None
        self._before: dict[str, tuple[float, float, float | None]] = {}

    def _verify(self) -> ssl.SSLContext | bool:
        if self.target.tls_cert is None:
            return True
        context = ssl.create_default_context(cafile=str(self.target.tls_cert))
        # The server's own certificate is the anchor: a self-signed one, or the
        # leaf of a chain, and reached as 127.0.0.1 rather than by its name.
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        context.check_hostname = False
        return context

    def _http(self) -> httpx.AsyncClient:
        import httpx

        if self._client is None:
            headers = {"User-Agent": "bridge-wall-collector"}
            if self.target.token is not None:
                headers["Authorization"] = f"Bearer {self.target.token}"
            self._client = httpx.AsyncClient(
                verify=self._verify(), follow_redirects=False, headers=headers
            )
        return self._client

    async def _status(self) -> dict[str, Any]:
        import httpx

        try:
            response = await self._http().get(self.url, timeout=self.target.timeout)
        except httpx.TimeoutException:
            raise ConnectionError(f"no answer within {self.target.timeout:g} s") from None
        except httpx.HTTPError as exc:
            # The message only (a refused connection, a refused certificate): never the request.
            raise ConnectionError(str(exc)[:300] or type(exc).__name__) from None
        if response.status_code == 401:
            raise PermissionError("/status refused the token (HTTP 401): check [wall.serve] token")
        if response.status_code != 200:
            raise ConnectionError(f"/status answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise ValueError("/status did not answer JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("sessions"), list):
            raise ValueError("/status answered JSON without a session list")
        return data

    async def collect(self) -> list[Reading]:
        data = await self._status()
        now = _number(data.get("now"))
        if now is None:
            raise ValueError("/status answered without its clock (`now`): an older server?")
        sessions: list[dict[str, Any]] = []
        seen: dict[str, tuple[float, float, float | None]] = {}
        for raw in data["sessions"][:MAX_SESSIONS]:
            if not isinstance(raw, dict):
                continue
            sid = str(raw.get("id", ""))[:64]
            rate, cpu = session_rates(raw, now, self._before.get(sid))
            sent, used = _number(raw.get("bytes_out")), _number(raw.get("cpu_seconds"))
            if sent is not None:
                seen[sid] = (now, sent, used)
            sessions.append(
                {
                    "id": sid,
                    "remote": str(raw.get("remote", ""))[:64],
                    "theme": str(raw.get("theme", ""))[:64],
                    "cols": _number(raw.get("cols")),
                    "rows": _number(raw.get("rows")),
                    "pid": _number(raw.get("pid")),
                    "bytes_per_s": rate,
                    "cpu_percent": cpu,
                    "rss_bytes": _number(raw.get("rss_bytes")),
                }
            )
        self._before = seen  # ended sessions are forgotten
        browsers = len(sessions)
        detail = {
            "url": str(data.get("url", ""))[:200] or self.url.removesuffix("status"),
            "browsers": browsers,
            "max_browsers": _number(data.get("max_browsers")),
            "sessions": sessions,
        }
        metrics = {
            "browsers": float(browsers),
            "wall_cpu_percent": sum(s["cpu_percent"] or 0.0 for s in sessions),
            "wall_rss_bytes": sum(s["rss_bytes"] or 0.0 for s in sessions),
            "wall_bytes_per_s": sum(s["bytes_per_s"] or 0.0 for s in sessions),
        }
        # Stored at this host's time, as every reading; the server's clock is for its rates.
        return [Reading(SOURCE, RESOURCE, time.time(), metrics, detail)]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None
