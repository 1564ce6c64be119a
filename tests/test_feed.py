"""The change feed: a process learns of another's commits within a second."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path

import pytest
from conftest import Isolated, Processes, wait_until

from bridge.core.models import Change, EventInput, Severity
from bridge.runtime.feed import ChangeFeed
from bridge.store import Store, open_store
from bridge.store.sqlite.store import SqliteStore
from collectors.base import Reading

# Runs in a second OS process: open the same store, commit, report the wall time of the commit.
WRITER = """\
import asyncio, sys, time
from pathlib import Path
from bridge.core.models import EventInput, Severity
from bridge.store import open_store
from collectors.base import Reading

async def main(path, what):
    store = await open_store(Path(path))
    try:
        if what == "event":
            await store.upsert_events(
                [EventInput("snmp", "sw1", "ifOperStatus:3", Severity.MAJOR, "link down",
                            at=time.time())],
                "other-process",
            )
        else:
            await store.write_reading(
                Reading("snmp", "sw1", time.time(), {"cpu": 12.0}, {"sysName": "sw1"}), {}
            )
        print(repr(time.time()), flush=True)
    finally:
        await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""

POLL_INTERVAL = 0.1


async def deliver_from_other_process(
    store: Store, isolated: Isolated, processes: Processes, what: str
) -> tuple[list[Change], float]:
    """Start a feed, let a subprocess commit, wait (bounded) for the feed to see it.

    Returns what was delivered and the seconds from the child's commit to delivery.
    """
    assert isinstance(store, SqliteStore)
    path = store.path  # already migrated before the child starts
    delivered: list[Change] = []
    feed = ChangeFeed(store, delivered.extend, interval=POLL_INTERVAL)
    await feed.start()
    proc = processes.start([sys.executable, "-c", WRITER, str(path), what], isolated.env)
    delivered_at: float | None = None
    deadline = time.monotonic() + 20.0  # room for the child's start-up; latency is asserted below
    while time.monotonic() < deadline:
        if await feed.poll():
            delivered_at = time.time()
            break
        if proc.poll() is not None and proc.returncode != 0:
            break
        await asyncio.sleep(feed.interval)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert delivered_at is not None, "the feed never delivered the other process's commit"
    committed_at = float(out.strip())
    print(f"{what}: delivered {delivered_at - committed_at:.3f} s after the commit")
    return delivered, delivered_at - committed_at


async def test_feed_sees_another_process_event_within_a_second(
    store: Store, isolated: Isolated, processes: Processes
) -> None:
    delivered, latency = await deliver_from_other_process(store, isolated, processes, "event")
    assert latency < 1.0, f"took {latency:.3f} s"
    assert [c.kind for c in delivered] == ["events"]
    # ... and the commit itself is readable here.
    (event,) = await store.list_events()
    assert (event.resource, event.severity) == ("sw1", Severity.MAJOR)


async def test_feed_sees_another_process_reading_within_a_second(
    store: Store, isolated: Isolated, processes: Processes
) -> None:
    delivered, latency = await deliver_from_other_process(store, isolated, processes, "reading")
    assert latency < 1.0, f"took {latency:.3f} s"
    assert [(c.kind, c.ref) for c in delivered] == [("reading", "snmp|sw1")]
    (snap,) = await store.snapshots("snmp")
    assert snap.data == {"sysName": "sw1"}


async def test_feed_between_two_stores_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    reader = await open_store(path)
    writer = await open_store(path)
    try:
        got: list[Change] = []
        feed = ChangeFeed(reader, got.extend, interval=POLL_INTERVAL)
        await feed.start()
        assert await feed.poll() == []
        await writer.upsert_events(
            [EventInput("local", "h", "cpu", Severity.WARNING, "hot", at=time.time())], "w"
        )
        await writer.write_reading(Reading("local", "h", time.time(), {"cpu": 1.0}), {})

        async def both_seen() -> bool:
            await feed.poll()
            return len(got) >= 2

        await wait_until(both_seen, within=2.0, what="two changes")
        assert [c.kind for c in got] == ["events", "reading"]
        assert feed.seq == await reader.last_seq()
    finally:
        await writer.close()
        await reader.close()


async def test_feed_sees_own_store_writes(store: Store) -> None:
    # The feed polls on the store's watch connection, so its own writer's commits count too.
    got: list[Change] = []
    feed = ChangeFeed(store, got.extend, interval=POLL_INTERVAL)
    await feed.start()
    await store.write_reading(Reading("local", "h", time.time(), {"cpu": 1.0}), {})

    async def seen() -> bool:
        return bool(await feed.poll())

    await wait_until(seen, within=2.0, what="own write")
    assert [c.kind for c in got] == ["reading"]


async def test_run_after_start_delivers_what_was_committed_in_between(store: Store) -> None:
    # The console starts the feed, reads its panes, then runs the feed: a commit in
    # between (the poller's first sample) must still reach the panes.
    got: list[Change] = []
    feed = ChangeFeed(store, got.extend, interval=POLL_INTERVAL)
    await feed.start()
    await store.write_reading(Reading("local", "h", time.time(), {"cpu": 1.0}), {})
    task = asyncio.create_task(feed.run())
    try:

        async def delivered() -> bool:
            return bool(got)

        await wait_until(delivered, within=2.0, what="the commit between start and run")
        assert [c.kind for c in got] == ["reading"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_idle_poll_does_not_read_changes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle poll is one PRAGMA: without a new data_version, no change rows are read."""
    feed = ChangeFeed(store, lambda changes: None, interval=POLL_INTERVAL)
    await feed.start()
    calls = 0
    real = store.changes_since

    async def counting(seq: int, limit: int = 1000) -> list[Change]:
        nonlocal calls
        calls += 1
        return await real(seq, limit)

    monkeypatch.setattr(store, "changes_since", counting)
    for _ in range(5):
        assert await feed.poll() == []
    assert calls == 0
    await store.write_reading(Reading("local", "h", time.time(), {"cpu": 1.0}), {})
    assert [c.kind for c in await feed.poll()] == ["reading"]
    assert calls >= 1


async def test_feed_pages_through_many_changes(store: Store) -> None:
    feed = ChangeFeed(store, lambda changes: None, interval=POLL_INTERVAL)
    await feed.start()
    # More commits than one changes_since page (1000), then one poll gets them all, in order.
    for i in range(1010):
        await store.write_reading(Reading("local", f"h{i % 3}", float(i), {"x": 1.0}), {})
    delivered = await feed.poll()
    assert len(delivered) == 1010
    assert [c.seq for c in delivered] == sorted(c.seq for c in delivered)
    assert feed.seq == await store.last_seq()
