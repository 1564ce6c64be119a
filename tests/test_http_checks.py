"""HTTP checks against real local servers: normal, wrong status, slow, down, self-signed TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import wait_until
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from http_server import Behaviour, TestServer, serve
from seed import make_app, seed_store

from bridge.config.file import ConfigError, parse_config
from bridge.core.clock import FixedClock
from bridge.core.models import CollectorHealth, Severity
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.poller import build_collectors
from bridge.runtime.runner import CollectorRunner
from bridge.store import Store
from bridge.ui.panes.health import HealthPane
from bridge.ui.widgets.lines import LinesView
from collectors.base import Reading
from collectors.http import HttpCheckCollector, HttpTarget


def checks(reading: Reading) -> dict[str, tuple[str, str]]:
    return {o["check"]: (o["severity"], o["summary"]) for o in reading.detail["observations"]}


async def probe(target: HttpTarget) -> Reading:
    collector = HttpCheckCollector(target)
    try:
        [reading] = await collector.collect()
    finally:
        await collector.close()
    return reading


@pytest.fixture
def server() -> Iterator[TestServer]:
    with serve() as s:
        s.route("/ok", Behaviour())
        s.route("/slow", Behaviour(delay=1.0))
        s.route("/broken", Behaviour(status=503))
        yield s


async def test_a_normal_service(server: TestServer) -> None:
    reading = await probe(HttpTarget("web", server.url("/ok")))
    assert reading.source == "http" and reading.resource == "web"
    assert reading.metrics["up"] == 1 and reading.metrics["status"] == 200
    assert 0 < reading.metrics["latency_ms"] < 2000
    assert "cert_days" not in reading.metrics  # plain http has no certificate
    assert checks(reading)["status"][0] == "ok" and checks(reading)["latency"][0] == "ok"

    async def recorded() -> bool:  # the server records a request after answering it
        return len(server.requests("/ok")) >= 1

    await wait_until(recorded, 5, what="the request in the server's record")
    assert len(server.requests("/ok")) == 1


async def test_wrong_status_and_slow_but_answering(server: TestServer) -> None:
    reading = await probe(HttpTarget("api", server.url("/broken")))
    assert checks(reading)["status"] == ("major", "api answered HTTP 503, expected 200")
    reading = await probe(HttpTarget("api", server.url("/slow"), timeout=5, slow_ms=500))
    assert checks(reading)["latency"][0] == "warning" and reading.metrics["latency_ms"] >= 1000


async def test_a_slow_service_times_out_and_is_down(server: TestServer) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    reading = await probe(HttpTarget("slowpoke", server.url("/slow"), timeout=0.3))
    assert loop.time() - started < 0.9  # the timeout decides, not the service
    assert reading.metrics["up"] == 0
    assert checks(reading) == {"status": ("critical", "slowpoke down: no answer within 0.3 s")}


async def test_nothing_listening_is_down() -> None:
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reading = await probe(HttpTarget("gone", f"http://127.0.0.1:{port}/", timeout=2))
    severity, summary = checks(reading)["status"]
    assert severity == "critical" and summary.startswith("gone down: ConnectError")


def self_signed(tmp: Path, days: int) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=max(1, 30 - days)))  # days < 0: expired
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return context


async def test_self_signed_certificate_days_to_expiry(tmp_path: Path) -> None:
    with serve(self_signed(tmp_path, days=10)) as tls:
        tls.route("/", Behaviour())
        url = tls.url("/")
        reading = await probe(HttpTarget("tls", url, verify_tls=False, cert_warning_days=14))
        assert reading.metrics["status"] == 200
        assert 9.9 < reading.metrics["cert_days"] <= 10
        assert checks(reading)["cert"] == ("warning", "tls TLS certificate expires in 10 days")
        # Verification on: the self-signed certificate is refused. That is a certificate
        # problem, not "down": the service still answered, and says so.
        reading = await probe(HttpTarget("tls", url, verify_tls=True))
        found = checks(reading)
        assert found["cert"] == ("critical", "tls TLS certificate not trusted: self-signed certificate")  # fmt: skip
        assert found["status"] == ("ok", "tls answers HTTP 200")
        assert reading.metrics["up"] == 1.0 and 9.9 < reading.metrics["cert_days"] <= 10


async def test_an_expired_certificate_is_a_cert_problem_not_down(tmp_path: Path) -> None:
    with serve(self_signed(tmp_path, days=-3)) as tls:
        tls.route("/", Behaviour())
        for verify in (True, False):
            reading = await probe(HttpTarget("tls", tls.url("/"), verify_tls=verify))
            found = checks(reading)
            assert found["cert"] == ("critical", "tls TLS certificate expired 3 days ago"), verify
            assert found["status"] == ("ok", "tls answers HTTP 200")
            assert -3.1 < reading.metrics["cert_days"] < -2.9
            assert "error" not in reading.detail


async def test_a_service_that_is_not_there_with_verification_on_is_still_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: the connection is refused
        reading = await probe(HttpTarget("tls", f"https://127.0.0.1:{port}/", timeout=2))
    found = checks(reading)
    assert set(found) == {"status"} and found["status"][0] == "critical"
    assert "down" in found["status"][1] and "cert_error" not in reading.detail


async def test_checks_become_events_and_show_in_the_health_pane(
    server: TestServer, tmp_path: Path
) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    config = parse_config(
        f"""
[local]
enabled = false

[[http_checks]]
name = "shop"
url = "{server.url("/ok")}"

[[http_checks]]
name = "billing"
url = "{server.url("/slow")}"
timeout = 0.3
""",
        "t.toml",
    )
    collectors = build_collectors(config)
    assert [c.name for c in collectors] == ["http:shop", "http:billing"]
    app = make_app(db, clock=FixedClock(1_795_000_000.0))
    async with app.run_test(size=(120, 40)) as pilot:
        store: Store = app.store
        runner = CollectorRunner(store, collectors, app.clock, LevelTracker({}), RuleEngine(config))
        for c in collectors:
            await runner.run_once(c, CollectorHealth(name=c.name, interval=c.interval))
            await c.close()
        down = await store.find_event("http|billing|status")
        assert down is not None and down.severity is Severity.CRITICAL
        assert await store.find_event("http|shop|status") is None  # fine: no event
        pane = app.query_one(HealthPane)

        async def shown() -> bool:
            await pilot.pause()
            text = "\n".join("".join(t for t, _ in ln) for ln in pane.query_one(LinesView).lines)
            return "CHECKS" in text and "HTTP 200" in text and "DOWN" in text

        await wait_until(shown, 5, what="the Checks section")


def test_bad_check_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"http_checks\[0\]\.url: .*has no host"):
        parse_config('[[http_checks]]\nname = "x"\nurl = "http:///path"\n', "t.toml")


async def test_a_refused_certificate_is_never_retried_with_credentials(tmp_path: Path) -> None:
    # Asking again without verification would hand the token or password to
    # whoever answered, perhaps not the service at all.
    with serve(self_signed(tmp_path, days=10)) as tls:
        tls.route("/", Behaviour())
        for url in (tls.url("/") + "?token=s3cret", tls.url("/").replace("://", "://ops:pw@")):
            reading = await probe(HttpTarget("tls", url, verify_tls=True))
            found = checks(reading)
            assert found == {
                "cert": ("critical", "tls TLS certificate not trusted: self-signed certificate")
            }, url
        assert tls.requests() == []  # no request ever reached it
