"""SNMP observations become events: link down, error rates, agent restarts, self-health."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from conftest import wait_until
from snmp_agent import (
    SnmpAgent,
    free_udp_port,
    snmp_agent_fixture,  # noqa: F401  (registers the session fixture `snmp_agent`)
)

from bridge.config.file import Config
from bridge.config.network import NetworkConfig
from bridge.core.clock import SystemClock
from bridge.core.models import CollectorHealth, EventState, Severity
from bridge.rules.engine import RuleEngine
from bridge.rules.network import NetworkRules
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.poller import build_collectors
from bridge.runtime.runner import CollectorRunner
from bridge.store import Store, open_store
from collectors.snmp import SnmpCollector, close_shared_engine


def _iface(name: str, admin: str, oper: str, errors: float | None = None) -> dict[str, Any]:
    return {"index": 1, "name": name, "alias": "", "admin": admin, "oper": oper,
            "in_errors": errors, "out_errors": None}  # fmt: skip


def _by_check(obs: list[Any], check: str) -> dict[str, Any]:
    return {o.resource: o for o in obs if o.check == check}


def test_link_down_only_when_admin_up() -> None:
    rules = NetworkRules(NetworkConfig())
    detail = {"interfaces": [_iface("Gi1", "up", "down"), _iface("Gi2", "down", "down"),
                             _iface("Gi3", "up", "up"), _iface("Gi4", "up", "lowerLayerDown")]}  # fmt: skip
    links = _by_check(rules.observations("sw", 1.0, detail), "oper-status")
    assert links["sw/Gi1"].severity is Severity.MAJOR
    assert "admin up" in links["sw/Gi1"].summary
    assert links["sw/Gi2"].severity is Severity.OK  # an operator took it down on purpose
    assert links["sw/Gi3"].severity is Severity.OK
    assert links["sw/Gi4"].severity is Severity.MAJOR


def test_error_rate_thresholds_hold_with_hysteresis() -> None:
    config = NetworkConfig.model_validate(
        {"error_rate": {"warning": 5, "critical": 50, "hysteresis": 2}}
    )
    rules = NetworkRules(config)

    def level(errors: float) -> Severity:
        detail = {"interfaces": [_iface("Gi1", "up", "up", errors)]}
        severity: Severity = _by_check(rules.observations("sw", 1.0, detail), "errors")[
            "sw/Gi1"
        ].severity
        return severity

    assert [level(e) for e in (1, 5, 4, 2.9, 60, 49)] == [
        Severity.OK, Severity.WARNING, Severity.WARNING, Severity.OK,
        Severity.CRITICAL, Severity.CRITICAL,
    ]  # fmt: skip


def test_restart_raises_the_configured_severity_and_clears() -> None:
    rules = NetworkRules(NetworkConfig(restart="info"))
    (restart,) = [
        o for o in rules.observations("sw", 1.0, {"restarted": True, "sysUpTime": 42.0})
        if o.check == "restart"
    ]  # fmt: skip
    assert restart.severity is Severity.INFO and "restarted (up 42 s)" in restart.summary
    (steady,) = [o for o in rules.observations("sw", 2.0, {}) if o.check == "restart"]
    assert steady.severity is Severity.OK


def _config(agent: SnmpAgent, **network: Any) -> Config:
    return Config.model_validate(
        {
            "local": {"enabled": False},
            "network": network,
            "devices": [{"name": "switch48", "address": agent.host, "port": agent.port,
                         "community": "switch48", "timeout": 1.0, "retries": 0}],
        }
    )  # fmt: skip


def _runner(store: Store, config: Config) -> tuple[CollectorRunner, SnmpCollector]:
    (collector,) = build_collectors(config)
    assert isinstance(collector, SnmpCollector)
    runner = CollectorRunner(
        store, [collector], SystemClock(), LevelTracker({}), RuleEngine(config)
    )
    return runner, collector


async def test_a_polled_switch_raises_link_down_and_error_events(
    snmp_agent: SnmpAgent, tmp_path: Path
) -> None:
    config = _config(snmp_agent, error_rate={"warning": 1, "critical": 1000, "hysteresis": 0})
    store = await open_store(tmp_path / "bridge.db")
    try:
        runner, collector = _runner(store, config)
        health = CollectorHealth(collector.name, collector.interval)

        async def errors_seen() -> bool:
            # snmpsim moves its error counters 2/s in whole steps: two polls inside the
            # same step see no errors, so poll until a rate shows (bounded).
            nonlocal health
            health = await runner.run_once(collector, health)
            return await store.find_event("snmp|switch48/Gi1/0/1|errors") is not None

        await wait_until(errors_seen, 10, interval=0.2, what="an error-rate event")
        events = await store.list_events(limit=1000)
        down = sorted(e.resource for e in events if e.check == "oper-status")
        # The recording has ports 41-48 admin up and oper down.
        assert down == [f"switch48/Gi1/0/{n}" for n in range(41, 49)]
        assert all(e.severity is Severity.MAJOR for e in events if e.check == "oper-status")
        errors = [e for e in events if e.check == "errors"]
        assert errors and all(e.severity is Severity.WARNING for e in errors)
        assert all(e.resource.startswith("switch48/") for e in errors)
        assert await store.find_event("snmp|switch48|restart") is None
    finally:
        await store.close()
        close_shared_engine()


async def test_an_agent_restart_raises_then_resolves(snmp_agent: SnmpAgent, tmp_path: Path) -> None:
    config = _config(snmp_agent)
    store = await open_store(tmp_path / "bridge.db")
    try:
        (collector,) = build_collectors(config)
        assert isinstance(collector, SnmpCollector)
        runner = CollectorRunner(
            store, [collector], SystemClock(), LevelTracker({}), RuleEngine(config)
        )
        health = await runner.run_once(collector, CollectorHealth(collector.name, 1.0))
        # The fault: the agent's clock jumped back, as after a reboot. snmpsim cannot
        # restart its uptime on demand, so the remembered uptime is moved ahead instead.
        previous = collector._previous
        assert previous is not None and previous.uptime is not None
        collector._previous = replace(previous, uptime=previous.uptime + 10**7)
        health = await runner.run_once(collector, health)
        event = await store.find_event("snmp|switch48|restart")
        assert event is not None and event.severity is Severity.WARNING
        assert "agent restarted" in event.summary
        await runner.run_once(collector, health)
        event = await store.find_event("snmp|switch48|restart")
        assert event is not None and event.state is EventState.RESOLVED
    finally:
        await store.close()
        close_shared_engine()


async def test_self_health_counts_timeouts_and_backs_off(tmp_path: Path) -> None:
    config = Config.model_validate(
        {"local": {"enabled": False},
         "devices": [{"name": "dead", "address": "127.0.0.1", "port": free_udp_port(),
                      "timeout": 0.2, "retries": 0, "interval": 5}]}
    )  # fmt: skip
    store = await open_store(tmp_path / "bridge.db")
    try:
        (collector,) = build_collectors(config)
        runner = CollectorRunner(
            store, [collector], SystemClock(), LevelTracker({}), RuleEngine(config)
        )
        health = CollectorHealth(collector.name, collector.interval)
        for _ in range(3):
            health = await runner.run_once(collector, health)
        (stored,) = await store.collector_health()
        assert (stored.timeouts, stored.consecutive_failures, stored.backoff) == (3, 3, 4.0)
        assert stored.last_success is None and stored.stale(SystemClock().now(), 3)
        fresh = replace(stored, last_success=100.0)
        assert not fresh.stale(100.0 + 5 * 3, 3) and fresh.stale(100.0 + 5 * 3 + 1, 3)
    finally:
        await store.close()
        close_shared_engine()
