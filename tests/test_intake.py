"""The HTTP intake: a real aiohttp server on 127.0.0.1, driven with real `curl`
exactly as Healthchecks' documentation writes its cron examples, over a real
SQLite store and the lease holder's rule engine."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_until

from bridge.config.file import Config
from bridge.core.clock import SystemClock
from bridge.core.models import EventState, JobRunStatus, Severity
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.intake import HEALTH_NAME, Intake, run_intake
from bridge.runtime.poller import Poller
from bridge.runtime.runner import CollectorRunner
from bridge.store import Store, open_store

PING = "ping-token-SECRET-0123456789"
API = "api-token-SECRET-0123456789ab"
CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def intake_config(port: int, **intake: Any) -> Config:
    return Config.model_validate(
        {
            "jobs": [
                {"name": "backup", "schedule": "0 2 * * *"},
                {"name": "report", "schedule": "0 6 * * *"},
            ],
            "intake": {
                "enabled": True,
                "port": port,
                "max_body": 2048,
                "tokens": [
                    {"name": "backup-hosts", "token": PING, "allow": ["ping"]},
                    {"name": "scripts", "token": API, "allow": ["events", "alertmanager"]},
                ],
                **intake,
            },
        }
    )


@dataclass
class Served:
    intake: Intake
    store: Store
    url: str


@contextlib.asynccontextmanager
async def served(tmp_path: Path, **intake: Any) -> AsyncIterator[Served]:
    config = intake_config(free_port(), **intake)
    store = await open_store(tmp_path / "bridge.db")
    runner = CollectorRunner(store, [], SystemClock(), LevelTracker({}), RuleEngine(config))
    up: asyncio.Future[Intake] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_intake(config, store, runner, SystemClock(), ready=up.set_result)
    )
    try:
        intake_ = await asyncio.wait_for(up, 10)
        assert intake_.address is not None
        yield Served(intake_, store, f"http://127.0.0.1:{intake_.address[1]}")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Served]:
    async with served(tmp_path) as s:
        yield s


async def curl(*args: str, data: str | None = None) -> tuple[int, str, str]:
    """Run curl without blocking the loop the server runs in."""
    assert CURL is not None
    argv = [CURL, *args] if data is None else [CURL, *args[:-1], "--data-raw", data, args[-1]]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def http(
    url: str, method: str = "GET", body: bytes | None = None, token: str | None = None
) -> tuple[int, Any]:
    """One request with curl, returning (status, parsed JSON or text)."""
    args = ["-sS", "-m", "10", "-X", method, "-o", "-", "-w", "\n%{http_code}"]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    assert CURL is not None
    proc = await asyncio.create_subprocess_exec(
        CURL, *args, url, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(body), 30)
    text, _, code = out.decode().rpartition("\n")
    try:
        return int(code), json.loads(text)
    except ValueError:
        return int(code), text


# -- job pings, as Healthchecks' cron examples send them -----------------------------------
@needs_curl
async def test_a_cron_wrapper_pings_success_start_and_exit_status(srv: Served) -> None:
    base = f"{srv.url}/ping/{PING}/backup"
    code, out, _ = await curl("-fsS", "-m", "10", "--retry", "5", "-o", "/dev/null", base)
    assert (code, out) == (0, "")
    (run,) = await srv.store.job_runs("backup")
    assert run.status is JobRunStatus.OK and run.actor == "intake:backup-hosts"

    # Start, then end with the command's exit status and its output as the body.
    assert (await curl("-fsS", "-m", "10", "--retry", "5", f"{base}/start"))[:2] == (0, "OK")
    output = "copied 3 files\nerror: disk full [bold]x[/]"
    code, out, _ = await curl("-fsS", "-m", "10", "--retry", "5", f"{base}/1", data=output)
    assert (code, out) == (0, "OK")
    latest = (await srv.store.job_runs("backup"))[0]
    assert latest.status is JobRunStatus.FAILED and latest.exit_code == 1
    assert latest.started_at is not None and latest.duration is not None
    assert latest.output_tail == output  # kept literally

    code, _, _ = await curl("-fsS", "-m", "10", "--retry", "5", "-o", "/dev/null", f"{base}/0")
    assert code == 0
    assert (await srv.store.job_runs("backup"))[0].status is JobRunStatus.OK


@needs_curl
async def test_head_get_and_post_are_all_accepted(srv: Served) -> None:
    base = f"{srv.url}/ping/{PING}/report"
    for method in ("HEAD", "GET", "POST"):
        flag = ["-I"] if method == "HEAD" else ["-X", method]
        code, _, err = await curl("-fsS", "-m", "10", *flag, "-o", "/dev/null", base)
        assert code == 0, (method, err)
    assert len(await srv.store.job_runs("report")) == 3
    code, _, _ = await curl("-fsS", "-m", "10", "-X", "PUT", "-o", "/dev/null", base)
    assert code == 22  # curl -f: HTTP error


@needs_curl
async def test_rid_pairs_a_start_with_its_end_and_a_retry_is_no_repeat(srv: Served) -> None:
    base = f"{srv.url}/ping/{PING}/backup"
    rid_a, rid_b = "3f9a1b2c-0000-4000-8000-00000000000a", "3f9a1b2c-0000-4000-8000-00000000000b"
    for url in (f"{base}/start?rid={rid_a}", f"{base}/start?rid={rid_b}",
                f"{base}/start?rid={rid_a}",  # sent again: one run still
                f"{base}/fail?rid={rid_a}", f"{base}?rid={rid_b}", f"{base}?rid={rid_b}"):  # fmt: skip
        code, _, err = await curl("-fsS", "-m", "10", "--retry", "5", "-o", "/dev/null", url)
        assert code == 0, (url, err)
    runs = {r.run_id: r for r in await srv.store.job_runs("backup")}
    assert set(runs) == {rid_a, rid_b}
    assert runs[rid_a].status is JobRunStatus.FAILED
    assert runs[rid_b].status is JobRunStatus.OK


@needs_curl
async def test_log_keeps_a_line_and_changes_no_run(srv: Served) -> None:
    code, out, _ = await curl("-fsS", "-m", "10", f"{srv.url}/ping/{PING}/backup/log",
                              data="half way there")  # fmt: skip
    assert (code, out) == (0, "OK")
    assert await srv.store.job_runs("backup") == []
    (entry,) = [j for j in await srv.store.journal() if j.action == "job-log"]
    assert entry.note == "backup: half way there"


async def test_refusals_are_json_with_the_right_status_and_counted(srv: Served) -> None:
    if CURL is None:
        pytest.skip("curl is not installed")
    cases = [
        (f"{srv.url}/ping/{PING}/nosuchjob", 404, "no such job"),
        (f"{srv.url}/ping/wrong-token-0123456789/backup", 403, "not known"),
        (f"{srv.url}/ping/{API}/backup", 403, "may not send ping"),
        (f"{srv.url}/ping/{PING}/backup/256", 400, "0 to 255"),
        (f"{srv.url}/ping/{PING}/backup/bogus", 404, "no such ping"),
        (f"{srv.url}/ping/{PING}/backup/start?rid=%20bad", 400, "rid"),
        (f"{srv.url}/nowhere", 404, "no such path"),
    ]
    for url, status, message in cases:
        code, body = await http(url)
        assert code == status, (url, body)
        assert isinstance(body, dict) and list(body) == ["error"], body
        assert message in body["error"]
        assert PING not in body["error"] and API not in body["error"]
    code, body = await http(f"{srv.url}/ping/{PING}/backup", "POST", b"x" * 5000)
    assert (code, body) == (413, {"error": "the body is over 2048 bytes"})
    assert await srv.store.job_runs() == []  # nothing of a refused request stored
    errors = srv.intake.stats.errors
    assert errors == {"unknown-job": 1, "wrong-token": 1, "not-allowed": 1, "bad-request": 2,
                      "not-found": 2, "too-large": 1}  # fmt: skip


@needs_curl
async def test_an_unknown_job_raises_the_same_event_as_the_cli(srv: Served) -> None:
    code, _, _ = await curl("-fsS", "-m", "10", "-o", "/dev/null", f"{srv.url}/ping/{PING}/nope")
    assert code == 22
    event = await srv.store.find_event("jobs|nope|unknown-job")
    assert event is not None and event.severity is Severity.WARNING
    assert event.summary == "'ok' signal for a job not in the config"


# -- the events API ---------------------------------------------------------------------
def event(**over: Any) -> dict[str, Any]:
    return {"source": "backup", "resource": "db1", "check": "dump", "severity": "major",
            "summary": "dump failed", **over}  # fmt: skip


@needs_curl
async def test_events_are_raised_listed_and_cleared(srv: Served) -> None:
    url = f"{srv.url}/api/v1/events"
    code, body = await http(url, "POST", json.dumps(event(evidence={"log": "x"})).encode(), API)
    assert code == 200, body
    (first,) = body["ids"]
    stored = await srv.store.get_event(first)
    assert stored is not None and stored.severity is Severity.MAJOR
    assert await srv.store.evidence(first) == {"log": "x"}

    batch = [event(), event(resource="db2", severity="warning")]
    code, body = await http(url, "POST", json.dumps(batch).encode(), API)
    assert code == 200 and body["ids"][0] == first and body["ids"][1] != first
    assert (await srv.store.get_event(first)).count == 2  # type: ignore[union-attr]

    code, listed = await http(f"{url}?filter=resource:db2", token=API)
    assert code == 200 and [e["resource"] for e in listed] == ["db2"]

    code, body = await http(url, "POST", json.dumps(event(severity="ok")).encode(), API)
    assert code == 200
    cleared = await srv.store.get_event(first)
    assert cleared is not None and cleared.state is EventState.RESOLVED

    code, body = await http(f"{srv.url}/healthz")
    assert code == 200 and body["lease"] is True and body["store"] is True


@needs_curl
async def test_api_refusals_store_nothing(srv: Served) -> None:
    url = f"{srv.url}/api/v1/events"
    good = json.dumps(event()).encode()
    half = json.dumps([event(resource="a"), event(resource="b", severity="loud")]).encode()
    cases = [
        (good, None, 401, "a token is needed"),
        (good, "not-the-token-0123456789", 403, "not known"),
        (good, PING, 403, "may not send events"),
        (b"{not json", API, 400, "not JSON"),
        (b"[" * 1000 + b"]" * 1000, API, 400, "not JSON"),  # nested past recursion
        (half, API, 400, "event 1: 'severity'"),
        (json.dumps(event(resource="")).encode(), API, 400, "'resource' is empty"),
        (json.dumps(event(extra=1)).encode(), API, 400, "unknown key 'extra'"),
        (b"[]", API, 400, "no events"),
        (b"x" * 3000, API, 413, "over 2048 bytes"),
    ]
    for body, token, status, message in cases:
        code, answer = await http(url, "POST", body, token)
        assert code == status, (body[:40], answer)
        assert list(answer) == ["error"] and message in answer["error"], answer
    code, answer = await http(f"{url}?filter=severity:loud", token=API)
    assert code == 400 and "filter" in answer["error"]
    assert await srv.store.list_events(include_resolved=True) == []


# -- the lease holder serves it ------------------------------------------------------------
async def test_the_lease_holder_serves_the_intake_and_stops_with_the_lease(
    tmp_path: Path,
) -> None:
    if CURL is None:
        pytest.skip("curl is not installed")
    port = free_port()
    config = intake_config(port)
    store = await open_store(tmp_path / "bridge.db")
    poller = Poller(store, config, SystemClock(), collectors=[])
    task = asyncio.create_task(poller.run())
    url = f"http://127.0.0.1:{port}/healthz"
    try:

        async def answers() -> bool:
            return (await http(url))[0] == 200

        await wait_until(answers, 15, what="the intake to answer")

        async def recorded() -> bool:
            return any(h.name == HEALTH_NAME for h in await store.collector_health())

        await wait_until(recorded, 10, what="the intake's health")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    code, _, _ = await curl("-sS", "-m", "5", "-o", "/dev/null", url)
    assert code == 7  # connection refused: the intake went with the lease
    await store.close()


async def test_a_port_in_use_is_retried_and_shown_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = intake_config(int(taken.getsockname()[1]))
        store = await open_store(tmp_path / "bridge.db")
        runner = CollectorRunner(store, [], SystemClock(), LevelTracker({}), RuleEngine(config))
        task = asyncio.create_task(run_intake(config, store, runner, SystemClock()))
        try:

            async def shown() -> bool:
                return any(h.name == HEALTH_NAME and h.consecutive_failures
                           for h in await store.collector_health())  # fmt: skip

            with caplog.at_level(logging.WARNING):
                await wait_until(shown, 5, what="the bind failure in health")
            assert not task.done()
            assert "Traceback" not in caplog.text
            for secret in (PING, API):
                assert secret not in caplog.text
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await store.close()


# -- Alertmanager's webhook -------------------------------------------------------------
def alert(status: str = "firing", **labels: str) -> dict[str, Any]:
    merged = {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical", **labels}
    return {
        "status": status,
        "labels": merged,
        "annotations": {"summary": "disk / is 97% full", "description": "grows 1%/h"},
        "startsAt": "2026-12-07T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-07T11:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
        # Alertmanager's fingerprint is a hash of the label set.
        "fingerprint": hashlib.sha256(json.dumps(merged, sort_keys=True).encode()).hexdigest()[:16],
    }


def webhook(*alerts: dict[str, Any]) -> bytes:
    """Alertmanager's webhook payload, version 4, as its documentation gives it."""
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="DiskFull"}',
            "truncatedAlerts": 0,
            "status": "resolved" if all(a["status"] == "resolved" for a in alerts) else "firing",
            "receiver": "bridge",
            "groupLabels": {"alertname": "DiskFull"},
            "commonLabels": {"alertname": "DiskFull"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": list(alerts),
        }
    ).encode()


