"""HTTP service checks: status, latency and TLS certificate expiry of one URL.

A failing service is data, not a collector failure: `collect` never raises for
the target's sake, so the reading (down, and why) is stored and shown, and the
judgement comes as `observations` in the reading's detail that the rules turn
into events (down, wrong status, slow, certificate expiring).

The certificate is read from the TLS connection itself (httpcore's
`network_stream` extension → the `ssl_object`), so it is known even when
verification is off for a self-signed service.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collectors.base import Reading

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpCheckCollector", "HttpTarget", "cert_not_after", "judge"]

SOURCE = "http"


@dataclass(frozen=True, slots=True)
class HttpTarget:
    name: str
    url: str
    expect_status: int = 200
    timeout: float = 5.0
    interval: float = 60.0
    verify_tls: bool = True
    slow_ms: float = 2000.0
    cert_warning_days: float = 14.0


def cert_not_after(der: bytes) -> float:
    """The certificate's expiry as epoch seconds."""
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def _observation(check: str, severity: str, summary: str, value: float | None) -> dict[str, Any]:
    return {"check": check, "severity": severity, "summary": summary, "value": value}


def judge(target: HttpTarget, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The rule table for one result: (check, severity, summary). Data in, data out."""
    error = result.get("error")
    if error is not None:
        return [_observation("status", "critical", f"{target.name} down: {error}", None)]
    status = int(result["status"])
    latency = float(result["latency_ms"])
    out = []
    if status != target.expect_status:
        out.append(_observation(
            "status", "major", f"{target.name} answered HTTP {status}, expected "
            f"{target.expect_status}", status,
        ))  # fmt: skip
    else:
        out.append(_observation("status", "ok", f"{target.name} answers HTTP {status}", status))
    if latency > target.slow_ms:
        out.append(_observation(
            "latency", "warning", f"{target.name} slow: {latency:.0f} ms (limit "
            f"{target.slow_ms:.0f} ms)", latency,
        ))  # fmt: skip
    else:
        out.append(_observation("latency", "ok", f"{target.name} answers in {latency:.0f} ms", latency))  # fmt: skip
    days = result.get("cert_days")
    if days is not None:
        if days < 0:
            sev, summary = "critical", f"{target.name} TLS certificate expired {-days:.0f} days ago"
        elif days < target.cert_warning_days:
            sev, summary = "warning", f"{target.name} TLS certificate expires in {days:.0f} days"
        else:
            sev, summary = "ok", f"{target.name} TLS certificate valid for {days:.0f} days"
        out.append(_observation("cert", sev, summary, days))
    return out


class HttpCheckCollector:
    """One URL on its own schedule, so a slow service never delays another check."""

    def __init__(self, target: HttpTarget) -> None:
        self.target = target
        self.name = f"http:{target.name}"
        self.interval = target.interval
        # Down is an observation of its own (status), not a collector failure.
        self.reachability: tuple[str, str] | None = None
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(
                verify=self.target.verify_tls,
                follow_redirects=False,
                headers={"User-Agent": "bridge-http-check"},
            )
        return self._client

    async def _probe(self) -> dict[str, Any]:
        import httpx

        t = self.target
        result: dict[str, Any] = {"url": t.url, "expect_status": t.expect_status}
        started = time.perf_counter()
        try:
            async with self._http().stream("GET", t.url, timeout=t.timeout) as response:
                result["latency_ms"] = (time.perf_counter() - started) * 1000
                result["status"] = response.status_code
                stream = response.extensions.get("network_stream")
                ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
                if ssl_object is not None:
                    der = ssl_object.getpeercert(binary_form=True)
                    if der:
                        not_after = cert_not_after(der)
                        result["cert_not_after"] = not_after
                        result["cert_days"] = (not_after - time.time()) / 86400
        except httpx.TimeoutException:
            result["error"] = f"no answer within {t.timeout:g} s"
        except httpx.HTTPError as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return result

    async def collect(self) -> list[Reading]:
        at = time.time()
        result = await self._probe()
        up = "error" not in result
        metrics: dict[str, float] = {"up": 1.0 if up else 0.0}
        for key in ("status", "latency_ms", "cert_days"):
            if result.get(key) is not None:
                metrics[key] = float(result[key])
        detail = {**result, "name": self.target.name, "observations": judge(self.target, result)}
        return [Reading(SOURCE, self.target.name, at, metrics, detail)]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
