"""The lease holder's duties: poll collectors and keep the store trim.

Shared by `bridge collect` (headless, for a service manager) and a lone console,
which takes the lease itself so the single-user case needs nothing set up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bridge.config.file import Config
from bridge.config.network import DeviceConfig
from bridge.config.records import SecretStr
from bridge.core.clock import Clock
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.lease import DEFAULT_TTL, LeaseKeeper
from bridge.runtime.runner import CollectorRunner
from bridge.store.protocol import Store
from collectors.base import Collector
from collectors.local import LocalCollector

if TYPE_CHECKING:
    from bridge.runtime.schedule_loop import ScheduleLoop
    from collectors.snmp import SnmpTarget

__all__ = ["Poller", "build_collectors"]

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 300.0
RESTART_MAX_S = 60.0
RESTORE_LIMIT = 100_000  # open events read back into the rules when the lease is taken
UNSHELVE_EVERY_S = 5.0


def snmp_target(device: DeviceConfig) -> SnmpTarget:
    """The collector's view of a configured device (secrets unwrapped only here)."""
    from collectors.snmp import SnmpTarget

    def secret(value: SecretStr | None) -> str:
        return value.get_secret_value() if value is not None else ""

    return SnmpTarget(
        name=device.name,
        address=device.address,
        port=device.port,
        version=device.version,
        community=secret(device.community),
        user=device.user or "",
        auth_protocol=(device.auth_protocol or "none").lower(),
        auth_key=secret(device.auth_key),
        priv_protocol=(device.priv_protocol or "none").lower(),
        priv_key=secret(device.priv_key),
        timeout=device.timeout,
        retries=device.retries,
        interval=device.interval,
    )


def build_collectors(config: Config) -> list[Collector]:
    collectors: list[Collector] = []
    # One collector per device: each polls on its own schedule, so a dead or slow
    # device never delays another; they share one engine and a concurrency limit.
    if config.devices:
        # pysnmp costs ~0.2 s and ~12 MB to import: only hosts that poll devices pay it.
        from collectors.snmp import SnmpCollector

        collectors.extend(SnmpCollector(snmp_target(d)) for d in config.devices)
    if config.http_checks:
        from collectors.http import HttpCheckCollector, HttpTarget

        collectors.extend(
            HttpCheckCollector(HttpTarget(**c.model_dump())) for c in config.http_checks
        )
    if (serve := config.wall.serve) is not None:
        from collectors.wall_server import WallServerCollector, WallServerTarget

        # Where [wall.serve] says a wall server runs, its sessions' costs go to the
        # store for every console's Health pane (the server's memory is its own).
        token = serve.token.get_secret_value() if serve.token is not None else None
        target = WallServerTarget(serve.address, serve.port, token, serve.tls_cert)
        collectors.append(WallServerCollector(target))
    if config.local.enabled:
        collectors.append(
            LocalCollector(
                interval=config.local.interval,
                process_interval=config.local.process_interval,
                top=config.local.top_processes,
            )
        )
    return collectors


