"""Runs collectors on their own schedules and writes what they read to the store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bridge.core.clock import Clock
from bridge.core.models import CollectorHealth, Severity
from bridge.rules.engine import Observation, RuleEngine, threshold_observations
from bridge.rules.network import NetworkRules
from bridge.rules.reported import reported_observations
from bridge.rules.thresholds import LevelTracker
from bridge.store.protocol import Store
from collectors.base import Collector, Reading

__all__ = ["CollectorRunner", "until_next_multiple"]

log = logging.getLogger(__name__)

MAX_BACKOFF = 8  # a failing collector waits at most this many intervals between tries


def _evidence(reading: Reading) -> dict[str, Any]:
    """What explains a host metric's event later: every value and the top processes now."""
    procs = reading.detail.get("processes") or {}
    return {
        "at": reading.at,
        "metrics": dict(reading.metrics),
        "top_cpu": list(procs.get("by_cpu", []))[:5],
        "top_memory": list(procs.get("by_mem", []))[:5],
    }


def until_next_multiple(now: float, period: float) -> float:
    """Seconds from `now` to the next whole multiple of `period` that is at least
    half a period away: a run that ended just before a boundary skips it rather
    than run again at once."""
    wait = period - now % period
    return wait + period if wait < period / 2 else wait


def backoff_for(consecutive_failures: int) -> float:
    """How many intervals to wait before the next try: doubling while failing, bounded."""
    return float(min(2 ** max(0, consecutive_failures - 1), MAX_BACKOFF))


class CollectorRunner:
    """One task per collector, each rescheduling only after its previous run ends.

    So refreshes never overlap, and one slow or failing collector never delays another.
    """

    def __init__(
        self,
        store: Store,
        collectors: Sequence[Collector],
        clock: Clock,
        levels: LevelTracker,
        rules: RuleEngine,
        on_write: Callable[[], None] | None = None,
        on_first_run: Callable[[Collector], None] | None = None,
    ) -> None:
        self.store = store
        self.collectors = list(collectors)
        self.clock = clock
        self.levels = levels
        self.rules = rules
        self.on_write = on_write
        self.on_first_run = on_first_run
        self.network = NetworkRules(rules.config.network)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for collector in self.collectors:
                group.create_task(self._loop(collector), name=f"collector:{collector.name}")

    async def run_once(self, collector: Collector, health: CollectorHealth) -> CollectorHealth:
        at = self.clock.now()
        started = time.perf_counter()
        try:
            # A hung source must not hang its loop forever.
            readings = await asyncio.wait_for(
                collector.collect(), max(10.0, collector.interval * 3)
            )
            for reading in readings:
                await self._record(reading)
        except Exception as exc:  # any failure of a source is data, not a crash
            log.warning("collector %s failed: %s", collector.name, exc)
            await self._reachable(collector, at, False, f"{type(exc).__name__}: {exc}")
            failures = health.consecutive_failures + 1
            health = replace(
                health,
                last_run=at,
                runs=health.runs + 1,
                errors=health.errors + 1,
                timeouts=health.timeouts + isinstance(exc, TimeoutError),
                consecutive_failures=failures,
                backoff=backoff_for(failures),
                last_error=f"{type(exc).__name__}: {exc}"[:300],
            )
        else:
            await self._reachable(collector, at, True, "")
            health = replace(
                health,
                last_run=at,
                last_success=at,
                latency_ms=(time.perf_counter() - started) * 1000,
                runs=health.runs + 1,
                consecutive_failures=0,
                backoff=1.0,
            )
        await self.store.record_health(health)
        if self.on_write is not None:
            self.on_write()
        return health

    async def _reachable(self, collector: Collector, at: float, ok: bool, why: str) -> None:
        """Unreachable / reachable again, as a state-change observation through the rules."""
        if collector.reachability is None:
            return
        source, resource = collector.reachability
        observation = Observation(
            source,
            resource,
            "reachability",
            Severity.OK if ok else Severity.MAJOR,
            f"{resource} answers again" if ok else f"{resource} unreachable: {why}"[:300],
            at,
            held_while_flapping=False,  # each poll's answer: the device table shows the same
        )
        events = self.rules.process([observation])
        if events:
            try:
                await self.store.upsert_events(events, actor="bridge")
            except Exception as exc:
                log.warning("recording reachability of %s failed: %s", resource, exc)

    async def _record(self, reading: Reading) -> None:
        levels = self.levels.evaluate(reading.resource, reading.metrics)
        await self.store.write_reading(
            reading, {metric: level.label for metric, level in levels.items()}
        )
        observations = threshold_observations(
            reading.source,
            reading.resource,
            reading.at,
            reading.metrics,
            levels,
            self.levels.thresholds,
            evidence=_evidence(reading) if any(levels.values()) else None,
        )
        observations += reported_observations(reading)
        if reading.source == "snmp":
            observations += self.network.observations(reading.resource, reading.at, reading.detail)
        await self.observe(observations)

    async def observe(self, observations: Sequence[Observation]) -> None:
        """Observations from outside a poll (traps) go through the same rules, so
        a trap-raised condition is resolved by the poll that sees it clear."""
        events = self.rules.process(observations)
        if events:
            await self.store.upsert_events(events, actor="bridge")

    async def _loop(self, collector: Collector) -> None:
        health = CollectorHealth(name=collector.name, interval=collector.interval)
        try:
            while True:
                started = time.monotonic()
                health = await self.run_once(collector, health)
                if health.runs == 1 and self.on_first_run is not None:
                    self.on_first_run(collector)
                period = collector.interval * health.backoff
                if collector.on_the_clock:
                    delay = until_next_multiple(self.clock.now(), period)
                else:
                    delay = period - (time.monotonic() - started)
                await asyncio.sleep(max(0.0, delay))
        finally:
            await collector.close()
