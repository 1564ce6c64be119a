"""Traps: a real receiver on 127.0.0.1 gets v1/v2c/v3 notifications sent with pysnmp's
send_notification, and the lease holder's trap service turns them into events."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import Isolated, one_error_line, run_bridge, wait_until
from pysnmp.hlapi.v3arch.asyncio import (  # type: ignore[import-untyped]
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC192_SHA256,
    USM_PRIV_CFB128_AES,
    USM_PRIV_NONE,
    CommunityData,
    ContextData,
    NotificationType,
    ObjectIdentity,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    send_notification,
)
from pysnmp.proto import rfc1902  # type: ignore[import-untyped]
from snmp_agent import (
    SnmpAgent,
    free_udp_port,
    snmp_agent_fixture,  # noqa: F401  (registers the session fixture `snmp_agent`)
)

from bridge.config.file import Config
from bridge.core.clock import SystemClock
from bridge.core.models import CollectorHealth, Event, EventState, Severity
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.poller import build_collectors
from bridge.runtime.runner import CollectorRunner
from bridge.runtime.trap_service import HEALTH_NAME, run_trap_receiver
from bridge.store import Store, open_store
from collectors.snmp import close_shared_engine
from collectors.traps import Trap, TrapReceiver, TrapUser

ENGINE_ID = "80000000010203040506"
LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
COLD_START, AUTH_FAILURE = "1.3.6.1.6.3.1.1.5.1", "1.3.6.1.6.3.1.1.5.5"
HOSTILE = "[bold red]pwned[/] \x1b]0;t\x07\x1b[2J"


_engines: dict[str, Any] = {}  # one sending engine per engine id, as a device has one


async def send(
    port: int,
    trap_oid: str,
    varbinds: Sequence[tuple[str, Any]] = (),
    *,
    auth: Any = None,
    engine_id: str | None = None,
) -> None:
    """One notification to 127.0.0.1:port, as a device would send it."""
    key = engine_id or ""
    if key not in _engines:  # an engine costs most of a second to build
        _engines[key] = (
            SnmpEngine(rfc1902.OctetString(hexValue=engine_id)) if engine_id else SnmpEngine()
        )
    error, *_ = await send_notification(
        _engines[key],
        auth if auth is not None else CommunityData("traps-s3cret", mpModel=1),
        await UdpTransportTarget.create(("127.0.0.1", port), timeout=1, retries=0),
        ContextData(),
        "trap",
        NotificationType(ObjectIdentity(trap_oid)).add_varbinds(*varbinds),
        lookupMib=False,
    )
    assert not error, error


@pytest.fixture(autouse=True)
async def _close_senders() -> AsyncIterator[None]:
    yield
    for engine in _engines.values():
        engine.close_dispatcher()
    _engines.clear()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[TrapReceiver, list[Trap]]]:
    got: list[Trap] = []
    r = TrapReceiver(
        "127.0.0.1",
        0,
        got.append,
        communities=["other", "traps-s3cret"],
        users=[
            TrapUser("priv-user", "sha256", "auth-key-123", "aes", "priv-key-123",
                     engine_id=ENGINE_ID),
            TrapUser("auth-user", "sha", "auth-key-456", engine_id=ENGINE_ID),
        ],
    )  # fmt: skip
    await r.start()
    try:
        yield r, got
    finally:
        await r.close()


async def _count(got: list[Trap], n: int) -> None:
    async def enough() -> bool:
        return len(got) >= n

    await wait_until(enough, 5, what=f"{n} traps")


async def test_receiver_gets_v1_v2c_and_v3(receiver: tuple[TrapReceiver, list[Trap]]) -> None:
    r, got = receiver
    port = r.bound_port
    await send(port, LINK_DOWN, [("1.3.6.1.2.1.2.2.1.1.7", rfc1902.Integer(7))])
    await send(port, COLD_START, auth=CommunityData("traps-s3cret", mpModel=0))
    await send(
        port, "1.3.6.1.4.1.99.0.1", [("1.3.6.1.4.1.99.1", rfc1902.OctetString(HOSTILE.encode()))],
        auth=UsmUserData("priv-user", "auth-key-123", "priv-key-123",
                         authProtocol=USM_AUTH_HMAC192_SHA256, privProtocol=USM_PRIV_CFB128_AES),
        engine_id=ENGINE_ID,
    )  # fmt: skip
    await send(
        port, AUTH_FAILURE,
        auth=UsmUserData("auth-user", "auth-key-456", authProtocol=USM_AUTH_HMAC96_SHA,
                         privProtocol=USM_PRIV_NONE),
        engine_id=ENGINE_ID,
    )  # fmt: skip
    await _count(got, 4)
    v2c, v1, v3priv, v3auth = got
    assert (v2c.version, v2c.trap_oid, v2c.indexed("1.3.6.1.2.1.2.2.1.1")) == (
        "2c", LINK_DOWN, (7, "7"),
    )  # fmt: skip
    assert (v1.version, v1.trap_oid) == ("1", COLD_START)
    assert (v3priv.version, v3priv.security_name) == ("3", "priv-user")
    assert v3priv.value("1.3.6.1.4.1.99.1") == HOSTILE  # kept as text, never interpreted
    assert (v3auth.version, v3auth.trap_oid) == ("3", AUTH_FAILURE)
    for trap in got:  # the community is known by its index, never its text
        assert "traps-s3cret" not in repr(trap)
        assert trap.security_name in ("community-1", "priv-user", "auth-user")


async def test_a_wrong_community_or_key_is_not_received(
    receiver: tuple[TrapReceiver, list[Trap]],
) -> None:
    r, got = receiver
    port = r.bound_port
    await send(port, COLD_START, auth=CommunityData("guessed", mpModel=1))
    await send(
        port, COLD_START,
        auth=UsmUserData("priv-user", "wrong-key-000", "priv-key-123",
                         authProtocol=USM_AUTH_HMAC192_SHA256, privProtocol=USM_PRIV_CFB128_AES),
        engine_id=ENGINE_ID,
    )  # fmt: skip
    await send(port, WARM := "1.3.6.1.6.3.1.1.5.2")  # a good one, to know the others were seen
    await _count(got, 1)
    assert [t.trap_oid for t in got] == [WARM]


def _config(agent: SnmpAgent, port: int, **traps: Any) -> Config:
    return Config.model_validate(
        {
            "local": {"enabled": False},
            "traps": {"enabled": True, "address": "127.0.0.1", "port": port,
                      "communities": ["traps-s3cret"], **traps},
            "devices": [{"name": "switch48", "address": agent.host, "port": agent.port,
                         "community": "switch48", "timeout": 1.0, "retries": 0}],
        }
    )  # fmt: skip


@contextlib.asynccontextmanager
async def trap_service(config: Config, store: Store) -> AsyncIterator[CollectorRunner]:
    collectors = build_collectors(config)
    runner = CollectorRunner(store, collectors, SystemClock(), LevelTracker({}), RuleEngine(config))
    ready = asyncio.Event()
    task = asyncio.create_task(run_trap_receiver(config, store, runner, SystemClock(), ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        close_shared_engine()


async def _event(store: Store, key: str, state: EventState | None = None) -> Event:
    async def there() -> bool:
        e = await store.find_event(key)
        return e is not None and (state is None or e.state is state)

    await wait_until(there, 5, what=key)
    event = await store.find_event(key)
    assert event is not None
    return event


async def test_trap_link_down_is_resolved_by_the_poll_that_sees_it_up(
    snmp_agent: SnmpAgent, tmp_path: Path
) -> None:
    port = free_udp_port()
    config = _config(snmp_agent, port)
    store = await open_store(tmp_path / "bridge.db")
    try:
        async with trap_service(config, store) as runner:
            (collector,) = runner.collectors
            health = await runner.run_once(collector, CollectorHealth(collector.name, 1.0))
            # Port 1 is up in the recording; the trap says it went down (names come from the poll).
            await send(port, LINK_DOWN, [("1.3.6.1.2.1.2.2.1.1.1", rfc1902.Integer(1)),
                                         ("1.3.6.1.2.1.2.2.1.7.1", rfc1902.Integer(1)),
                                         ("1.3.6.1.2.1.2.2.1.8.1", rfc1902.Integer(2))])  # fmt: skip
            key = "snmp|switch48/Gi1/0/1|oper-status"
            event = await _event(store, key, EventState.OPEN)
            assert event.severity is Severity.MAJOR and "linkDown trap" in event.summary
            evidence = await store.evidence(event.id)
            assert evidence is not None and evidence["trap"] == "linkDown"
            await runner.run_once(collector, health)  # the poll sees Gi1/0/1 up
            resolved = await _event(store, key, EventState.RESOLVED)
            assert resolved.id == event.id
            (traps,) = [h for h in await store.collector_health() if h.name == HEALTH_NAME]
            assert traps.runs == 1 and traps.consecutive_failures == 0
    finally:
        await store.close()


async def test_well_known_mapped_and_unknown_traps_become_events(
    snmp_agent: SnmpAgent, tmp_path: Path
) -> None:
    port = free_udp_port()
    config = _config(
        snmp_agent, port,
        map=[{"oid": "1.3.6.1.4.1.9.9.41.*", "severity": "critical", "check": "syslog"}],
    )  # fmt: skip
    store = await open_store(tmp_path / "bridge.db")
    try:
        async with trap_service(config, store):
            await send(port, COLD_START)
            await send(port, AUTH_FAILURE)
            await send(port, "1.3.6.1.4.1.9.9.41.2.0.1")
            await send(
                port, "1.3.6.1.4.1.99.0.7",
                [("1.3.6.1.4.1.99.1", rfc1902.OctetString(HOSTILE.encode()))],
            )  # fmt: skip
            restart = await _event(store, "snmp|switch48|restart")
            assert restart.severity is Severity.WARNING and "coldStart" in restart.summary
            auth = await _event(store, "snmp|switch48|auth-failure")
            assert auth.severity is Severity.WARNING
            mapped = await _event(store, "snmp|switch48|syslog")
            assert mapped.severity is Severity.CRITICAL
            other = await _event(store, "snmp|switch48|trap:1.3.6.1.4.1.99.0.7")
            assert other.severity is Severity.INFO
            assert f"1.3.6.1.4.1.99.1 = {HOSTILE}" in other.detail  # stored as sent
            evidence = await store.evidence(other.id)
            assert evidence is not None
            assert ["1.3.6.1.4.1.99.1", HOSTILE] in evidence["varbinds"]
            for e in await store.list_events(limit=100):
                assert "traps-s3cret" not in e.summary + e.detail
    finally:
        await store.close()


async def test_a_port_in_use_is_reported_in_self_health(
    snmp_agent: SnmpAgent, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        config = _config(snmp_agent, port)
        store = await open_store(tmp_path / "bridge.db")
        runner = CollectorRunner(store, [], SystemClock(), LevelTracker({}), RuleEngine(config))
        task = asyncio.create_task(run_trap_receiver(config, store, runner, SystemClock()))
        try:

            async def reported() -> bool:
                return any(
                    h.name == HEALTH_NAME and h.consecutive_failures
                    for h in await store.collector_health()
                )

            await wait_until(reported, 5, what="bind failure in health")
            (health,) = await store.collector_health()
            assert f"127.0.0.1:{port}" in (health.last_error or "")
            assert not task.done()  # it keeps trying; polling is not taken down with it
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await store.close()


def test_traps_config_is_checked_without_echoing_secrets(isolated: Isolated) -> None:
    good = isolated.write_config(
        '[traps]\nenabled = true\nport = 11162\ncommunities = ["c0mm-s3cret"]\n'
        '[[traps.users]]\nuser = "ops"\nauth_key = "auth-s3cret-key"\n'
        'priv_protocol = "AES"\npriv_key = "priv-s3cret-key"\nengine_id = "8000000001020304"\n'
    )
    result = run_bridge(isolated, "--config", str(good), "check-config")
    assert result.returncode == 0, result.stderr
    assert "traps:    listening on 127.0.0.1:11162 (1 communities, 1 v3 users" in result.stdout
    for secret in ("c0mm-s3cret", "auth-s3cret-key", "priv-s3cret-key"):
        assert secret not in result.stdout + result.stderr
    bad = isolated.write_config("[traps]\ncommunities = [12345]\n", name="bad.toml")
    result = run_bridge(isolated, "--config", str(bad), "check-config")
    one_error_line(result, "traps.communities[0]")
    assert "12345" not in result.stderr
    short = isolated.write_config(
        '[[traps.users]]\nuser = "ops"\nauth_key = "short"\n', name="short.toml"
    )
    result = run_bridge(isolated, "--config", str(short), "check-config")
    one_error_line(result, "traps.users[0]", "at least 8 characters")
    assert 'short"' not in result.stderr


async def test_a_set_up_failure_after_the_bind_frees_the_port() -> None:
    """A receiver whose set-up fails after binding (here a v3 user with an
    unknown protocol, which the config would refuse) must not keep the port
    until the retry: the next bind by anyone else succeeds at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bad = TrapUser(user="ops", auth_protocol="nonsense", auth_key="k" * 12)
    receiver = TrapReceiver("127.0.0.1", port, lambda trap: None, users=[bad])
    with pytest.raises(KeyError):
        await receiver.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", port))  # raises EADDRINUSE if the failed receiver kept it
    await receiver.close()  # and closing what never started is harmless
