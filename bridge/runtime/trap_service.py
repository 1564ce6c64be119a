"""The lease holder's trap receiver: listen, turn traps into observations, record health.

Runs beside the collectors under the poller; its self-health is the collector
`traps` (last trap, how many, a bind failure), so a receiver that cannot listen
is visible rather than silent. It retries the bind, since the port may be held
by a previous holder for a moment. What it received and what it could not use
(malformed or refused datagrams, per sender) is the snapshot `traps/receiver`,
which `bridge devices` and the health pane show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from bridge.config.file import Config
from bridge.config.records import SecretStr
from bridge.core.clock import Clock
from bridge.core.models import CollectorHealth
from bridge.rules.traps import TrapRules
from bridge.runtime.runner import CollectorRunner
from bridge.store.protocol import Store
from collectors.base import Reading

if TYPE_CHECKING:
    from collectors.traps import Trap, TrapReceiver, TrapUser

__all__ = [
    "HEALTH_NAME",
    "STATS_RESOURCE",
    "STATS_SOURCE",
    "receiver_summary",
    "run_trap_receiver",
    "trap_users",
]

log = logging.getLogger(__name__)

HEALTH_NAME = "traps"
RETRY_BIND_S = 10.0
DECODE_SLICE = 250  # datagrams decoded between two turns of the loop
BATCH_LIMIT = 2_000  # traps stored in one transaction at most
HEALTH_EVERY_S = 1.0  # the self-health is written at least this often during a storm
STATS_SOURCE, STATS_RESOURCE = "traps", "receiver"
STATS_EVERY_S = 2.0  # the receiver's counters are written at most this often, when they change


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def trap_users(config: Config) -> list[TrapUser]:
    from collectors.traps import TrapUser

    return [
        TrapUser(
            user=u.user,
            auth_protocol=u.auth_protocol.lower(),
            auth_key=_secret(u.auth_key),
            priv_protocol=(u.priv_protocol or "none").lower(),
            priv_key=_secret(u.priv_key),
            engine_id=u.engine_id,
        )
        for u in config.traps.users
    ]


def receiver_stats(
    receiver: TrapReceiver, dropped: int, kernel_drops: int | None
) -> dict[str, object]:
    """The receiver's counters as the `traps/receiver` snapshot holds them."""
    return {
        "kernel_drops": kernel_drops,  # lost before the receiver saw them (None: unknown)
        "receive_buffer": receiver.granted_buffer,
        "received": receiver.received,
        "malformed": receiver.malformed,
        "rejected": receiver.rejected,
        "dropped": dropped,  # read, but not kept (a storm beyond what may wait)
        "senders": receiver.senders(100),
    }


def receiver_summary(data: dict[str, object]) -> tuple[str, bool]:
    """One line about the receiver for the health pane (problems first, it may be cut
    short), and whether it tells of a problem."""

    def number(key: str) -> int:
        value = data.get(key)
        return value if isinstance(value, int) else 0

    parts = []
    if number("kernel_drops"):
        parts.append(f"{number('kernel_drops')} lost (receive buffer full)")
    if number("malformed"):
        parts.append(f"{number('malformed')} malformed")
    if number("rejected"):
        parts.append(f"{number('rejected')} refused")
    if number("dropped"):
        parts.append(f"{number('dropped')} not kept")
    problem = bool(parts)
    senders = data.get("senders")
    if number("malformed") + number("rejected") and isinstance(senders, dict) and senders:
        parts[-1] += f" (most from {next(iter(senders))})"
    parts.append(f"{number('received')} received")
    return "traps: " + ", ".join(parts), problem