@needs_curl
async def test_alertmanager_alerts_become_events_once_and_resolve(srv: Served) -> None:
    url = f"{srv.url}/api/v1/alertmanager"
    payload = webhook(alert(), alert(instance="db2:9100", severity="warning"))
    code, body = await http(url, "POST", payload, API)
    assert (code, body) == (200, {"alerts": 2, "changed": 2})
    one = await srv.store.find_event("alertmanager|db1:9100|DiskFull")
    two = await srv.store.find_event("alertmanager|db2:9100|DiskFull")
    assert one is not None and two is not None
    assert (one.severity, two.severity) == (Severity.CRITICAL, Severity.WARNING)
    assert one.summary == "disk / is 97% full"
    evidence = await srv.store.evidence(one.id)
    assert evidence is not None
    assert evidence["labels"]["severity"] == "critical"
    assert evidence["generatorURL"].startswith("http://prometheus:9090/")

    # At-least-once delivery: the same payload again changes nothing.
    assert (await http(url, "POST", payload, API)) == (200, {"alerts": 2, "changed": 0})
    again = await srv.store.find_event("alertmanager|db1:9100|DiskFull")
    assert again is not None and again.count == one.count

    code, body = await http(url, "POST", webhook(alert("resolved")), API)
    assert (code, body) == (200, {"alerts": 1, "changed": 1})
    cleared = await srv.store.find_event("alertmanager|db1:9100|DiskFull")
    assert cleared is not None and cleared.state is EventState.RESOLVED
    assert (await http(url, "POST", webhook(alert("resolved")), API))[1]["changed"] == 0


