"""Escalation through the outbox to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from conftest import Isolated, Processes, one_error_line, run_bridge, wait_until
from http_server import Behaviour, TestServer, serve

from bridge.config.file import Config, parse_config
from bridge.core.actions import Action
from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, Severity
from bridge.core.outbox import OutboxStatus
from bridge.runtime.delivery import OutboxSender, enqueue_escalations, retry_delay
from bridge.store import Store, open_store

T0 = 1_795_000_000.0
MIN = 60.0


def config(
    server: TestServer, *, timeout: float = 2, backoff: float = 10, attempts: int = 3
) -> Config:
    return parse_config(
        f"""
[[webhooks]]
name = "ops"
url = "{server.url("/ops")}"
timeout = {timeout}
backoff = {backoff}
max_attempts = {attempts}

[[webhooks]]
name = "chat"
url = "{server.url("/chat")}"
format = "slack"

[[escalations]]
name = "critical-15m"
severity = "critical"
after = "15m"
targets = ["ops", "chat"]
""",
        "t.toml",
    )


@pytest.fixture
def server() -> Iterator[TestServer]:
    with serve() as s:
        s.route("/ops", Behaviour())
        s.route("/chat", Behaviour())
        yield s


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def raise_(resource: str, sev: Severity, at: float, summary: str = "down") -> EventInput:
    return EventInput("snmp", resource, "reachability", sev, summary, at)


async def seed(store: Store) -> dict[str, int]:
    await store.upsert_events(
        [
            raise_("old-crit", Severity.CRITICAL, T0 - 20 * MIN, "<!channel> & down"),
            raise_("new-crit", Severity.CRITICAL, T0 - 5 * MIN),  # not yet 15 minutes
            raise_("old-major", Severity.MAJOR, T0 - 60 * MIN),  # below the rule's severity
            raise_("acked-crit", Severity.CRITICAL, T0 - 60 * MIN),
        ],
        "bridge",
    )
    ids = {}
    for name in ("old-crit", "new-crit", "old-major", "acked-crit"):
        e = await store.find_event(f"snmp|{name}|reachability")
        assert e is not None
        ids[name] = e.id
    await store.act([ids["acked-crit"]], Action.ACK, "alice", T0 - 50 * MIN)
    return ids


async def test_escalation_is_queued_once_and_delivered(
    store: Store, server: TestServer, client: httpx.AsyncClient
) -> None:
    ids = await seed(store)
    cfg = config(server)
    assert await enqueue_escalations(store, cfg, T0) == 2  # one event, two targets
    assert await enqueue_escalations(store, cfg, T0 + 60) == 0  # at most once
    clock = FixedClock(T0)
    sender = OutboxSender(store, cfg, clock, client)
    assert len(await sender.pump()) == 2
    [ops] = server.requests("/ops")
    body = json.loads(ops.body)
    assert body["event"]["id"] == ids["old-crit"] and body["rule"] == "critical-15m"
    assert ops.headers["Idempotency-Key"].startswith("bridge-outbox-")
    [chat] = server.requests("/chat")
    text = json.loads(chat.body)["text"]
    assert "&lt;!channel&gt; &amp; down" in text  # Slack markup neutralised
    assert await store.outbox_counts() == {"pending": 0, "sending": 0, "delivered": 2, "failed": 0}
    assert await sender.pump() == []  # nothing is sent twice
    # Ten minutes on, the newer critical is due too; the acked and the major never are.
    assert await enqueue_escalations(store, cfg, T0 + 10 * MIN) == 2
    assert {i.event_id for i in await store.outbox_items()} == {ids["old-crit"], ids["new-crit"]}


async def test_failing_and_slow_targets_are_retried_with_backoff(
    store: Store, server: TestServer, client: httpx.AsyncClient
) -> None:
    await seed(store)
    cfg = config(server, timeout=0.3, backoff=30, attempts=3)
    server.route("/ops", Behaviour(first=[500]))
    server.route("/chat", Behaviour(delay=1.0))  # slow, but within chat's default 5 s
    await enqueue_escalations(store, cfg, T0)
    clock = FixedClock(T0)
    sender = OutboxSender(store, cfg, clock, client)
    await sender.pump()
    items = {i.target: i for i in await store.outbox_items()}
    assert items["ops"].status is OutboxStatus.PENDING and items["ops"].attempts == 1
    assert items["ops"].last_error == "HTTP 500 Internal Server Error"
    assert items["ops"].next_attempt_at == T0 + 30
    assert items["chat"].status is OutboxStatus.DELIVERED  # 1 s is within chat's 5 s
    assert await sender.pump() == []  # not before its time
    clock.advance(30)
    await sender.pump()
    items = {i.target: i for i in await store.outbox_items()}
    assert items["ops"].status is OutboxStatus.DELIVERED and items["ops"].attempts == 2
    assert retry_delay(cfg.webhooks[0], 3) == 120 and retry_delay(cfg.webhooks[0], 99) == 3600


async def test_a_slow_target_times_out_then_fails_after_max_attempts(
    store: Store, server: TestServer, client: httpx.AsyncClient
) -> None:
    await seed(store)
    cfg = config(server, timeout=0.2, backoff=1, attempts=2)
    server.route("/ops", Behaviour(delay=1.0))
    await enqueue_escalations(store, cfg, T0)
    clock = FixedClock(T0)
    sender = OutboxSender(store, cfg, clock, client)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sender.pump()
    assert loop.time() - started < 1.0  # the timeout, not the slow target, decides
    ops = next(i for i in await store.outbox_items() if i.target == "ops")
    assert ops.status is OutboxStatus.PENDING and ops.last_error == "timed out after 0.2 s"
    clock.advance(1)
    await sender.pump()
    ops = next(i for i in await store.outbox_items() if i.target == "ops")
    assert ops.status is OutboxStatus.FAILED and ops.attempts == 2


async def test_an_event_acknowledged_before_delivery_is_not_sent(
    store: Store, server: TestServer, client: httpx.AsyncClient
) -> None:
    ids = await seed(store)
    cfg = config(server)
    assert await enqueue_escalations(store, cfg, T0) == 2
    await store.act([ids["old-crit"]], Action.ACK, "bob", T0 + 30)
    sender = OutboxSender(store, cfg, FixedClock(T0 + 60), client)
    assert len(await sender.pump()) == 2
    assert server.requests("/ops") == [] and server.requests("/chat") == []
    items = await store.outbox_items()
    assert all(i.last_error == "not sent: the event is acknowledged" for i in items)
    assert await store.outbox_counts() == {"pending": 0, "sending": 0, "delivered": 0, "failed": 2}


def test_bad_webhook_url_is_a_config_error(isolated: Isolated) -> None:
    path = isolated.write_config('[[webhooks]]\nname = "x"\nurl = "ftp://example/hook"\n')
    one_error_line(
        run_bridge(isolated, "--config", str(path), "check-config"),
        "webhooks[0].url",
        "not an http:// or https:// URL",
    )
    path = isolated.write_config(
        '[[webhooks]]\nname = "x"\nurl = "http://127.0.0.1/h"\n'
        '[[escalations]]\nname = "e"\ntargets = ["y"]\n'
    )
    one_error_line(
        run_bridge(isolated, "--config", str(path), "check-config"),
        "escalations[0].targets[0]: unknown webhook 'y'",
    )


def test_webhook_and_check_tokens_never_printed(isolated: Isolated) -> None:
    token = "SECRETTOKEN"
    bad = f'[[webhooks]]\nname = "x"\nurl = "https://hooks.example:99999/services/{token}"\n'
    result = run_bridge(isolated, "--config", str(isolated.write_config(bad)), "check-config")
    one_error_line(result, "webhooks[0].url", "is not a valid URL")
    assert token not in result.stderr + result.stdout
    good = (
        f'[[webhooks]]\nname = "x"\nurl = "https://hooks.example/services/{token}"\n'
        f'[[http_checks]]\nname = "shop"\nurl = "https://user:{token}@127.0.0.1/health?key={token}"\n'
    )
    result = run_bridge(isolated, "--config", str(isolated.write_config(good)), "check-config")
    assert result.returncode == 0, result.stderr
    assert "https://hooks.example/…" in result.stdout
    assert "https://127.0.0.1/health?…" in result.stdout
    assert token not in result.stdout + result.stderr


COLLECT = """
[store]
path = "{db}"

