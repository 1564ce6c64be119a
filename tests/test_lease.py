"""The collector lease: one holder per store; a killed holder loses it within 10 s.

The second half runs the real `bridge collect` in subprocesses and kills them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import Isolated, Processes, wait_until

from bridge.core.clock import FixedClock, SystemClock
from bridge.runtime.hosts import collector_lease, host_name
from bridge.runtime.lease import LeaseKeeper
from bridge.store import Store, open_store

LEASE_NAME = collector_lease(host_name())  # this host's collector lease

T0 = 1_700_000_000.0
TAKEOVER_LIMIT = 10.0  # the promise: a dead holder's lease moves within this


class Calls:
    """Records on_acquire / on_lose callbacks of a keeper."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def hooks(self) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
        async def acquire() -> None:
            self.log.append("acquire")

        async def lose() -> None:
            self.log.append("lose")

        return acquire, lose


def keeper(
    store: Store, clock: FixedClock | SystemClock, calls: Calls, ttl: float = 6.0
) -> LeaseKeeper:
    acquire, lose = calls.hooks()
    return LeaseKeeper(store, clock, acquire, lose, ttl=ttl)


# -- in-process ---------------------------------------------------------------------------------
async def test_only_one_of_two_keepers_holds(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    store_a, store_b = await open_store(path), await open_store(path)
    try:
        clock = FixedClock(T0)
        calls_a, calls_b = Calls(), Calls()
        a, b = keeper(store_a, clock, calls_a), keeper(store_b, clock, calls_b)
        assert a.holder != b.holder
        for _ in range(3):
            await a.tick()
            await b.tick()
            clock.advance(1.0)
        assert (a.held, b.held) == (True, False)
        assert calls_a.log == ["acquire"]
        assert calls_b.log == []
        lease = await store_b.lease(LEASE_NAME)
        assert lease is not None
        assert lease.holder == a.holder
        assert lease.pid == os.getpid()
    finally:
        await store_a.close()
        await store_b.close()


async def test_lapsed_lease_moves_and_old_holder_learns(store: Store) -> None:
    clock = FixedClock(T0)
    calls_a, calls_b = Calls(), Calls()
    a, b = keeper(store, clock, calls_a), keeper(store, clock, calls_b)
    await a.tick()
    clock.advance(5.9)  # a stops renewing (hung, or dead)
    await b.tick()
    assert not b.held
    clock.advance(0.2)  # past a's expiry
    await b.tick()
    assert b.held
    assert calls_b.log == ["acquire"]
    await a.tick()  # a wakes up: it must notice it lost the lease
    assert not a.held
    assert calls_a.log == ["acquire", "lose"]


async def test_run_releases_the_lease_when_cancelled(store: Store) -> None:
    calls = Calls()
    k = keeper(store, SystemClock(), calls, ttl=3.0)
    task = asyncio.create_task(k.run())
    try:

        async def held() -> bool:
            return k.held

        await wait_until(held, within=5.0, what="the keeper to take the lease")
        assert await store.lease(LEASE_NAME) is not None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert calls.log == ["acquire", "lose"]
    assert await store.lease(LEASE_NAME) is None


# -- the real `bridge collect` ----------------------------------------------------------------
def text_of(log: Path) -> str:
    """A subprocess's log so far (small; read synchronously)."""
    return log.read_text(errors="replace")


def collect_config(isolated: Isolated) -> tuple[Path, Path]:
    db = isolated.root / "collect.db"
    config = isolated.write_config(
        f'[store]\npath = "{db}"\n\n[local]\ninterval = 0.2\nprocess_interval = 60\n',
        name="collect.toml",
    )
    return config, db


async def wait_for_holder_pid(store: Store, proc: subprocess.Popen[str], log: Path) -> None:
    async def holds() -> bool:
        assert proc.poll() is None, f"bridge collect exited early:\n{text_of(log)}"
        lease = await store.lease(LEASE_NAME)
        return lease is not None and lease.pid == proc.pid

    await wait_until(holds, within=20.0, what=f"pid {proc.pid} to hold the lease")


async def test_sigkilled_holder_loses_lease_within_10s(
    isolated: Isolated, processes: Processes
) -> None:
    config, db = collect_config(isolated)
    store = await open_store(db)
    try:
        log = isolated.root / "collect.log"
        proc = processes.bridge(isolated, "--config", str(config), "collect", log=log)
        await wait_for_holder_pid(store, proc, log)

        calls = Calls()
        mine = keeper(store, SystemClock(), calls)
        await mine.tick()
        assert not mine.held, "two holders at once"

        proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert proc.wait(timeout=10) == -signal.SIGKILL
        lease = await store.lease(LEASE_NAME)
        assert lease is not None
        assert lease.pid == proc.pid  # a killed holder cannot release: the row stays

        async def taken() -> bool:
            await mine.tick()
            return mine.held

        await wait_until(taken, within=TAKEOVER_LIMIT, interval=0.1, what="lease takeover")
        took = time.monotonic() - killed
        assert took < TAKEOVER_LIMIT
        lease = await store.lease(LEASE_NAME)
        assert lease is not None
        assert (lease.holder, lease.pid) == (mine.holder, os.getpid())
        assert calls.log == ["acquire"]
    finally:
        await store.close()


async def test_second_bridge_collect_takes_over_from_a_killed_one(
    isolated: Isolated, processes: Processes
) -> None:
    config, db = collect_config(isolated)
    store = await open_store(db)
    try:
        log_a, log_b = isolated.root / "a.log", isolated.root / "b.log"
        first = processes.bridge(isolated, "--config", str(config), "collect", log=log_a)
        await wait_for_holder_pid(store, first, log_a)
        second = processes.bridge(isolated, "--config", str(config), "collect", log=log_b)

        async def second_is_waiting() -> bool:
            assert second.poll() is None, text_of(log_b)
            return "lease holder id" in text_of(log_b)

        await wait_until(second_is_waiting, within=20.0, what="the second collector to start")
        lease = await store.lease(LEASE_NAME)
        assert lease is not None
        assert lease.pid == first.pid  # the second one only waits

        first.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        first.wait(timeout=10)
        await wait_for_holder_pid(store, second, log_b)
        assert time.monotonic() - killed < TAKEOVER_LIMIT
        assert f"took the {LEASE_NAME} lease" in text_of(log_b)
    finally:
        await store.close()


async def test_sigterm_stops_cleanly_releases_lease_and_wrote_snapshots(
    isolated: Isolated, processes: Processes
) -> None:
    config, db = collect_config(isolated)
    store = await open_store(db)
    try:
        log = isolated.root / "collect.log"
        proc = processes.bridge(isolated, "--config", str(config), "collect", log=log)
        await wait_for_holder_pid(store, proc, log)

        async def has_snapshot() -> bool:
            return bool(await store.snapshots("local"))

        await wait_until(has_snapshot, within=20.0, what="a local snapshot")
        (snap,) = await store.snapshots("local")
        assert "cpu" in snap.data
        assert "cpu" in snap.levels
        assert await store.series("local", snap.resource, "cpu", 0)
        health = {h.name: h for h in await store.collector_health()}
        assert health[f"local:{host_name()}"].runs >= 1  # named by its host

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, text_of(log)
        assert await store.lease(LEASE_NAME) is None
        text = text_of(log)
        assert "Traceback" not in text
        assert "stopped" in text
    finally:
        await store.close()


async def test_sigint_also_stops_cleanly(isolated: Isolated, processes: Processes) -> None:
    config, db = collect_config(isolated)
    store = await open_store(db)
    try:
        log = isolated.root / "collect.log"
        proc = processes.bridge(isolated, "--config", str(config), "collect", log=log)
        await wait_for_holder_pid(store, proc, log)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0, text_of(log)
        assert await store.lease(LEASE_NAME) is None
        assert "Traceback" not in text_of(log)
    finally:
        await store.close()