@needs_curl
async def test_a_bad_alertmanager_payload_stores_nothing(srv: Served) -> None:
    url = f"{srv.url}/api/v1/alertmanager"
    no_name = alert()
    del no_name["labels"]["alertname"]
    cases = [
        (webhook(alert(), no_name), API, 400, "alert 1: no 'alertname' label"),
        (b'{"version": "4"}', API, 400, "no 'alerts' list"),
        (webhook(alert(status="pending")), API, 400, "firing or resolved"),
        (webhook(alert()), PING, 403, "may not send alertmanager"),
        (webhook(alert()), None, 401, "token is needed"),
    ]
    for body, token, status, message in cases:
        code, answer = await http(url, "POST", body, token)
        assert code == status and message in answer["error"], answer
    assert await srv.store.list_events(include_resolved=True) == []


async def test_the_severity_map_and_resource_labels_are_configurable(tmp_path: Path) -> None:
    if CURL is None:
        pytest.skip("curl is not installed")
    mapping = {"resource_labels": ["host", "instance"], "severity_map": {"page": "major"},
               "default_severity": "minor"}  # fmt: skip
    async with served(tmp_path, alertmanager=mapping) as srv:
        url = f"{srv.url}/api/v1/alertmanager"
        payload = webhook(alert(severity="page", host="web7"), alert(severity="critical"))
        assert (await http(url, "POST", payload, API))[0] == 200
        paged = await srv.store.find_event("alertmanager|web7|DiskFull")
        other = await srv.store.find_event("alertmanager|db1:9100|DiskFull")
        assert paged is not None and paged.severity is Severity.MAJOR
        assert other is not None and other.severity is Severity.MINOR