class Poller:
    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        collectors: Sequence[Collector] | None = None,
        lease_ttl: float = DEFAULT_TTL,
        on_write: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self._collectors = collectors
        self._on_write = on_write
        self._work: asyncio.Task[None] | None = None
        self.schedule: ScheduleLoop | None = None
        self.lease = LeaseKeeper(store, clock, self._start, self._stop, ttl=lease_ttl)
        self._sampled = asyncio.Event()  # the local host's first reading is stored (or none comes)

    @property
    def holds_lease(self) -> bool:
        return self.lease.held

    async def run(self) -> None:
        await self.lease.run()

    async def first_sample(self) -> None:
        """Return once this process's part of the first screen is in the store: after
        the first try for the lease if another process polls, else after the local
        host's first sample (stored, or failed and its health recorded)."""
        await self.lease.first_tick.wait()
        if self.lease.held:
            await self._sampled.wait()

    def _first_run(self, collector: Collector) -> None:
        if isinstance(collector, LocalCollector):
            self._sampled.set()

    def poke_schedule(self) -> None:
        """Evaluate the schedule now (an operator just changed it), if this process holds it."""
        if self.schedule is not None and self.lease.held:
            self.schedule.poke()

    async def _start(self) -> None:
        collectors = (
            list(self._collectors)
            if self._collectors is not None
            else build_collectors(self.config)
        )
        levels = LevelTracker(self.config.local.thresholds.as_table())
        rules = RuleEngine(self.config)
        try:
            open_events = await self.store.list_events(
                limit=RESTORE_LIMIT, keep_unacked_resolved=False
            )
            rules.restore(open_events)
            levels.restore(open_events)
        except Exception as exc:  # a fresh start is worse, but better than none
            log.warning("could not restore rule state from open events: %s", exc)
        if not any(isinstance(c, LocalCollector) for c in collectors):
            self._sampled.set()
        runner = CollectorRunner(
            self.store, collectors, self.clock, levels, rules, self._on_write, self._first_run
        )
        if self.config.jobs or self.config.maintenance:
            # The schedule engine (croniter, calendars) only where there is a schedule.
            from bridge.runtime.schedule_loop import ScheduleLoop

            self.schedule = ScheduleLoop(self.store, self.config, self.clock, rules, self._on_write)
        self._work = asyncio.create_task(self._duties(runner, self.schedule), name="poller")

    async def _duties(self, runner: CollectorRunner, schedule: ScheduleLoop | None) -> None:
        duties: dict[str, Callable[[], Awaitable[None]]] = {
            "collectors": runner.run,
            "prune": self._prune_loop,
            "unshelve": self._unshelve_loop,
        }
        if schedule is not None:
            duties["schedule"] = schedule.run
        if self.config.traps.enabled:
            from bridge.runtime.trap_service import run_trap_receiver

            duties["traps"] = lambda: run_trap_receiver(self.config, self.store, runner, self.clock)
        if self.config.intake.enabled:
            # aiohttp's server: imported only where the intake is enabled.
            from bridge.runtime.intake import run_intake

            duties["intake"] = lambda: run_intake(
                self.config, self.store, runner, self.clock, holds_lease=lambda: self.lease.held
            )
        if self.config.webhooks or self.config.alertmanager.url is not None:
            from bridge.runtime.delivery import OutboxSender

            duties["outbox"] = lambda: OutboxSender(self.store, self.config, self.clock).run()
        async with asyncio.TaskGroup() as group:
            for name, start in duties.items():
                group.create_task(supervised(name, start), name=name)

    async def _prune_loop(self) -> None:
        retention = self.config.store.sample_retention_hours * 3600
        # After the first sample, not beside it: on a large store the DELETE holds
        # the store's thread, and the console's first screen waits on that sample.
        await self._sampled.wait()
        while True:
            try:
                await self.store.prune(self.clock.now(), retention)
            except Exception as exc:
                log.warning("pruning the store failed: %s", exc)
            await asyncio.sleep(PRUNE_EVERY_S)

    async def _unshelve_loop(self) -> None:
        while True:
            try:
                await self.store.unshelve_expired(self.clock.now())
                # Operators' maintenance windows end here too: there may be no schedule duty.
                await self.store.close_expired_windows(self.clock.now())
            except Exception as exc:
                log.warning("unshelving events failed: %s", exc)
            await asyncio.sleep(UNSHELVE_EVERY_S)

    async def _stop(self) -> None:
        if self._work is not None:
            self._work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._work
            self._work = None
        self.schedule = None


async def supervised(
    name: str, start: Callable[[], Awaitable[None]], first_delay: float = 1.0
) -> None:
    """Run one of the lease holder's duties, restarting it with backoff when it fails.

    The duties share one lease: an error in one (a locked database, a bad trap
    port) must not end the others while this process keeps the lease, or
    polling, the schedule and escalation would all stop with nobody to take over.
    """
    delay = first_delay
    while True:
        began = time.monotonic()
        try:
            await start()
            return
        except Exception:
            log.exception("%s failed; restarting in %g s", name, delay)
        if time.monotonic() - began > RESTART_MAX_S:
            delay = first_delay  # it ran a good while: not a crash loop
        await asyncio.sleep(delay)
        delay = min(delay * 2, RESTART_MAX_S)
