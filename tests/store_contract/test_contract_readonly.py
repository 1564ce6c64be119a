"""A read-only store (the wall's) reads everything and refuses every write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bridge.core.actions import Action
from bridge.core.models import (
    CollectorHealth,
    Event,
    EventInput,
    JobStatusRecord,
    MaintenanceWindow,
    ScheduleAction,
    Severity,
)
from bridge.core.outbox import OutboxNew
from bridge.store import ReadOnlyStoreError, Store, StoreError, open_store
from bridge.store.protocol import WRITE_METHODS
from collectors.base import Reading

T0 = 1_700_000_000.0
LATER = T0 + 10_000_000  # past every expiry: a write that got through would change something

# One call of each write method, with arguments that would change the seeded store.
WRITES: dict[str, Callable[[Store, Event], Awaitable[Any]]] = {
    "write_reading": lambda s, e: s.write_reading(Reading("local", "x", LATER, {"c": 1.0}), {}),
    "prune": lambda s, e: s.prune(LATER, 1.0),
    "record_health": lambda s, e: s.record_health(CollectorHealth("x", 1.0, LATER)),
    "upsert_events": lambda s, e: s.upsert_events(
        [EventInput("x", "y", "z", Severity.CRITICAL, "injected", LATER)], "mallory"
    ),
    "act": lambda s, e: s.act([e.id], Action.ACK, "mallory", LATER),
    "record": lambda s, e: s.record("mallory", "sign-on", "x", LATER),
    "unshelve_expired": lambda s, e: s.unshelve_expired(LATER),
    "job_start": lambda s, e: s.job_start("backup", "mallory", LATER),
    "job_finish": lambda s, e: s.job_finish("backup", "mallory", LATER, ok=True),
    "change_schedule": lambda s, e: s.change_schedule(
        "backup", ScheduleAction.HOLD, LATER, "mallory", "x", LATER
    ),
    "write_job_statuses": lambda s, e: s.write_job_statuses(
        [JobStatusRecord("backup", "late", True, LATER)], LATER
    ),
    "set_maintenance_windows": lambda s, e: s.set_maintenance_windows([], LATER),
    "open_window_for": lambda s, e: s.open_window_for([e.id], "mallory", "x", LATER, LATER + 1),
    "close_expired_windows": lambda s, e: s.close_expired_windows(LATER),
    "try_lease": lambda s, e: s.try_lease("collector", "mallory", 6.0, LATER),
    "release_lease": lambda s, e: s.release_lease("collector", "holder"),
    "outbox_enqueue": lambda s, e: s.outbox_enqueue([OutboxNew("t", "r", e.id, "{}")], LATER),
    "outbox_claim": lambda s, e: s.outbox_claim(LATER, 10),
    "outbox_settle": lambda s, e: s.outbox_settle(1, LATER, error=None, retry_at=None),
    "outbox_recover": lambda s, e: s.outbox_recover(LATER),
}


async def seed(store: Store) -> None:
    """Something for every write to change: a shelved event, a window, a lease, ..."""
    await store.upsert_events(
        [
            EventInput("local", "h1", "cpu", Severity.MAJOR, "hot", T0),
            EventInput("local", "h2", "disk", Severity.MINOR, "full", T0),
        ],
        "rules",
    )
    shelved = await store.find_event("local|h2|disk")
    assert shelved is not None
    await store.act([shelved.id], Action.SHELVE, "alice", T0, until=T0 + 60)
    await store.write_reading(Reading("local", "h1", T0, {"cpu": 99.0}), {})
    await store.record_health(CollectorHealth("local", 2.0, T0))
    await store.job_start("backup", "cron", T0)
    await store.set_maintenance_windows([MaintenanceWindow("m", ("db-*",), T0, None)], T0)
    event = await store.find_event("local|h1|cpu")
    assert event is not None
    await store.open_window_for([event.id], "alice", "reboot", T0, T0 + 60)
    await store.try_lease("collector", "holder", 6.0, T0)
    await store.outbox_enqueue([OutboxNew("t", "r", event.id, "{}")], T0)
    await store.outbox_claim(T0, 10)


async def fingerprint(store: Store) -> tuple[object, ...]:
    """Everything a write could touch."""
    return (
        await store.list_events(include_resolved=True, limit=10_000),
        await store.journal(limit=10_000),
        await store.changes_since(0, limit=100_000),
        await store.snapshots(),
        await store.series("local", "h1", "cpu", 0),
        await store.collector_health(),
        await store.job_runs(limit=1000),
        await store.schedule_changes(),
        await store.job_statuses(),
        await store.maintenance_windows(),
        await store.lease("collector"),
        await store.outbox_items(),
    )


def test_every_write_method_is_tried() -> None:
    assert set(WRITES) == WRITE_METHODS


async def test_read_only_store_refuses_every_write(store_url: str, store: Store) -> None:
    await seed(store)
    before = await fingerprint(store)
    ro = await open_store(store_url, read_only=True)
    try:
        assert ro.read_only
        [event] = await ro.list_events(limit=1)
        for name, write in WRITES.items():
            with pytest.raises(ReadOnlyStoreError, match="read-only"):
                await write(ro, event)
                pytest.fail(f"{name} wrote on a read-only store")
        # ... and it still reads, the change feed too.
        assert await fingerprint(ro) == before
        seq = await ro.last_seq()
        await store.record("alice", "sign-on", "", T0 + 1)
        assert [c.kind for c in await ro.wait_for_changes(seq, 5.0)] == ["journal"]
    finally:
        await ro.close()
    after = await fingerprint(store)
    assert after[0] == before[0] and after[3:] == before[3:]
    journal = after[1]
    assert isinstance(journal, list) and journal[1:] == before[1]  # only the sign-on above


async def test_read_only_needs_a_store_made_first(store_url: str) -> None:
    with pytest.raises(StoreError) as caught:
        await open_store(store_url, read_only=True)
    assert "\n" not in str(caught.value)
