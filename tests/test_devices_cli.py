"""`bridge devices [--json]` as scripts use it: a real store filled by polling a real
agent (snmpsim on 127.0.0.1), read back by the real CLI in a subprocess."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from conftest import Isolated, run_bridge
from snmp_agent import (
    SnmpAgent,
    free_udp_port,
    snmp_agent_fixture,  # noqa: F401  (registers the session fixture `snmp_agent`)
)

from bridge.config.file import load_config
from bridge.core.clock import Clock, FixedClock, SystemClock
from bridge.core.models import CollectorHealth
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.poller import build_collectors
from bridge.runtime.runner import CollectorRunner
from bridge.store import open_store
from collectors.snmp import close_shared_engine

SECRETS = ("s3cret-community", "v3-auth-secret", "v3-priv-secret", "trap-community-secret")


def _write_config(isolated: Isolated, agent: SnmpAgent, dead_port: int) -> Path:
    db = isolated.root / "bridge.db"
    return isolated.write_config(
        f"""
[store]
path = "{db}"
[local]
enabled = false
[traps]
communities = ["trap-community-secret"]

[[devices]]
name = "switch48"
address = "{agent.host}"
port = {agent.port}
community = "switch48"
timeout = 1.0
retries = 0
interval = 60

[[devices]]
name = "dead"
address = "127.0.0.1"
port = {dead_port}
community = "s3cret-community"
timeout = 0.2
retries = 0

[[devices]]
name = "v3-router"
address = "127.0.0.1"
port = {dead_port}
version = "3"
user = "ops"
auth_protocol = "SHA256"
auth_key = "v3-auth-secret"
priv_protocol = "AES"
priv_key = "v3-priv-secret"
"""
    )


async def _poll(config_path: Path, names: set[str], times: int, clock: Clock) -> None:
    config, _ = load_config(str(config_path))
    store = await open_store(config.store.resolved_path())
    try:
        collectors = [c for c in build_collectors(config) if c.name.split(":", 1)[1] in names]
        runner = CollectorRunner(store, collectors, clock, LevelTracker({}), RuleEngine(config))
        for collector in collectors:
            health = CollectorHealth(collector.name, collector.interval)
            for _ in range(times):
                health = await runner.run_once(collector, health)
    finally:
        await store.close()
        close_shared_engine()


def _devices(isolated: Isolated, config: Path) -> dict[str, dict[str, Any]]:
    result = run_bridge(isolated, "--config", str(config), "devices", "--json")
    assert result.returncode == 0, result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout
    return {d["name"]: d for d in json.loads(result.stdout)}


async def test_devices_before_and_after_polling(isolated: Isolated, snmp_agent: SnmpAgent) -> None:
    config = _write_config(isolated, snmp_agent, free_udp_port())
    before = _devices(isolated, config)
    assert [d["status"] for d in before.values()] == ["never polled"] * 3
    assert before["switch48"]["address"] == f"{snmp_agent.host}:{snmp_agent.port}"

    await _poll(config, {"switch48", "dead"}, 2, SystemClock())
    after = _devices(isolated, config)
    sw = after["switch48"]
    assert (sw["status"], sw["stale"]) == ("up", False)
    assert sw["sys_name"] == "sw-access-48"
    assert (sw["if_up"], sw["if_down"]) == (40, 8)
    assert sw["in_bps"] > 0 and sw["out_bps"] > 0 and sw["sys_uptime"] > 0
    assert sw["last_success"] == sw["last_poll"]
    dead = after["dead"]
    assert (dead["status"], dead["consecutive_failures"], dead["timeouts"]) == ("unreachable", 2, 2)
    assert dead["last_success"] is None and dead["backoff"] == 2.0
    assert after["v3-router"]["status"] == "never polled"

    table = run_bridge(isolated, "--config", str(config), "devices")
    assert table.returncode == 0, table.stderr
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
    assert "up" in lines["switch48"] and "sw-access-48" in lines["switch48"]
    assert "40/8" in lines["switch48"]
    assert "unreachable" in lines["dead"] and "never polled" in lines["v3-router"]
    for secret in SECRETS:
        assert secret not in table.stdout

    checked = run_bridge(isolated, "--config", str(config), "check-config")
    assert checked.returncode == 0, checked.stderr
    for secret in SECRETS:
        assert secret not in checked.stdout + checked.stderr


async def test_a_device_not_polled_lately_is_stale(
    isolated: Isolated, snmp_agent: SnmpAgent
) -> None:
    config = _write_config(isolated, snmp_agent, free_udp_port())
    await _poll(config, {"switch48"}, 1, FixedClock(time.time() - 3600))
    sw = _devices(isolated, config)["switch48"]
    assert (sw["status"], sw["stale"]) == ("up", True)
    table = run_bridge(isolated, "--config", str(config), "devices")
    assert "up (stale)" in table.stdout
