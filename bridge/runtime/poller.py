"""A host collector's duties: poll its collectors, and the estate-wide duties whose
leases it holds (the schedule, delivery, traps, the intake, shared devices, trimming).

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
from bridge.runtime.hosts import COLLECTOR_SOURCE, host_name
from bridge.runtime.lease import DEFAULT_TTL, LeaseKeeper
from bridge.runtime.runner import CollectorRunner
from bridge.store.protocol import Store
from collectors.base import Collector, Reading
from collectors.local import LocalCollector

if TYPE_CHECKING:
    from bridge.runtime.schedule_loop import ScheduleLoop
    from collectors.snmp import SnmpTarget

__all__ = ["EstateDuty", "Poller", "build_collectors"]

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


def build_collectors(
    config: Config, host: str | None = None, *, assigned: bool | None = None
) -> list[Collector]:
    """The collectors one host runs. With `assigned` True: the local host's and the
    devices given to `host` (`poller = "<host>"`); False: the devices no host was given
    and the HTTP checks (the estate's, under the `snmp` and `http` leases); None: all."""
    collectors: list[Collector] = []
    devices = [
        d
        for d in config.devices
        if assigned is None or (d.poller == host if assigned else d.poller is None)
    ]
    # One collector per device: each polls on its own schedule, so a dead or slow
    # device never delays another; they share one engine and a concurrency limit.
    if devices:
        # pysnmp costs ~0.2 s and ~12 MB to import: only hosts that poll devices pay it.
        from collectors.snmp import SnmpCollector

        collectors.extend(SnmpCollector(snmp_target(d)) for d in devices)
    if config.http_checks and assigned is not True:
        from collectors.http import HttpCheckCollector, HttpTarget

        collectors.extend(
            HttpCheckCollector(HttpTarget(**c.model_dump())) for c in config.http_checks
        )
    if (serve := config.wall.serve) is not None and assigned is not False:
        from collectors.wall_server import WallServerCollector, WallServerTarget

        # Where [wall.serve] says a wall server runs, its sessions' costs go to the
        # store for every console's Health pane (the server's memory is its own).
        # The host's own duty: the server listens where this host's config says.
        token = serve.token.get_secret_value() if serve.token is not None else None
        target = WallServerTarget(serve.address, serve.port, token, serve.tls_cert)
        collectors.append(WallServerCollector(target))
    if config.local.enabled and assigned is not False:
        collectors.append(
            LocalCollector(
                interval=config.local.interval,
                process_interval=config.local.process_interval,
                top=config.local.top_processes,
                hostname=host,
            )
        )
    return collectors


class Poller:
    """A host's collector: its own lease (`collector:<host>`) for its local stats and
    the devices given to it; while it holds that, it contends for each estate-wide
    duty's lease too, so a duty whose holder died moves to another host's collector."""

    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        collectors: Sequence[Collector] | None = None,
        lease_ttl: float = DEFAULT_TTL,
        on_write: Callable[[], None] | None = None,
        host: str | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.host = host or host_name(config)
        self._collectors = collectors
        self._on_write = on_write
        self._lease_ttl = lease_ttl
        self._work: asyncio.Task[None] | None = None
        self.schedule: ScheduleLoop | None = None
        self.lease = LeaseKeeper(
            store, clock, self._start, self._stop, ttl=lease_ttl, host=self.host
        )
        # The estate-wide duties' leases, made when the host's lease is taken.
        self.estate: dict[str, LeaseKeeper] = {}
        self._sampled = asyncio.Event()  # the local host's first reading is stored (or none comes)

    @property
    def holds_lease(self) -> bool:
        return self.lease.held

    def holds(self, duty: str) -> bool:
        """Whether this process runs the estate-wide `duty` now."""
        keeper = self.estate.get(duty)
        return self.lease.held and keeper is not None and keeper.held

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
        if self.schedule is not None and self.holds("schedule"):
            self.schedule.poke()

    async def _start(self) -> None:
        explicit = self._collectors is not None
        collectors = (
            list(self._collectors)
            if self._collectors is not None
            else build_collectors(self.config, self.host, assigned=True)
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
        estate = {} if explicit else self._estate_collectors()

        def estate_runner(name: str) -> Callable[[], Awaitable[None]]:
            return CollectorRunner(
                self.store, estate[name], self.clock, levels, rules, self._on_write
            ).run

        duties: dict[str, Callable[[], Awaitable[None]]] = {"housekeeping": self._housekeeping}
        if self.config.jobs or self.config.maintenance:
            duties["schedule"] = lambda: self._schedule_duty(rules)
        if self.config.traps.enabled:
            from bridge.runtime.trap_service import run_trap_receiver

            duties["traps"] = lambda: run_trap_receiver(self.config, self.store, runner, self.clock)
        if self.config.intake.enabled:
            # aiohttp's server: imported only where the intake is enabled.
            from bridge.runtime.intake import run_intake

            duties["intake"] = lambda: run_intake(
                self.config,
                self.store,
                runner,
                self.clock,
                holds_lease=lambda: self.holds("intake"),
            )
        if self.config.webhooks or self.config.alertmanager.url is not None:
            from bridge.runtime.delivery import OutboxSender

            duties["outbox"] = lambda: OutboxSender(self.store, self.config, self.clock).run()
        for name in estate:
            duties[name] = estate_runner(name)
        self.estate = {name: EstateDuty(self, name, start).keeper for name, start in duties.items()}
        self._work = asyncio.create_task(self._duties(runner), name="poller")

    def _estate_collectors(self) -> dict[str, list[Collector]]:
        """The devices no host was given (`snmp`) and the HTTP checks (`http`)."""
        shared = build_collectors(self.config, self.host, assigned=False)
        by_lease: dict[str, list[Collector]] = {}
        for collector in shared:
            lease = "http" if collector.name.startswith("http:") else "snmp"
            by_lease.setdefault(lease, []).append(collector)
        return by_lease

    async def _schedule_duty(self, rules: RuleEngine) -> None:
        # The schedule engine (croniter, calendars) only where there is a schedule.
        from bridge.runtime.schedule_loop import ScheduleLoop

        self.schedule = ScheduleLoop(self.store, self.config, self.clock, rules, self._on_write)
        try:
            await self.schedule.run()
        finally:
            self.schedule = None

    async def _duties(self, runner: CollectorRunner) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(supervised("collectors", runner.run), name="collectors")
            group.create_task(self._announce(), name="announce")
            for name, keeper in self.estate.items():
                group.create_task(keeper.run(), name=f"lease:{name}")

    async def _announce(self) -> None:
        """Say in the store that this host has a collector, and which estate duties it
        runs, whenever that changes: readers list hosts from these snapshots."""
        said: tuple[str, ...] | None = None
        while True:
            held = tuple(name for name, keeper in self.estate.items() if keeper.held)
            if held != said:
                try:
                    await self.store.write_reading(
                        Reading(
                            source=COLLECTOR_SOURCE,
                            resource=self.host,
                            at=self.clock.now(),
                            detail={"holder": self.lease.holder, "duties": list(held)},
                        ),
                        {},
                    )
                    said = held
                    if self._on_write is not None:
                        self._on_write()
                except Exception as exc:
                    log.warning("announcing this host's collector failed: %s", exc)
            await asyncio.sleep(self._lease_ttl / 3)

    async def _housekeeping(self) -> None:
        """Pruning and unshelving: estate-wide, so once for the estate."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._prune_loop())
            group.create_task(self._unshelve_loop())

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
        self.estate = {}


class EstateDuty:
    """One estate-wide duty under its own lease: started when this collector takes
    the lease, stopped when it loses it (another host's collector then runs it)."""

    def __init__(self, poller: Poller, name: str, start: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._start = start
        self._task: asyncio.Task[None] | None = None
        self.keeper = LeaseKeeper(
            poller.store,
            poller.clock,
            self._acquired,
            self._lost,
            ttl=poller.lease.ttl,
            name=name,
            host=poller.host,
        )

    async def _acquired(self) -> None:
        self._task = asyncio.create_task(supervised(self.name, self._start), name=self.name)

    async def _lost(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


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
