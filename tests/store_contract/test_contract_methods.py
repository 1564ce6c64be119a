"""Each protocol method's behaviour, the same on every backend."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

import pytest

from bridge.core.actions import Action, ActionError
from bridge.core.models import (
    CollectorHealth,
    EventInput,
    EventState,
    JobRunStatus,
    JobSignalError,
    JobStatusRecord,
    MaintenanceWindow,
    ScheduleAction,
    Severity,
)
from bridge.core.outbox import OutboxNew, OutboxStatus
from bridge.core.query import EventQuery, parse_query
from bridge.store import Store
from bridge.store.protocol import (
    WRITE_METHODS,
    ChangeFeedStore,
    EventStore,
    LeaseStore,
    ReadingStore,
    ScheduleStore,
    ServiceStore,
)
from bridge.store.protocol import Store as StoreProtocol
from collectors.base import Reading

T0 = 1_700_000_000.0
ROLES = (ChangeFeedStore, ReadingStore, EventStore, ScheduleStore, LeaseStore, ServiceStore)
# The protocol's reads: with WRITE_METHODS (and close), every method it has.
READ_METHODS = frozenset(
    {
        "last_seq", "changes_since", "wait_for_changes",
        "snapshots", "snapshot", "series", "collector_health",
        "list_events", "count_events", "get_event", "find_event", "evidence", "journal",
        "job_runs", "get_job_run", "latest_job_runs", "schedule_changes", "job_statuses",
        "maintenance_windows", "lease",
        "journal_between", "journal_after", "events_by_id", "last_journal", "first_runs",
        "outbox_items", "outbox_counts", "can_write", "event_ids",
    }
)  # fmt: skip


def methods(protocol: type) -> set[str]:
    return {
        name
        for name, value in vars(protocol).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(value)
    }


def raise_(
    resource: str, check: str, severity: Severity, at: float, evidence: dict[str, Any] | None = None
) -> EventInput:
    summary = f"{check} {severity.label}"
    return EventInput("local", resource, check, severity, summary, at, evidence=evidence)


def test_every_method_is_a_read_or_a_write_of_one_role() -> None:
    """A new protocol method must be classed (WRITE_METHODS or READ_METHODS) and so
    comes under the read-only refusal test, and belongs to exactly one role."""
    per_role = [methods(role) for role in ROLES]
    everything = set().union(*per_role) | methods(StoreProtocol)
    assert sum(len(m) for m in per_role) == len(set().union(*per_role))  # no method twice
    assert not READ_METHODS & WRITE_METHODS
    assert everything == READ_METHODS | WRITE_METHODS | {"close"}


async def test_store_meets_every_role(store: Store) -> None:
    for role in ROLES:
        for name in methods(role):
            assert inspect.iscoroutinefunction(getattr(store, name)), (role.__name__, name)
    assert store.read_only is False


# -- change feed ---------------------------------------------------------------------
async def test_changes_follow_commits(store: Store) -> None:
    assert await store.last_seq() == 0
    assert await store.changes_since(0) == []
    await store.write_reading(Reading("local", "h1", T0, {"cpu": 1.0}), {})
    await store.upsert_events([raise_("h1", "cpu", Severity.MAJOR, T0)], "rules")
    changes = await store.changes_since(0)
    assert [(c.kind, c.ref) for c in changes] == [("reading", "local|h1"), ("events", "")]
    assert changes[0].seq < changes[1].seq == await store.last_seq()
    assert await store.changes_since(changes[0].seq) == changes[1:]
    assert await store.changes_since(0, limit=1) == changes[:1]


async def test_wait_for_changes(store: Store, other: Store) -> None:
    seq = await store.last_seq()
    started = time.monotonic()
    assert await store.wait_for_changes(seq, 0) == []
    assert await store.wait_for_changes(seq, 0.3) == []
    assert time.monotonic() - started >= 0.3  # it waited the whole timeout
    # A commit by another store while one waits: delivered well before the timeout.
    waiting = asyncio.create_task(store.wait_for_changes(seq, 10.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await other.write_reading(Reading("local", "h2", T0, {"cpu": 1.0}), {})
    delivered = await waiting
    assert time.monotonic() - started < 2.0
    assert [(c.kind, c.ref) for c in delivered] == [("reading", "local|h2")]
    # Its own writes count too, and `limit` pages.
    for i in range(3):
        await store.write_reading(Reading("local", f"p{i}", T0, {}), {})
    page = await store.wait_for_changes(delivered[-1].seq, 0, limit=2)
    assert [c.ref for c in page] == ["local|p0", "local|p1"]
    rest = await store.wait_for_changes(page[-1].seq, 0, limit=2)
    assert [c.ref for c in rest] == ["local|p2"]
    assert await store.wait_for_changes(rest[-1].seq, 0) == []


# -- readings ------------------------------------------------------------------------
async def test_readings(store: Store) -> None:
    await store.write_reading(Reading("local", "h1", T0, {"cpu": 10.0}, {"v": 1}), {"cpu": "ok"})
    await store.write_reading(Reading("local", "h1", T0 + 5, {"cpu": 20.0}, {"v": 2}), {})
    await store.write_reading(Reading("snmp", "sw1", T0, {"cpu": 5.0}, {"s": "x"}), {})
    snaps = await store.snapshots()
    assert [(s.source, s.resource) for s in snaps] == [("local", "h1"), ("snmp", "sw1")]
    one = await store.snapshot("local", "h1")
    assert one is not None and (one.at, one.data, one.levels) == (T0 + 5, {"v": 2}, {})
    assert await store.snapshot("local", "nope") is None
    assert [s.resource for s in await store.snapshots("snmp")] == ["sw1"]
    assert await store.series("local", "h1", "cpu", T0) == [(T0, 10.0), (T0 + 5, 20.0)]
    assert await store.series("local", "h1", "cpu", T0 + 1) == [(T0 + 5, 20.0)]
    assert await store.prune(T0 + 3, sample_retention_s=1.0) == 2  # h1 at T0 and sw1
    assert await store.series("local", "h1", "cpu", 0) == [(T0 + 5, 20.0)]


async def test_collector_health_keeps_its_first_run(store: Store) -> None:
    await store.record_health(CollectorHealth("local", 2.0, last_run=T0, runs=1))
    await store.record_health(
        CollectorHealth("local", 2.0, last_run=T0 + 2, runs=2, errors=1, last_error="boom")
    )
    await store.record_health(CollectorHealth("http:a", 30.0, last_run=T0 + 1, runs=1))
    health = await store.collector_health()
    assert [h.name for h in health] == ["http:a", "local"]
    assert (health[1].runs, health[1].errors, health[1].last_error) == (2, 1, "boom")
    assert await store.first_runs() == {"local": T0, "http:a": T0 + 1}


# -- events --------------------------------------------------------------------------
async def test_upsert_dedups_and_orders_like_the_console(store: Store) -> None:
    await store.upsert_events(
        [
            raise_("h1", "cpu", Severity.WARNING, T0, evidence={"top": [1]}),
            raise_("h1", "cpu", Severity.WARNING, T0 + 1),
            raise_("h2", "disk", Severity.CRITICAL, T0 + 2),
            raise_("h3", "mem", Severity.MAJOR, T0 + 3),
            raise_("h4", "gone", Severity.OK, T0 + 4),  # a clear of nothing: nothing
        ],
        "rules",
    )
    events = await store.list_events()
    assert [e.key for e in events] == ["local|h2|disk", "local|h3|mem", "local|h1|cpu"]
    cpu = await store.find_event("local|h1|cpu")
    assert cpu is not None and cpu.count == 2 and cpu.last_seen == T0 + 1
    assert await store.get_event(cpu.id) == cpu
    assert await store.get_event(10_000) is None and await store.find_event("x|y|z") is None
    assert await store.evidence(cpu.id) == {"top": [1]}
    assert await store.count_events() == 3
    [ack] = await store.act([cpu.id], Action.ACK, "alice", T0 + 5)
    assert ack.ok
    # Acknowledged sorts after open whatever the severity.
    assert [e.key for e in await store.list_events()][-1] == "local|h1|cpu"
    assert [e.key for e in await store.list_events(limit=1)] == ["local|h2|disk"]


async def test_lifecycle_resolve_reopen_and_journal(store: Store) -> None:
    await store.upsert_events([raise_("h1", "cpu", Severity.WARNING, T0)], "rules")
    await store.upsert_events([raise_("h1", "cpu", Severity.MAJOR, T0 + 1)], "rules")
    await store.upsert_events([raise_("h1", "cpu", Severity.OK, T0 + 2)], "rules")
    event = await store.find_event("local|h1|cpu")
    assert event is not None and event.state is EventState.RESOLVED
    assert await store.list_events() == [event]  # resolved but never acked: still listed
    assert await store.list_events(keep_unacked_resolved=False) == []
    assert await store.count_events(include_resolved=False, keep_unacked_resolved=False) == 0
    await store.upsert_events([raise_("h1", "cpu", Severity.MINOR, T0 + 3)], "rules")
    journal = await store.journal(event.id)
    assert [(j.action, j.note) for j in journal] == [  # newest first
        ("reopen", "cpu minor"),
        ("resolve", "cpu ok"),
        ("severity", "warning -> major"),
        ("raise", "cpu warning"),
    ]
    assert all(j.actor == "rules" for j in journal)
    assert [j.action for j in await store.journal(limit=2)] == ["reopen", "resolve"]


async def test_queries_reach_every_event(store: Store) -> None:
    await store.upsert_events(
        [
            raise_("web-1", "cpu", Severity.WARNING, T0),
            raise_("db_1", "disk", Severity.CRITICAL, T0),
            raise_("db%2", "disk", Severity.MINOR, T0),
            EventInput("snmp", "SW-Core", "ifOperStatus:3", Severity.MAJOR, "Link Down", T0),
        ],
        "rules",
    )

    async def keys(text: str) -> list[str]:
        found = await store.list_events(query=parse_query(text), limit=100)
        assert await store.count_events(query=parse_query(text)) == len(found)
        return sorted(e.resource for e in found)

    assert await keys("sev:critical") == ["db_1"]
    assert await keys("sev:minor+") == ["SW-Core", "db%2", "db_1"]
    assert await keys("host:db_") == ["db_1"]  # _ and % are literal, not wildcards
    assert await keys("host:db%") == ["db%2"]
    assert await keys("link") == ["SW-Core"]  # words match the summary, any case
    assert await keys("sw-core") == ["SW-Core"]  # ... and the resource, any case
    assert await keys("source:snmp") == ["SW-Core"]
    event = await store.find_event("local|web-1|cpu")
    assert event is not None
    await store.act([event.id], Action.OWN, "alice", T0 + 1)
    assert await keys("owner:ALICE") == ["web-1"]
    await store.act([event.id], Action.ACK, "alice", T0 + 1)
    assert await keys("state:open") == ["SW-Core", "db%2", "db_1"]
    assert await store.count_events(query=EventQuery()) == 4


async def test_act_journals_and_refuses(store: Store) -> None:
    await store.upsert_events(
        [raise_("h1", "cpu", Severity.MINOR, T0), raise_("h2", "cpu", Severity.MAJOR, T0)],
        "rules",
    )
    one = await store.find_event("local|h1|cpu")
    two = await store.find_event("local|h2|cpu")
    assert one is not None and two is not None
    results = await store.act([one.id, two.id, 999], Action.ACK, "alice", T0 + 1, note="seen")
    assert [r.ok for r in results] == [True, True, False] and results[2].unknown
    [again] = await store.act([one.id], Action.ACK, "bob", T0 + 2)
    assert not again.ok and "alice" in again.message
    await store.act([one.id], Action.ESCALATE, "bob", T0 + 3, note="worse")
    await store.act([one.id], Action.SHELVE, "bob", T0 + 4, until=T0 + 60)
    await store.act([two.id], Action.ASSIGN, "alice", T0 + 5, to="carol")
    with pytest.raises(ActionError):
        await store.act([one.id], Action.NOTE, "bob", T0 + 6, note="  ")
    shelved = await store.get_event(one.id)
    assert shelved is not None and shelved.state is EventState.SHELVED
    assert shelved.severity is Severity.MAJOR
    notes = [(j.action, j.note) for j in await store.journal(one.id)][:3]
    assert notes[0][0] == "shelve" and notes[0][1].startswith("until ")
    assert notes[1] == ("escalate", "minor -> major: worse")
    assert notes[2] == ("ack", "seen")
    assigned = await store.get_event(two.id)
    assert assigned is not None and assigned.owner == "carol"
    # The rules cannot lower an operator's grade.
    await store.upsert_events([raise_("h1", "cpu", Severity.MINOR, T0 + 7)], "rules")
    kept = await store.get_event(one.id)
    assert kept is not None and kept.severity is Severity.MAJOR
    assert await store.unshelve_expired(T0 + 30) == 0
    assert await store.unshelve_expired(T0 + 61) == 1
    back = await store.get_event(one.id)
    assert back is not None and back.state is EventState.ACKNOWLEDGED  # alice's ack stands


async def test_bridge_journal(store: Store) -> None:
    await store.record("alice", "sign-on", "day shift", T0)
    await store.record("bob", "handover", "quiet", T0 + 10)
    entries = await store.journal_between(T0, T0 + 10)
    assert [(j.actor, j.action, j.event_id) for j in entries] == [("alice", "sign-on", None)]
    assert len(await store.journal_between(T0, T0 + 11, actions=["handover"])) == 1
    last = await store.last_journal("handover")
    assert last is not None and last.note == "quiet"
    assert await store.last_journal("nothing") is None
    await store.upsert_events([raise_("h1", "cpu", Severity.MINOR, T0)], "rules")
    event = await store.find_event("local|h1|cpu")
    assert event is not None
    assert await store.events_by_id([event.id, 12345]) == {event.id: event}
    await store.record("silences", "silenced", "am-1", T0 + 1, event_id=event.id)
    assert (await store.journal(event.id))[0].action == "silenced"
    assert (await store.get_event(event.id)) == event  # a line only: no state changed
    assert (await store.changes_since(0))[-1].ref == str(event.id)


async def test_event_ids_by_dedup_key(store: Store) -> None:
    assert await store.event_ids([]) == {}
    await store.upsert_events(
        [raise_("h1", "cpu", Severity.MINOR, T0), raise_("h2", "cpu", Severity.MAJOR, T0)], "rules"
    )
    one, two = await store.find_event("local|h1|cpu"), await store.find_event("local|h2|cpu")
    assert one is not None and two is not None
    keys = ["local|h1|cpu", "local|h2|cpu", "local|h1|cpu", "local|nowhere|cpu"]
    assert await store.event_ids(keys) == {"local|h1|cpu": one.id, "local|h2|cpu": two.id}


async def test_journal_after_follows_by_id(store: Store) -> None:
    assert await store.journal_after(None, actions=["shelve"]) == ([], 0)
    await store.upsert_events([raise_("h1", "cpu", Severity.MINOR, T0)], "rules")
    event = await store.find_event("local|h1|cpu")
    assert event is not None
    entries, top = await store.journal_after(None, actions=["shelve"])
    assert entries == [] and top > 0  # where the journal ends now, nothing before it
    await store.act([event.id], Action.SHELVE, "alice", T0 + 1, until=T0 + 60)
    await store.act([event.id], Action.UNSHELVE, "alice", T0 + 2)
    await store.act([event.id], Action.SHELVE, "bob", T0 + 3, until=T0 + 60)
    entries, after = await store.journal_after(top, actions=["shelve", "unshelve"])
    assert [(j.actor, j.action) for j in entries] == [
        ("alice", "shelve"), ("alice", "unshelve"), ("bob", "shelve"),
    ]  # fmt: skip
    assert after == entries[-1].id
    first, cut = await store.journal_after(top, actions=["shelve"], limit=1)
    assert [j.actor for j in first] == ["alice"] and cut == first[0].id
    rest, _ = await store.journal_after(cut, actions=["shelve"])
    assert [j.actor for j in rest] == ["bob"]
    assert await store.journal_after(after, actions=["shelve"]) == ([], after)


# -- job signals and the schedule -------------------------------------------------------
async def test_job_runs(store: Store) -> None:
    run = await store.job_start("backup", "cron", T0)
    assert run.status is JobRunStatus.RUNNING and run.run_id
    with pytest.raises(JobSignalError):
        await store.job_start("backup", "cron", T0, run_id=run.run_id)
    done = await store.job_finish("backup", "cron", T0 + 30, ok=True, message=" fine ")
    assert (done.run_id, done.status, done.duration, done.message) == (
        run.run_id,
        JobRunStatus.OK,
        30.0,
        "fine",
    )
    with pytest.raises(JobSignalError, match="already ended"):
        await store.job_finish("backup", "cron", T0 + 31, ok=True, run_id=run.run_id)
    with pytest.raises(JobSignalError):
        await store.job_finish("other", "cron", T0 + 31, ok=True, run_id=run.run_id)
    alone = await store.job_finish("report", "cron", T0 + 40, ok=False, exit_code=2)
    assert alone.started_at is None and alone.status is JobRunStatus.FAILED
    assert await store.get_job_run(run.run_id) == done
    assert await store.get_job_run("nope") is None
    assert [r.job for r in await store.job_runs()] == ["report", "backup"]
    assert [r.job for r in await store.job_runs("backup")] == ["backup"]
    assert [r.job for r in await store.job_runs(since=T0 + 35)] == ["report"]
    latest = await store.latest_job_runs()
    assert set(latest) == {"backup", "report"} and latest["backup"] == done


async def test_schedule_changes_resolve_their_events(store: Store) -> None:
    await store.upsert_events(
        [EventInput("schedule", "backup", "late", Severity.MAJOR, "late", T0)], "schedule"
    )
    with pytest.raises(JobSignalError):
        await store.change_schedule("backup", ScheduleAction.HOLD, T0, "alice", " ", T0)
    with pytest.raises(JobSignalError):
        await store.change_schedule(
            "backup", ScheduleAction.RESCHEDULE, T0, "alice", "r", T0, new_time=T0 - 1
        )
    change = await store.change_schedule(
        "backup", ScheduleAction.DONE, T0, "alice", "ran by hand", T0 + 1, resolves=["late"]
    )
    assert (change.job, change.action, change.actor) == ("backup", ScheduleAction.DONE, "alice")
    later = await store.change_schedule(
        "backup", ScheduleAction.RESCHEDULE, T0 + 3600, "bob", "window", T0 + 2,
        new_time=T0 + 7200,
    )  # fmt: skip
    assert await store.schedule_changes("backup") == [change, later]
    assert await store.schedule_changes(since=T0 + 2) == [later]
    event = await store.find_event("schedule|backup|late")
    assert event is not None and event.state is EventState.RESOLVED
    assert (await store.journal(event.id))[0].note == "marked done: ran by hand"


async def test_job_statuses_after_a_seq(store: Store) -> None:
    await store.write_job_statuses([JobStatusRecord("a", "ok", False, T0, {"n": 1})], T0)
    seq = await store.last_seq()
    await store.write_job_statuses([JobStatusRecord("b", "late", True, T0 + 1)], T0 + 1)
    await store.write_job_statuses([], T0 + 2)  # nothing to write: no change
    assert await store.last_seq() == seq + 1
    everything = await store.job_statuses()
    assert [(r.job, r.exception, r.data) for r in everything] == [
        ("a", False, {"n": 1}),
        ("b", True, {}),
    ]
    assert [r.job for r in await store.job_statuses(after_seq=seq)] == ["b"]


async def test_maintenance_windows(store: Store) -> None:
    await store.set_maintenance_windows(
        [MaintenanceWindow("job:backup", ("db-*",), T0, None, "job")], T0
    )
    await store.upsert_events(
        [raise_("db-1", "cpu", Severity.MAJOR, T0 + 1), raise_("web", "cpu", Severity.MAJOR, T0)],
        "rules",
    )
    muted = await store.find_event("local|db-1|cpu")
    loud = await store.find_event("local|web|cpu")
    assert muted is not None and muted.suppressed_by == "job:backup"
    assert loud is not None and loud.suppressed_by is None
    assert [w.name for w in await store.maintenance_windows()] == ["job:backup"]
    # An operator's window outlives the lease holder's next write, and ends on time.
    hosts = await store.open_window_for([loud.id], "alice", "reboot", T0 + 2, T0 + 100)
    assert hosts == ["web"]
    with pytest.raises(ActionError):
        await store.open_window_for([loud.id], "alice", "", T0 + 2, T0 + 100)
    await store.set_maintenance_windows([], T0 + 3)  # the job ended
    unmuted = await store.get_event(muted.id)
    assert unmuted is not None and unmuted.suppressed_by is None
    assert [w.name for w in await store.maintenance_windows()] == ["operator:web"]
    operator = await store.get_event(loud.id)
    assert operator is not None and operator.suppressed_by == "operator:web"
    assert await store.close_expired_windows(T0 + 50) == 0
    assert await store.close_expired_windows(T0 + 100) == 1
    ended = await store.get_event(loud.id)
    assert ended is not None and ended.suppressed_by is None
    actions = [j.action for j in await store.journal_between(T0, T0 + 101)]
    assert actions.count("maintenance opened") == 2 and actions.count("maintenance closed") == 2


# -- the lease ---------------------------------------------------------------------------
async def test_lease(store: Store, other: Store) -> None:
    assert await store.lease("collector") is None
    assert await store.try_lease("collector", "a", 6.0, T0)
    taken = await other.lease("collector")
    assert taken is not None and taken.expires_at - taken.heartbeat_at == pytest.approx(6.0)
    assert not await other.try_lease("collector", "b", 6.0, T0 + 1)
    assert await store.try_lease("collector", "a", 6.0, T0 + 2)  # a renewal
    held = await other.lease("collector")
    # Times are the store's clock (the caller's `now`, or a server's own): a renewal
    # keeps when the lease was taken and moves when it lapses.
    assert held is not None and (held.holder, held.acquired_at) == ("a", taken.acquired_at)
    assert held.expires_at >= taken.expires_at
    assert await other.try_lease("other-lease", "b", 6.0, T0)  # leases are by name
    await other.release_lease("collector", "b")  # not b's: nothing happens
    assert await other.lease("collector") is not None
    await store.release_lease("collector", "a")
    assert await store.lease("collector") is None
    assert await other.try_lease("collector", "b", 6.0, T0 + 3)


# -- the outbox --------------------------------------------------------------------------
async def test_outbox(store: Store) -> None:
    items = [OutboxNew("hook", "crit", 1, "{}"), OutboxNew("hook", "crit", 2, "{}")]
    assert await store.outbox_enqueue(items, T0) == 2
    assert await store.outbox_enqueue(items[:1], T0 + 1) == 0  # at most once
    claimed = await store.outbox_claim(T0 + 1, limit=1)
    assert [(i.event_id, i.status, i.attempts) for i in claimed] == [(1, OutboxStatus.SENDING, 1)]
    await store.outbox_settle(claimed[0].id, T0 + 2, error="503", retry_at=T0 + 10)
    assert [i.event_id for i in await store.outbox_claim(T0 + 3, limit=10)] == [2]
    assert await store.outbox_recover(T0 + 4) == 1  # 2 was left sending: failed, not resent
    [retry] = await store.outbox_claim(T0 + 10, limit=10)
    await store.outbox_settle(retry.id, T0 + 11, error=None, retry_at=None)
    counts = await store.outbox_counts()
    assert counts == {"pending": 0, "sending": 0, "delivered": 1, "failed": 1}
    assert [i.event_id for i in await store.outbox_items()] == [2, 1]
