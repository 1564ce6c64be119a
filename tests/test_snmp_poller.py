"""Configured devices polled by the lease holder's runner into a real store."""

from __future__ import annotations

import time
from pathlib import Path

from snmp_agent import (
    SnmpAgent,
    free_udp_port,
    snmp_agent_fixture,  # noqa: F401  (registers the session fixture `snmp_agent`)
)

from bridge.config.file import Config
from bridge.core.clock import SystemClock
from bridge.core.models import CollectorHealth, EventState, Severity
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.poller import build_collectors, snmp_target
from bridge.runtime.runner import CollectorRunner
from bridge.store import open_store
from collectors.snmp import close_shared_engine, mask_secrets


def _config(agent: SnmpAgent, dead_port: int) -> Config:
    return Config.model_validate(
        {
            "local": {"enabled": False},
            "devices": [
                {"name": "switch48", "address": agent.host, "port": agent.port,
                 "community": "switch48", "timeout": 1.0, "retries": 0},
                {"name": "dead", "address": "127.0.0.1", "port": dead_port,
                 "community": "s3cret-community", "timeout": 0.3, "retries": 0},
            ],
        }
    )  # fmt: skip


def test_device_config_becomes_a_target_with_its_secrets() -> None:
    config = Config.model_validate(
        {
            "devices": [
                {"name": "r1", "address": "127.0.0.1", "version": "3", "user": "ops",
                 "auth_protocol": "SHA256", "auth_key": "authkey123",
                 "priv_protocol": "AES", "priv_key": "privkey123"},
            ]
        }
    )  # fmt: skip
    target = snmp_target(config.devices[0])
    assert (target.auth_protocol, target.priv_protocol) == ("sha256", "aes")
    assert target.auth_key == "authkey123"
    assert "authkey123" not in repr(target) and "privkey123" not in repr(target)


async def test_devices_are_polled_and_a_dead_one_raises_an_event(
    snmp_agent: SnmpAgent, tmp_path: Path
) -> None:
    config = _config(snmp_agent, free_udp_port())
    collectors = build_collectors(config)
    assert [c.name for c in collectors] == ["snmp:switch48", "snmp:dead"]
    store = await open_store(tmp_path / "bridge.db")
    try:
        runner = CollectorRunner(
            store, collectors, SystemClock(), LevelTracker({}), RuleEngine(config)
        )
        started = time.monotonic()
        for collector in collectors:
            await runner.run_once(collector, CollectorHealth(collector.name, collector.interval))
        assert time.monotonic() - started < 10  # the dead device is bounded by its timeout

        (snap,) = await store.snapshots("snmp")
        assert snap.resource == "switch48"
        assert len(snap.data["interfaces"]) == 48
        dead = await store.find_event("snmp|dead|reachability")
        assert dead is not None and dead.severity is Severity.MAJOR
        assert dead.state is EventState.OPEN and "unreachable" in dead.summary
        assert "s3cret-community" not in dead.summary
        assert await store.find_event("snmp|switch48|reachability") is None
        health = {h.name: h for h in await store.collector_health()}
        assert health["snmp:dead"].consecutive_failures == 1
        assert health["snmp:switch48"].last_success is not None
    finally:
        await store.close()
        close_shared_engine()


def test_a_host_without_devices_never_loads_pysnmp() -> None:
    """pysnmp costs start-up time and memory; a console with no devices must not pay it."""
    import subprocess
    import sys

    code = (
        "import sys, bridge.ui.app; from bridge.runtime.poller import build_collectors;"
        " from bridge.config.file import Config; build_collectors(Config());"
        " print('pysnmp' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"


def test_polling_v2c_devices_never_loads_pysnmp(snmp_agent: SnmpAgent) -> None:
    """v1/v2c go over our own codec: a lease holder whose devices are all v1/v2c polls
    them without pysnmp, which would be most of its memory."""
    import subprocess
    import sys

    code = (
        "import asyncio, sys, bridge.ui.app; from bridge.runtime.poller import build_collectors;"
        " from bridge.config.file import Config;"
        " config = Config.model_validate({'local': {'enabled': False}, 'devices': ["
        f"  {{'name': 'switch48', 'address': '{snmp_agent.host}', 'port': {snmp_agent.port},"
        "   'community': 'switch48', 'version': '2c', 'timeout': 2.0}]});"
        " (collector,) = build_collectors(config);"
        " (reading,) = asyncio.run(collector.collect());"
        " print(len(reading.detail['interfaces']), 'pysnmp' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["48", "False"]


async def test_a_community_equal_to_the_device_name_does_not_mask_the_name(
    tmp_path: Path,
) -> None:
    """The demo's devices use their names as communities: the name is still the name
    in the event and the collector's error, and *** stands only for the secret."""
    config = Config.model_validate(
        {
            "local": {"enabled": False},
            "devices": [
                {"name": "fw-dmz", "address": "127.0.0.1", "port": free_udp_port(),
                 "community": "fw-dmz", "timeout": 0.3, "retries": 0},
            ],
        }
    )  # fmt: skip
    (collector,) = build_collectors(config)
    store = await open_store(tmp_path / "bridge.db")
    try:
        runner = CollectorRunner(
            store, [collector], SystemClock(), LevelTracker({}), RuleEngine(config)
        )
        await runner.run_once(collector, CollectorHealth(collector.name, collector.interval))
        event = await store.find_event("snmp|fw-dmz|reachability")
        assert event is not None
        shown = f"{event.summary} {event.detail}"
        assert "SNMP device fw-dmz (127.0.0.1:" in shown, shown
        assert "***" not in shown
        health = {h.name: h for h in await store.collector_health()}
        error = health["snmp:fw-dmz"].last_error or ""
        assert "fw-dmz" in error and "***" not in error, error
    finally:
        await store.close()
        close_shared_engine()


def test_a_secret_is_masked_where_a_library_echoes_it() -> None:
    secrets = ("fw-dmz", "s3cret")
    assert (
        mask_secrets("bad community 'fw-dmz' for fw-dmz-2 (key=s3cret, s3crets)", secrets)
        == "bad community '***' for fw-dmz-2 (key=***, s3crets)"
    )