[local]
enabled = false

[[webhooks]]
name = "ops"
url = "{ops}"
timeout = 2
backoff = 2

[[webhooks]]
name = "pager"
url = "{pager}"
timeout = 60

[[escalations]]
name = "now"
severity = "critical"
after = 0
targets = ["ops", "pager"]
"""


async def test_delivers_after_kill_9_and_never_twice(
    isolated: Isolated, processes: Processes, server: TestServer
) -> None:
    db = isolated.root / "bridge.db"
    server.route("/ops", Behaviour(status=503))  # down for now: retried later
    server.route("/pager", Behaviour(hang=True))  # takes the request, never answers
    path = isolated.write_config(
        COLLECT.format(db=db, ops=server.url("/ops"), pager=server.url("/pager"))
    )
    store = await open_store(db)
    try:
        for name in ("a", "b"):
            done = await asyncio.to_thread(
                run_bridge, isolated, "--config", str(path), "events", "raise",
                "--severity", "critical", "--resource", name, "--check", "x", "--summary", "down",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        first = processes.bridge(
            isolated, "--config", str(path), "collect", log=isolated.root / "1.log"
        )

        async def stuck_and_waiting() -> bool:
            items = await store.outbox_items()
            ops = [i for i in items if i.target == "ops"]
            pager = [i for i in items if i.target == "pager"]
            return (
                len(ops) == 2
                # ... and not about to be retried, so the kill cannot land mid-request.
                and all(
                    i.status is OutboxStatus.PENDING
                    and i.attempts >= 1
                    and i.next_attempt_at > time.time() + 0.5
                    for i in ops
                )
                and len(pager) == 2
                and all(i.status is OutboxStatus.SENDING for i in pager)
                and len(server.requests("/pager")) == 0  # hung: not yet recorded
            )

        await wait_until(stuck_and_waiting, 20, what="ops retrying and pager hung")
        first.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(first.wait, 10) == -signal.SIGKILL
        server.route("/ops", Behaviour(status=200))  # the target is back
        server.release.set()  # the hung pager requests now complete (to a dead client)
        processes.bridge(isolated, "--config", str(path), "collect", log=isolated.root / "2.log")

        async def delivered() -> bool:
            counts = await store.outbox_counts()
            return counts["delivered"] == 2 and counts["failed"] == 2

        await wait_until(delivered, 30, what="delivery after the restart")
        ok = [s for s in server.requests("/ops") if s.status == 200]
        keys = [s.headers["Idempotency-Key"] for s in ok]
        assert len(keys) == 2 and len(set(keys)) == 2  # each delivered exactly once
        # The pager requests were in flight at the kill: failed, never sent again.
        await wait_until(
            lambda: _async(len(server.requests("/pager")) == 2), 10, what="pager requests"
        )
        pager = [i for i in await store.outbox_items() if i.target == "pager"]
        assert all("interrupted" in (i.last_error or "") for i in pager)
        outbox = await asyncio.to_thread(
            run_bridge, isolated, "--config", str(path), "outbox", "--json"
        )
        data = json.loads(outbox.stdout)
        assert data["counts"] == {"pending": 0, "sending": 0, "delivered": 2, "failed": 2}
    finally:
        await store.close()


async def _async(value: bool) -> bool:
    return value


async def test_events_inside_a_maintenance_window_are_not_escalated(
    store: Store, server: TestServer
) -> None:
    from bridge.core.models import MaintenanceWindow

    window = MaintenanceWindow("patching", ("core-*",), T0 - 60 * MIN, T0 + 60 * MIN)
    await store.set_maintenance_windows([window], T0 - 60 * MIN)
    await store.upsert_events(
        [
            raise_("core-sw1", Severity.CRITICAL, T0 - 30 * MIN),  # inside the window
            raise_("edge-sw1", Severity.CRITICAL, T0 - 30 * MIN),
        ],
        "bridge",
    )
    core = await store.find_event("snmp|core-sw1|reachability")
    assert core is not None and core.suppressed_by == "patching"
    assert await enqueue_escalations(store, config(server), T0) == 2  # edge-sw1, two targets
    queued = {i.event_id for i in await store.outbox_items()}
    assert core.id not in queued and len(queued) == 1


def test_check_config_shows_escalation_wait_as_a_duration(isolated: Isolated) -> None:
    path = isolated.write_config(
        '[[webhooks]]\nname = "ops"\nurl = "http://127.0.0.1/h"\n'
        '[[escalations]]\nname = "e"\nafter = "90s"\ntargets = ["ops"]\n'
    )
    result = run_bridge(isolated, "--config", str(path), "check-config")
    assert result.returncode == 0, result.stderr
    assert "e                critical+ unacknowledged 1m30s -> ops" in result.stdout, result.stdout