async def run_trap_receiver(
    config: Config,
    store: Store,
    runner: CollectorRunner,
    clock: Clock,
    *,
    ready: asyncio.Event | None = None,
    stats_every: float = STATS_EVERY_S,
) -> None:
    """Receive until cancelled. `ready` is set once the port is bound."""
    from collectors.traps import TrapReceiver

    settings = config.traps
    health = CollectorHealth(HEALTH_NAME, interval=RETRY_BIND_S)
    waiting = asyncio.Event()
    # Pull mode: datagrams wait undecoded until this loop is ready for them.
    receiver = TrapReceiver(
        settings.address,
        settings.port,
        None,
        communities=[_secret(c) for c in settings.communities],
        users=trap_users(config),
        receive_buffer=settings.receive_buffer,
        on_pending=waiting.set,
    )
    while True:
        try:
            await receiver.start()
            break
        except Exception as exc:  # never take the poller down with the receiver
            log.warning("trap receiver: %s; retrying in %g s", exc, RETRY_BIND_S)
            health = replace(
                health,
                last_run=clock.now(),
                errors=health.errors + 1,
                consecutive_failures=health.consecutive_failures + 1,
                last_error=str(exc)[:300],
            )
            await store.record_health(health)
            await asyncio.sleep(RETRY_BIND_S)
    health = replace(health, last_run=clock.now(), consecutive_failures=0, last_error=None)
    await store.record_health(health)
    if ready is not None:
        ready.set()
    rules = TrapRules(config, lambda device: store.snapshot("snmp", device))

    async def publish() -> None:
        """The counters, when they change: junk alone never wakes the trap loop below,
        and traps the kernel dropped never reach it at all."""
        nonlocal health
        written: dict[str, object] | None = None
        lost = 0
        while True:
            drops = receiver.kernel_drops()
            if drops is not None and drops > lost:
                health = replace(
                    health, last_run=clock.now(), errors=health.errors + drops - lost,
                    last_error=f"{drops} traps lost in the kernel: its receive buffer "
                    f"({receiver.granted_buffer} bytes, [traps] receive_buffer) was full",
                )  # fmt: skip
                lost = drops
                await store.record_health(health)
            stats = receiver_stats(receiver, receiver.overflow, drops)
            if stats != written:
                try:
                    await store.write_reading(
                        Reading(STATS_SOURCE, STATS_RESOURCE, clock.now(), detail=stats), {}
                    )
                    written = stats
                except Exception as exc:
                    log.warning("trap receiver: counters not recorded: %s", exc)
                if runner.on_write is not None:
                    runner.on_write()
            await asyncio.sleep(stats_every)

    async def store_batch(batch: list[Trap]) -> None:
        """Observe and store a batch; health is read after each await (publish()
        changes it meanwhile) and updated in place."""
        nonlocal health
        now = clock.now()
        try:
            await runner.observe(await rules.observations_of(batch, now))
            health = replace(health, last_run=now, last_success=now, runs=health.runs + len(batch))
            return
        except Exception:  # one bad trap must not cost the batch: one by one, then
            pass
        for trap in batch:
            try:
                await runner.observe(await rules.observations(trap, now))
                health = replace(health, last_run=now, last_success=now, runs=health.runs + 1)
            except Exception as exc:
                log.warning("trap from %s not recorded: %s", trap.address, exc)
                health = replace(health, last_run=now, errors=health.errors + 1,
                                 last_error=str(exc)[:300])  # fmt: skip

    publisher = asyncio.create_task(publish(), name="trap-counters")
    health_at = float("-inf")
    overflow = 0
    try:
        while True:
            await waiting.wait()
            waiting.clear()
            while receiver.pending:
                # Everything waiting is one batch: one store transaction, and a
                # device's last poll read once, for a burst of any size. Decoded a
                # slice at a time, so the loop (the console's, too) gets its turns.
                batch: list[Trap] = []
                while receiver.pending and len(batch) < BATCH_LIMIT:
                    batch += receiver.take(DECODE_SLICE)
                    await asyncio.sleep(0)
                if batch:
                    await store_batch(batch)
                if receiver.overflow > overflow:
                    health = replace(health, errors=health.errors + receiver.overflow - overflow,
                                     last_error=f"{receiver.overflow} traps not kept in a storm "
                                     "(more were waiting than the receiver keeps)")  # fmt: skip
                    overflow = receiver.overflow
                # Health once a burst is over, or every second through a long one.
                if not receiver.pending or time.monotonic() - health_at >= HEALTH_EVERY_S:
                    health_at = time.monotonic()
                    await store.record_health(health)
                    if runner.on_write is not None:
                        runner.on_write()
    finally:
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await publisher
        with contextlib.suppress(Exception):
            await receiver.close()
