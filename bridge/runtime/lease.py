"""Leases: exactly one process per host polls (`collector:<host>`), and one per
estate runs each estate-wide duty (a lease named after it); the rest read."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable

from bridge.core.clock import Clock
from bridge.store.protocol import LeaseStore

__all__ = ["LEASE_NAME", "LeaseKeeper", "poller_alive"]

log = logging.getLogger(__name__)

LEASE_NAME = "collector"  # the prefix: a host's collector holds `collector:<host>`
DEFAULT_TTL = 6.0  # a killed holder's lease lapses after this; others retry every ttl/3


async def poller_alive(store: LeaseStore, now: float, host: str | None = None) -> bool:
    """Whether `host`'s collector (this host's by default) holds an unexpired lease:
    heartbeats are not in the change feed, so readers (the console, the wall) ask this
    to see a dead poller."""
    lease = await store.lease(f"{LEASE_NAME}:{host or socket.gethostname()}")
    return lease is not None and lease.expires_at > now


class LeaseKeeper:
    """Takes the lease when it is free and keeps it by heartbeat.

    If renewals fail for a whole TTL the keeper gives the lease up itself, since
    by then another process may rightly have taken it.
    """

    def __init__(
        self,
        store: LeaseStore,
        clock: Clock,
        on_acquire: Callable[[], Awaitable[None]],
        on_lose: Callable[[], Awaitable[None]],
        ttl: float = DEFAULT_TTL,
        name: str | None = None,
        host: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        host = host or socket.gethostname()
        self.name = name or f"{LEASE_NAME}:{host}"
        # os.urandom(4).hex() is what secrets.token_hex(4) returns, without importing
        # secrets (and hmac, hashlib) at the console's start. The host comes first:
        # readers tell from an estate lease's holder which host runs that duty.
        self.holder = f"{host}:{os.getpid()}:{os.urandom(4).hex()}"
        self.held = False
        self._on_acquire = on_acquire
        self._on_lose = on_lose
        self._last_ok = 0.0
        # Set once the first try is over (and, if it took the lease, on_acquire with it).
        self.first_tick = asyncio.Event()

    async def tick(self) -> None:
        try:
            ok = await self.store.try_lease(self.name, self.holder, self.ttl, self.clock.now())
        except Exception as exc:  # the store busy or gone for a moment
            log.warning("%s lease renewal failed: %s", self.name, exc)
            ok = self.held and time.monotonic() - self._last_ok < self.ttl
        else:
            if ok:
                self._last_ok = time.monotonic()
        if ok and not self.held:
            self.held = True
            log.info("took the %s lease as %s", self.name, self.holder)
            await self._on_acquire()
        elif not ok and self.held:
            self.held = False
            log.warning("lost the %s lease", self.name)
            await self._on_lose()
        self.first_tick.set()

    async def run(self) -> None:
        try:
            while True:
                await self.tick()
                await asyncio.sleep(self.ttl / 3)
        finally:
            if self.held:
                self.held = False
                await self._on_lose()
                try:
                    await asyncio.shield(self.store.release_lease(self.name, self.holder))
                except Exception as exc:
                    log.warning("could not release the %s lease: %s", self.name, exc)