# -- strangers' garbage -------------------------------------------------------------------
GARBAGE_REQUESTS = 400


def garbage_request(rng: random.Random, port: int) -> bytes:
    """One request of random shape: a random or half-valid path, method, headers, body;
    sometimes not HTTP at all."""
    pick = rng.random()
    if pick < 0.1:
        return rng.randbytes(rng.randint(1, 600))
    paths = ["/", "/ping", f"/ping/{PING}", f"/ping/{PING}/backup/", f"/ping/{PING}/backup/999",
             f"/ping/x/backup/start?rid={'é' * 5}", "/api/v1/events", "/api/v1/alertmanager",
             "/healthz", "/%00%ff", "/ping/%2e%2e/%2e%2e", "/" + "a" * 3000,
             "/api/v1/events?filter=" + "(" * 50, "/api/v1/events?limit=-1"]  # fmt: skip
    junk = "/?&=x" if rng.random() < 0.8 else "/?&=%#x\\"
    path = rng.choice(paths) + "".join(rng.choice(junk) for _ in range(rng.randint(0, 8)))
    method = rng.choice(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "BREW", "G\x00T"])
    bodies = [b"", b"{", b"[]", b"null", b'{"alerts": [1]}', b'[{"severity": 5}]',
              json.dumps(event()).encode(), b'{"alerts": "x"}', rng.randbytes(300),
              b"\xff\xfe" * 50, json.dumps([event()] * 3).encode(), b"9" * 5000]  # fmt: skip
    body = rng.choice(bodies)
    headers = [f"Host: 127.0.0.1:{port}"]
    if rng.random() < 0.6:
        headers.append(
            f"Authorization: {rng.choice(['Bearer ' + API, 'Bearer', 'Basic x', 'Bearer ' + 'z' * 500])}"
        )
    if rng.random() < 0.8:
        length = len(body) if rng.random() < 0.8 else rng.choice([0, 10**9, -1, len(body) + 5])
        headers.append(f"Content-Length: {length}")
    if rng.random() < 0.2:
        headers.append("Transfer-Encoding: " + rng.choice(["chunked", "gzip", "x"]))
    if rng.random() < 0.2:
        headers.append(rng.choice(["X: \x01\x02", "NoColon", ": empty", "X-Long: " + "v" * 9000]))
    head = f"{method} {path} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\nConnection: close\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + body


