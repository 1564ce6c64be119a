"""HTTP service checks: status, latency and TLS certificate expiry of one URL.

A failing service is data, not a collector failure: `collect` never raises for
the target's sake, so the reading (down, and why) is stored and shown, and the
judgement comes as `observations` in the reading's detail that the rules turn
into events (down, wrong status, slow, certificate expiring).

The certificate is read from the TLS connection itself (httpcore's
`network_stream` extension → the `ssl_object`), so it is known even when
verification is off for a self-signed service.

With verification on, a certificate that fails it (expired, self-signed, wrong
host) is a `cert` problem, not "down": the service is asked again without
verification, so its status and latency are still measured, and the `cert`
check says what is wrong with the certificate.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collectors.base import Reading

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpCheckCollector", "HttpTarget", "cert_not_after", "cert_verify_error", "judge"]

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


def cert_verify_error(exc: BaseException) -> str | None:
    """Why verification refused the certificate, if that is what `exc` came from."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message or cause.reason or cause)
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _observation(check: str, severity: str, summary: str, value: float | None) -> dict[str, Any]:
    return {"check": check, "severity": severity, "summary": summary, "value": value}


def _refused(target: HttpTarget, why: str, days: float | None) -> dict[str, Any]:
    # Either stops every client that verifies: critical, however long it is valid.
    if days is not None and days < 0:
        summary = f"{target.name} TLS certificate expired {-days:.0f} days ago"
    else:
        summary = f"{target.name} TLS certificate not trusted: {why}"
    return _observation("cert", "critical", summary, days)


def carries_secrets(url: str) -> bool:
    """A user, password or query in the URL: never sent where TLS was not verified."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return bool(parts.username or parts.password or parts.query)


def judge(target: HttpTarget, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The rule table for one result: (check, severity, summary). Data in, data out."""
    refused = result.get("cert_error")
    if refused is not None and "status" not in result:
        # Not asked again without verification: only the certificate is known.
        return [_refused(target, refused, result.get("cert_days"))]
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
    if refused is not None:
        out.append(_refused(target, refused, days))
    elif days is not None:
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
        self.on_the_clock = False
        self._client: httpx.AsyncClient | None = None
        self._unverified: httpx.AsyncClient | None = None  # only once verification failed

    def _http(self, *, verify: bool = True) -> httpx.AsyncClient:
        import httpx

        verify = verify and self.target.verify_tls
        client = self._client if verify else self._unverified
        if client is None:
            client = httpx.AsyncClient(
                verify=verify,
                follow_redirects=False,
                headers={"User-Agent": "bridge-http-check"},
            )
            if verify:
                self._client = client
            else:
                self._unverified = client
        return client

    async def _probe(self) -> dict[str, Any]:
        import httpx

        try:
            return await self._get(self._http())
        except httpx.ConnectError as exc:
            refused = cert_verify_error(exc)
            if refused is None:
                return self._failed(exc)
        if carries_secrets(self.target.url):
            # Asking again unverified would hand them to whoever answered.
            return {"url": self.target.url, "expect_status": self.target.expect_status,
                    "cert_error": refused[:300]}  # fmt: skip
        # The certificate was refused: ask again without verifying, so the
        # service's own answer (and the certificate's dates) are still known.
        try:
            result = await self._get(self._http(verify=False))
        except httpx.HTTPError as exc:
            return self._failed(exc)
        result["cert_error"] = refused[:300]
        return result

    def _failed(self, exc: Exception) -> dict[str, Any]:
        import httpx

        t = self.target
        result: dict[str, Any] = {"url": t.url, "expect_status": t.expect_status}
        if isinstance(exc, httpx.TimeoutException):
            result["error"] = f"no answer within {t.timeout:g} s"
        else:
            result["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return result

    async def _get(self, client: httpx.AsyncClient) -> dict[str, Any]:
        """One GET; a timeout or a refused connection is a result, other errors raise."""
        import httpx

        t = self.target
        result: dict[str, Any] = {"url": t.url, "expect_status": t.expect_status}
        started = time.perf_counter()
        try:
            async with client.stream("GET", t.url, timeout=t.timeout) as response:
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
        except httpx.ConnectError:
            raise  # the caller tells a refused certificate from a dead service
        except httpx.HTTPError as exc:
            return self._failed(exc)
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
        for client in (self._client, self._unverified):
            if client is not None:
                await client.aclose()
        self._client = self._unverified = None
