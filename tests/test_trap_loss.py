"""Loss on the trap port is visible: a flood beyond the socket's receive buffer is
dropped by the kernel, and the receiver counts exactly what it lost (/proc/net/udp)
and says so in its health; the buffer is asked for as [traps] receive_buffer says."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from pathlib import Path

from conftest import wait_until

from bridge.config.file import Config
from bridge.core.clock import SystemClock
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.runner import CollectorRunner
from bridge.runtime.trap_service import (
    HEALTH_NAME,
    STATS_RESOURCE,
    STATS_SOURCE,
    receiver_summary,
    run_trap_receiver,
)
from bridge.store import open_store
from collectors.traps import DEFAULT_RECEIVE_BUFFER, Trap, TrapReceiver

# A v2c linkDown trap as net-snmp's snmptrap sends it (community traps-s3cret).
TRAP = bytes.fromhex(
    "305c020101040c74726170732d733363726574a749020466f4d76a020100020100303b300f06082b060102"
    "0101030043030118713017060a2b06010603010104010006092b0601060301010503300f060a2b06010201"
    "0202010107020107"
)
RMEM_MAX = Path("/proc/sys/net/core/rmem_max")


def burst(port: int, count: int) -> None:
    """`count` traps at once, without giving the loop (the receiver) a turn."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(count):
            s.sendto(TRAP, ("127.0.0.1", port))


async def test_the_kernel_drops_are_counted_exactly() -> None:
    got: list[Trap] = []
    r = TrapReceiver("127.0.0.1", 0, got.append, communities=["traps-s3cret"],
                     receive_buffer=8192)  # fmt: skip
    await r.start()
    try:
        assert r.granted_buffer == 8192 and r.kernel_drops() == 0
        burst(r.bound_port, 2000)

        async def accounted() -> bool:
            return len(got) + (r.kernel_drops() or 0) == 2000

        await wait_until(accounted, 5, what="every trap received or counted as lost")
        assert 0 < len(got) < 1000 and (r.kernel_drops() or 0) > 1000
    finally:
        await r.close()
    default = TrapReceiver("127.0.0.1", 0, got.append)
    await default.start()
    try:
        rmem_max = int(RMEM_MAX.read_text())  # noqa: ASYNC240  (a tiny /proc read)
        assert default.granted_buffer == min(DEFAULT_RECEIVE_BUFFER, rmem_max)
    finally:
        await default.close()


async def test_a_flood_lost_in_the_kernel_shows_in_the_receivers_health(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config.model_validate(
        {"local": {"enabled": False},
         "traps": {"enabled": True, "port": port, "communities": ["traps-s3cret"],
                   "receive_buffer": 65536}}
    )  # fmt: skip
    store = await open_store(tmp_path / "bridge.db")
    runner = CollectorRunner(store, [], SystemClock(), LevelTracker({}), RuleEngine(config))
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_trap_receiver(config, store, runner, SystemClock(), ready=ready, stats_every=0.05)
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        burst(port, 5000)

        async def reported() -> bool:
            snap = await store.snapshot(STATS_SOURCE, STATS_RESOURCE)
            return (
                snap is not None
                and (snap.data["kernel_drops"] or 0) + snap.data["received"] == 5000
            )

        await wait_until(reported, 10, what="the flood accounted for")
        snap = await store.snapshot(STATS_SOURCE, STATS_RESOURCE)
        assert snap is not None
        lost = snap.data["kernel_drops"]
        assert lost > 1000 and snap.data["receive_buffer"] == 65536
        line, problem = receiver_summary(snap.data)
        assert problem and line.startswith(f"traps: {lost} lost (receive buffer full)")

        async def in_health() -> bool:
            found = [h for h in await store.collector_health() if h.name == HEALTH_NAME]
            return bool(found) and found[0].errors >= lost

        await wait_until(in_health, 5, what="the loss in the receiver's health")
        (health,) = [h for h in await store.collector_health() if h.name == HEALTH_NAME]
        assert f"{lost} traps lost in the kernel" in (health.last_error or "")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()


def link_down(if_index: int) -> bytes:
    """TRAP with its ifIndex.7 = 7 varbind made ifIndex.N = N (N < 128): a distinct event."""
    assert TRAP.endswith(b"\x01\x07\x02\x01\x07") and 0 < if_index < 128
    return TRAP[:-5] + bytes([1, if_index, 2, 1, if_index])


async def test_a_burst_is_stored_in_few_transactions(tmp_path: Path) -> None:
    """Traps waiting together are stored together: one transaction for a batch,
    so the store keeps up with a storm instead of committing once per trap."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config.model_validate(
        {"local": {"enabled": False},
         "devices": [{"name": f"sw{i}", "address": f"127.0.0.{i}", "community": "x"}
                     for i in range(1, 21)],
         "traps": {"enabled": True, "port": port, "communities": ["traps-s3cret"]}}
    )  # fmt: skip
    store = await open_store(tmp_path / "bridge.db")
    runner = CollectorRunner(store, [], SystemClock(), LevelTracker({}), RuleEngine(config))
    ready = asyncio.Event()
    task = asyncio.create_task(run_trap_receiver(config, store, runner, SystemClock(), ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        start = await store.last_seq()
        for device in range(1, 21):  # 20 devices x 100 ports, all at once
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((f"127.0.0.{device}", 0))
                for index in range(1, 101):
                    s.sendto(link_down(index), ("127.0.0.1", port))

        async def stored() -> bool:
            return await store.count_events() == 2000

        await wait_until(stored, 30, what="2000 linkDown events")
        writes = [c for c in await store.changes_since(start, limit=10_000) if c.kind == "events"]
        assert len(writes) <= 40, f"{len(writes)} transactions for 2000 traps"
        event = await store.find_event("snmp|sw20/100|oper-status")
        assert event is not None and "sw20 100 is down (linkDown trap)" in event.summary
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()


async def test_pull_mode_keeps_datagrams_until_taken_and_counts_what_does_not_fit() -> None:
    woken: list[int] = []
    r = TrapReceiver("127.0.0.1", 0, None, communities=["traps-s3cret"], max_pending=300)
    r.on_pending = lambda: woken.append(r.pending)
    await r.start()
    try:
        sent_at = time.time()
        burst(r.bound_port, 500)

        async def read() -> bool:
            return r.pending + r.overflow == 500

        await wait_until(read, 5, what="500 datagrams read")
        read_by = time.time()
        assert (r.pending, r.overflow, r.received) == (300, 200, 0) and woken
        first = r.take(120)
        assert all(sent_at <= t.at <= read_by for t in first)  # when read, not decoded
        assert len(first) == 120 and r.pending == 180
        assert first[0].trap_oid == "1.3.6.1.6.3.1.1.5.3" and first[0].version == "2c"
        assert len(r.take(1000)) == 180 and r.pending == 0 and r.received == 300
    finally:
        await r.close()