async def send_raw(port: int, data: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.read(), 2)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_garbage_leaves_the_intake_serving_without_tracebacks(
    srv: Served, caplog: pytest.LogCaptureFixture
) -> None:
    if CURL is None:
        pytest.skip("curl is not installed")
    assert srv.intake.address is not None
    port = srv.intake.address[1]
    rng = random.Random(19)
    # Slow clients: a request line and half a header, then nothing, for the whole run.
    slow = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
    for _, writer in slow:
        writer.write(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Le")
    limit = asyncio.Semaphore(16)

    async def one(data: bytes) -> None:
        async with limit:
            await send_raw(port, data)

    with caplog.at_level(logging.DEBUG):
        requests = [garbage_request(rng, port) for _ in range(GARBAGE_REQUESTS)]
        # A token in a request line the parser refuses, and JSON nested past recursion.
        requests += [
            f"GET /ping/{PING}/backup\x01 HTTP/1.1\r\n\r\n".encode(),
            f"GET /ping/{PING}/back up HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
            b"POST /api/v1/events HTTP/1.1\r\nAuthorization: Bearer " + API.encode()
            + b"\r\nContent-Length: 2000\r\n\r\n" + b"[" * 1000 + b"]" * 1000,
        ]  # fmt: skip
        await asyncio.wait_for(asyncio.gather(*(one(r) for r in requests)), 60)
        # Still serving, and still right.
        code, _, err = await curl(
            "-fsS", "-m", "10", "-o", "/dev/null", f"{srv.url}/ping/{PING}/backup"
        )
        assert code == 0, err
        assert (await http(f"{srv.url}/healthz"))[0] == 200
    for _, writer in slow:
        writer.close()
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == [], [r.getMessage() for r in noisy][:5]
    assert "Traceback" not in caplog.text
    assert PING not in caplog.text and API not in caplog.text
    stats = srv.intake.stats  # each request counted: handled, or refused as malformed
    assert stats.requests + stats.errors["malformed"] >= GARBAGE_REQUESTS * 0.9
    assert stats.requests >= GARBAGE_REQUESTS / 4, stats
    assert "internal" not in srv.intake.stats.errors


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bridge-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_serves_https_with_the_configured_certificate(tmp_path: Path) -> None:
    if CURL is None:
        pytest.skip("curl is not installed")
    cert, key = self_signed(tmp_path)
    async with served(tmp_path, tls_cert=str(cert), tls_key=str(key)) as srv:
        assert srv.intake.address is not None
        url = f"https://127.0.0.1:{srv.intake.address[1]}/ping/{PING}/backup"
        code, out, err = await curl("-fsS", "-m", "10", "--cacert", str(cert), url)
        assert (code, out) == (0, "OK"), err
        code, _, _ = await curl("-fsS", "-m", "10", "-o", "/dev/null", url)
        assert code == 60  # curl: the certificate is not one it trusts by default
        assert len(await srv.store.job_runs("backup")) == 1


# -- a real Alertmanager -----------------------------------------------------------------
ALERTMANAGER_BIN = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.mark.skipif(
    ALERTMANAGER_BIN is None, reason="prometheus-alertmanager is not installed (Debian package)"
)
async def test_a_real_alertmanager_delivers_firing_then_resolved(tmp_path: Path) -> None:
    import httpx

    assert ALERTMANAGER_BIN is not None
    async with served(tmp_path) as srv:
        am_port = free_port()
        (tmp_path / "am.yml").write_text(
            f"""\
route:
  receiver: bridge
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: bridge
    webhook_configs:
      - url: {srv.url}/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {API}
""",
            encoding="utf-8",
        )
        proc = await asyncio.create_subprocess_exec(
            ALERTMANAGER_BIN,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        am = f"http://127.0.0.1:{am_port}"
        try:
            async with httpx.AsyncClient(timeout=5) as client:

                async def ready() -> bool:
                    try:
                        return (await client.get(f"{am}/-/ready")).status_code == 200
                    except httpx.TransportError:
                        return False

                await wait_until(ready, 20, interval=0.1, what="Alertmanager ready")
                labels = {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical"}
                firing = {
                    "labels": labels,
                    "annotations": {"summary": "disk / is 97% full"},
                    "generatorURL": "http://prometheus:9090/graph",
                }
                answer = await client.post(f"{am}/api/v2/alerts", json=[firing])
                assert answer.status_code == 200, answer.text
                key = "alertmanager|db1:9100|DiskFull"

                async def raised() -> bool:
                    event = await srv.store.find_event(key)
                    return event is not None and event.severity is Severity.CRITICAL

                await wait_until(raised, 20, interval=0.1, what="the firing alert's event")
                event = await srv.store.find_event(key)
                assert event is not None and event.summary == "disk / is 97% full"
                evidence = await srv.store.evidence(event.id)
                assert evidence is not None and evidence["fingerprint"]
                assert evidence["generatorURL"] == "http://prometheus:9090/graph"

                ended = {**firing, "endsAt": "2000-01-01T00:00:00Z"}
                answer = await client.post(f"{am}/api/v2/alerts", json=[ended])
                assert answer.status_code == 200, answer.text

                async def resolved() -> bool:
                    event = await srv.store.find_event(key)
                    return event is not None and event.state is EventState.RESOLVED

                await wait_until(resolved, 20, interval=0.1, what="the resolved alert's event")
                assert srv.intake.stats.errors == {}
        finally:
            proc.terminate()
            with contextlib.suppress(ProcessLookupError):
                await asyncio.wait_for(proc.wait(), 10)


def test_a_token_in_a_logged_line_is_redacted() -> None:
    intake = Intake(intake_config(free_port()), None, None, SystemClock())  # type: ignore[arg-type]
    assert intake.redact(f"GET /ping/{PING}/backup failed") == "GET /ping/***/backup failed"
