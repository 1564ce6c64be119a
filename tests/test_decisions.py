"""An operator's decision stays done: the next observation does not undo it.

On a real SQLite store, with the real schedule loop and rules engine where the
observation comes from a job: an escalation, an owner and a shelve outlast the
rules' next word; marking an occurrence done, a real success, a reschedule or a
hold resolves the occurrence's late, missed or failed events, journalled with who
and why.
"""

from __future__ import annotations

from bridge.config.file import Config
from bridge.core.actions import Action
from bridge.core.clock import FixedClock
from bridge.core.models import Event, EventInput, EventState, Severity
from bridge.rules.engine import RuleEngine
from bridge.runtime.schedule_loop import ScheduleLoop
from bridge.store import Store

T0 = 1_800_000_000.0  # Fri 2027-01-15 08:00:00 UTC
M = 60.0


def ev(severity: Severity, at: float) -> EventInput:
    return EventInput("local", "web1", "cpu", severity, f"cpu {severity.label}", at)


async def one(store: Store, key: str) -> Event:
    event = await store.find_event(key)
    assert event is not None, key
    return event


# -- severity, owner and shelving -------------------------------------------------------
async def test_an_escalation_holds_against_the_next_failure_of_the_job(store: Store) -> None:
    cfg = Config.model_validate({"jobs": [{"name": "etl-load", "schedule": "* * * * *"}]})
    clock = FixedClock(T0)
    loop = ScheduleLoop(store, cfg, clock, RuleEngine(cfg))
    await loop.tick()

    async def fail(at: float) -> None:
        clock.set(at)
        run = await store.job_start("etl-load", "cron", at)
        await loop.tick()
        clock.set(at + 5)
        await store.job_finish("etl-load", "cron", at + 5, ok=False, run_id=run.run_id,
                               exit_code=3)  # fmt: skip
        await loop.tick()

    await fail(T0 + 1)
    failed = await one(store, "schedule|etl-load|failed")
    assert failed.severity is Severity.MAJOR
    (done,) = await store.act([failed.id], Action.ESCALATE, "alice", T0 + 10, note="customers")
    assert done.ok
    for minute in range(1, 4):  # the job fails again, and again
        await fail(T0 + minute * M + 1)
    after = await one(store, "schedule|etl-load|failed")
    assert after.severity is Severity.CRITICAL
    assert [
        (j.actor, j.action) for j in await store.journal(after.id) if j.action == "severity"
    ] == []


async def test_the_rules_may_raise_past_the_operator_never_below_until_it_resolves(
    store: Store,
) -> None:
    await store.upsert_events([ev(Severity.MINOR, T0)], "rules")
    event = await one(store, "local|web1|cpu")
    await store.act([event.id], Action.ESCALATE, "alice", T0 + 1)  # minor -> major
    await store.upsert_events([ev(Severity.MINOR, T0 + 2)], "rules")
    assert (await one(store, event.key)).severity is Severity.MAJOR
    await store.upsert_events([ev(Severity.CRITICAL, T0 + 3)], "rules")
    assert (await one(store, event.key)).severity is Severity.CRITICAL
    await store.upsert_events([ev(Severity.WARNING, T0 + 4)], "rules")
    assert (await one(store, event.key)).severity is Severity.MAJOR  # the operator's floor
    notes = [j.note for j in reversed(await store.journal(event.id)) if j.action == "severity"]
    assert notes == ["major -> critical", "critical -> major"]
    # A resolve ends the operator's choice: the next raise is the rules' own.
    await store.upsert_events([ev(Severity.OK, T0 + 5)], "rules")
    await store.upsert_events([ev(Severity.MINOR, T0 + 6)], "rules")
    again = await one(store, event.key)
    assert again.state is EventState.OPEN and again.severity is Severity.MINOR


async def test_owner_and_shelve_outlast_rule_updates(store: Store) -> None:
    await store.upsert_events([ev(Severity.MINOR, T0)], "rules")
    event = await one(store, "local|web1|cpu")
    await store.act([event.id], Action.OWN, "alice", T0 + 1)
    await store.act([event.id], Action.SHELVE, "alice", T0 + 2, until=T0 + 3600, note="known")
    for i, severity in enumerate((Severity.MAJOR, Severity.MINOR, Severity.CRITICAL)):
        await store.upsert_events([ev(severity, T0 + 10 + i)], "rules")
    after = await one(store, event.key)
    assert after.owner == "alice"
    assert after.state is EventState.SHELVED and after.shelved_until == T0 + 3600
    assert after.severity is Severity.CRITICAL and after.count == 4


# -- the occurrence's events end with it ------------------------------------------------
async def test_a_job_late_every_cycle_is_not_flapping_and_each_success_resolves(
    store: Store,
) -> None:
    """report-build (every 2 minutes, grace 20 s) starts at :45 each cycle: late each
    time for 25 s. Ten cycles are ten lates and ten successes, never a flapping event."""
    cfg = Config.model_validate(
        {"jobs": [{"name": "report-build", "schedule": "*/2 * * * *", "grace": 20}]}
    )
    clock = FixedClock(T0 - 1)
    loop = ScheduleLoop(store, cfg, clock, RuleEngine(cfg))
    await loop.tick()
    for cycle in range(10):
        start = T0 + cycle * 2 * M
        for at in (start + 30, start + 45, start + 48):
            clock.set(at)
            if at == start + 45:
                run = await store.job_start("report-build", "cron", at)
            if at == start + 48:
                await store.job_finish("report-build", "cron", at, ok=True, run_id=run.run_id)
            await loop.tick()
        late = await one(store, "schedule|report-build|late")
        assert late.state is EventState.RESOLVED, cycle
    keys = [e.key for e in await store.list_events(include_resolved=True)]
    assert "schedule|report-build|late:flapping" not in keys
    late = await one(store, "schedule|report-build|late")
    entries = [j for j in await store.journal(late.id) if j.action == "resolve"]
    assert len(entries) == 10
    assert entries[0].note.startswith("report-build started (run ")
    assert entries[0].note.endswith(" by cron)")


def test_what_an_operator_change_resolves_is_the_targeted_occurrences_trouble() -> None:
    from bridge.core.models import ScheduleAction as A
    from bridge.rules.schedule import moot_checks

    data = {
        "current": {"scheduled": 200.0, "due": 200.0, "state": "late"},
        "previous": {"scheduled": 100.0, "due": 100.0, "state": "missed"},
    }
    assert moot_checks(data, A.DONE, 100.0) == ("missed",)  # the missed one, not the late
    assert moot_checks(data, A.DONE, 200.0) == ("late",)
    assert moot_checks(data, A.HOLD, 200.0) == ("late",)
    assert moot_checks(data, A.RESCHEDULE, 300.0) == ()  # the next one: nothing is late yet
    assert moot_checks(data, A.RELEASE, 200.0) == ()
    failed = {"current": {"scheduled": 200.0, "due": 200.0, "state": "failed"}}
    assert moot_checks(failed, A.DONE, 200.0) == ("failed",)
    assert moot_checks(failed, A.RESCHEDULE, 200.0) == ()
