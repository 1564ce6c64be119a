"""Rules: threshold levels, minimum duration, recovery, flapping, matching; and the
collector runner end to end, from a reading to a stored event with its evidence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from seed import HOST, T0

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.core.models import CollectorHealth, EventInput, EventState, Severity
from bridge.rules.engine import Observation, RuleEngine, threshold_observations
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.runner import CollectorRunner, until_next_multiple
from bridge.store import Store
from collectors.base import Reading

W, OK, C = Severity.WARNING, Severity.OK, Severity.CRITICAL


def obs(
    severity: Severity,
    at: float,
    *,
    source: str = "local",
    resource: str = "web1",
    check: str = "cpu",
    value: float | None = None,
) -> Observation:
    return Observation(source, resource, check, severity, f"{check} {severity.label}", at, value)


def config(**rule: Any) -> Config:
    return Config.model_validate({"rules": [rule]} if rule else {})


def feed(engine: RuleEngine, *steps: tuple[float, Severity]) -> list[EventInput]:
    out: list[EventInput] = []
    for at, severity in steps:
        out.extend(engine.process([obs(severity, T0 + at)]))
    return out


def brief(events: list[EventInput]) -> list[tuple[str, Severity, float]]:
    return [(e.check, e.severity, e.at - T0) for e in events]


# -- threshold levels with hysteresis -----------------------------------------------------
def test_hysteresis_levels_raise_and_clear_at_different_lines() -> None:
    # cpu: warning 85, critical 95, hysteresis 5.
    tracker = LevelTracker(Config().local.thresholds.as_table())
    engine = RuleEngine(Config())
    raised: list[tuple[float, Severity]] = []
    for i, cpu in enumerate([50, 86, 82, 81, 96, 92, 89, 84, 81, 79.9, 84]):
        at = T0 + i * 10
        levels = tracker.evaluate(HOST, {"cpu": cpu})
        observations = threshold_observations(
            "local", HOST, at, {"cpu": cpu}, levels, tracker.thresholds
        )
        for e in engine.process(observations):
            raised.append((cpu, e.severity))
    assert raised == [
        (86, W),  # crosses 85: raise
        (82, W),  # under 85 but above 80 (85 - 5): still warning, a repeat
        (81, W),
        (96, C),  # crosses 95
        (92, C),  # above 90 (95 - 5): still critical
        (89, W),  # under 90: down to warning
        (84, W),
        (81, W),
        (79.9, OK),  # under 80: cleared, once
        # 84 is under the raise line again: nothing
    ]


# -- minimum duration ----------------------------------------------------------------------
def test_for_holds_the_raise_until_the_condition_lasted_long_enough() -> None:
    engine = RuleEngine(config(check="cpu", **{"for": 60}))
    assert feed(engine, (0, W), (30, W), (59, W)) == []
    (raised,) = feed(engine, (60, W))
    assert (raised.severity, raised.at) == (W, T0 + 60)
    assert brief(feed(engine, (70, W))) == [("cpu", W, 70)]  # a repeat, no new wait
    assert brief(feed(engine, (80, OK))) == [("cpu", OK, 80)]


def test_for_restarts_after_a_blip_back_to_ok() -> None:
    engine = RuleEngine(config(check="cpu", **{"for": 60}))
    # Never raised, so the OK at 10 emits nothing; the wait restarts at 20.
    assert feed(engine, (0, W), (10, OK), (20, W), (79, W)) == []
    assert brief(feed(engine, (80, W))) == [("cpu", W, 80)]


def test_for_applies_only_to_matching_rules() -> None:
    engine = RuleEngine(config(check="disk:*", **{"for": 300}))
    assert brief(engine.process([obs(W, T0)])) == [("cpu", W, 0)]  # default rule: at once
    assert engine.process([obs(W, T0, check="disk:/var")]) == []


# -- recovery --------------------------------------------------------------------------------
def test_recovery_resolves_once() -> None:
    engine = RuleEngine(Config())
    events = feed(engine, (0, OK), (10, W), (20, C), (30, OK), (40, OK), (50, OK))
    assert brief(events) == [("cpu", W, 10), ("cpu", C, 20), ("cpu", OK, 30)]


def test_ok_for_something_never_raised_emits_nothing() -> None:
    engine = RuleEngine(Config())
    assert feed(engine, (0, OK), (10, OK)) == []


# -- flapping --------------------------------------------------------------------------------
def test_flapping_becomes_one_event_then_clears_once_steady() -> None:
    engine = RuleEngine(config(flap_changes=4, flap_window=60))
    before = feed(engine, (0, W), (5, OK), (10, W))
    assert brief(before) == [("cpu", W, 0), ("cpu", OK, 5), ("cpu", W, 10)]

    # The 4th change within 60 s: one flapping warning, and the raises and clears stop.
    during = feed(engine, *[(15 + 5 * i, OK if i % 2 == 0 else W) for i in range(9)])
    (flap,) = during  # ends on OK at 55
    assert flap.check == "cpu:flapping"
    assert flap.severity is W
    assert (flap.source, flap.resource, flap.at) == ("local", "web1", T0 + 15)
    assert "4 state changes in 60 s" in flap.summary

    # Steady at OK: nothing while old changes are still inside the window...
    assert feed(engine, *[(t, OK) for t in range(60, 110, 10)]) == []
    # ...then, with at most 2 changes left in it, the flap clears and the check resolves.
    after = feed(engine, (110, OK))
    assert brief(after) == [("cpu:flapping", OK, 110), ("cpu", OK, 110)]
    assert "steady" in after[0].summary
    assert feed(engine, (120, OK), (130, OK)) == []
    # And the check is itself again: a new problem raises normally.
    assert brief(feed(engine, (140, W))) == [("cpu", W, 140)]


def test_flapping_is_per_check() -> None:
    engine = RuleEngine(config(flap_changes=4, flap_window=60))
    out: list[EventInput] = []
    for i in range(8):
        sev = W if i % 2 == 0 else OK
        out += engine.process([obs(sev, T0 + i, check="if:1"), obs(W, T0 + i, check="if:2")])
    checks = [e.check for e in out]
    assert checks.count("if:1:flapping") == 1
    assert "if:2:flapping" not in checks
    assert checks.count("if:2") == 8  # steady problem: raised, then repeated


def test_for_counts_from_when_the_condition_became_steady_after_flapping() -> None:
    # A condition that went OK repeatedly while flapping has not held since before
    # the flap: after it settles, `for` is measured from its last change.
    engine = RuleEngine(config(flap_changes=4, flap_window=60, **{"for": 120}))
    assert feed(engine, (0, W), (5, OK), (10, W)) == []  # pending, never raised
    flapping = feed(engine, *[(15 + 5 * i, OK if i % 2 == 0 else W) for i in range(8)])
    assert brief(flapping) == [("cpu:flapping", W, 15)]
    assert brief(feed(engine, (55, OK))) == []
    # Last change: to W at 60. Steady from then on, so the raise is due at 180.
    steady = feed(engine, *[(t, W) for t in range(60, 180, 5)])
    assert brief(steady) == [("cpu:flapping", OK, 115)]
    assert brief(feed(engine, (180, W))) == [("cpu", W, 180)]


# -- matching --------------------------------------------------------------------------------
def test_rules_match_by_glob_first_match_wins_and_override_severity() -> None:
    cfg = Config.model_validate(
        {
            "rules": [
                {"source": "snmp", "resource": "core-*", "check": "if*", "severity": "critical"},
                {"source": "snmp", "check": "if*", "severity": "minor"},
            ]
        }
    )
    engine = RuleEngine(cfg)
    core = obs(W, T0, source="snmp", resource="core-sw1", check="ifOperStatus:Gi0/1")
    edge = obs(W, T0, source="snmp", resource="edge-rt2", check="ifOperStatus:Gi0/2")
    other = obs(W, T0, source="snmp", resource="core-sw1", check="uptime")
    local = obs(W, T0, source="local", resource="core-x", check="ifx")
    out = {
        e.resource + "/" + e.check: e.severity for e in engine.process([core, edge, other, local])
    }
    assert out == {
        "core-sw1/ifOperStatus:Gi0/1": Severity.CRITICAL,
        "edge-rt2/ifOperStatus:Gi0/2": Severity.MINOR,
        "core-sw1/uptime": W,  # no rule: the observation's own severity
        "core-x/ifx": W,  # source does not match
    }
    # The override does not stop a recovery from clearing.
    (cleared,) = engine.process(
        [obs(OK, T0 + 1, source="snmp", resource="core-sw1", check="ifOperStatus:Gi0/1")]
    )
    assert cleared.severity is OK


# -- observations from thresholds ---------------------------------------------------------
def test_threshold_observations_summaries_and_evidence() -> None:
    tracker = LevelTracker(Config().local.thresholds.as_table())
    metrics = {"cpu": 99.04, "load": 2.0, "disk:/var": 50.0, "net_rx": 5e6}
    levels = tracker.evaluate(HOST, metrics)
    evidence = {"top_cpu": [{"name": "postgres"}]}
    out = threshold_observations(
        "local", HOST, T0, metrics, levels, tracker.thresholds, evidence=evidence
    )
    by_check = {o.check: o for o in out}
    assert set(by_check) == {"cpu", "load", "disk:/var"}  # net_rx has no threshold
    assert by_check["cpu"].severity is C
    assert by_check["cpu"].summary == "cpu 99.0% (warning 85, critical 95)"
    assert by_check["load"].severity is W
    assert by_check["load"].summary == "load 2.0 per core (warning 1.5, critical 3)"
    assert by_check["disk:/var"].severity is OK
    assert by_check["disk:/var"].summary == "disk /var 50.0%, back under 85"
    assert by_check["cpu"].value == 99.04
    assert all(o.evidence is evidence and o.at == T0 and o.resource == HOST for o in out)
    assert by_check["cpu"].key == ("local", HOST, "cpu")


# -- the runner, end to end --------------------------------------------------------------------
PROCESSES = {
    "by_cpu": [
        {"pid": 4242, "name": "postgres", "cpu": 91.0, "rss": 900 * 2**20},
        {"pid": 777, "name": "java", "cpu": 6.5, "rss": 2 * 2**30},
    ],
    "by_mem": [{"pid": 777, "name": "java", "cpu": 6.5, "rss": 2 * 2**30}],
}


class FakeCollector:
    """Returns one chosen reading per poll."""

    name = "fake"
    interval = 1.0
    reachability: tuple[str, str] | None = None
    on_the_clock = False

    def __init__(self, clock: FixedClock, cpus: list[float]) -> None:
        self.clock = clock
        self.cpus = list(cpus)
        self.closed = False

    async def collect(self) -> list[Reading]:
        cpu = self.cpus.pop(0)
        return [
            Reading(
                source="local",
                resource=HOST,
                at=self.clock.now(),
                metrics={"cpu": cpu, "memory": 40.0},
                detail={"processes": PROCESSES},
            )
        ]

    async def close(self) -> None:
        self.closed = True


async def test_runner_raises_then_resolves_with_evidence(store: Store) -> None:
    clock = FixedClock(T0)
    config = Config()
    collector = FakeCollector(clock, [99.0, 10.0])
    runner = CollectorRunner(
        store,
        [collector],
        clock,
        LevelTracker(config.local.thresholds.as_table()),
        RuleEngine(config),
    )
    health = CollectorHealth(name=collector.name, interval=collector.interval)
    health = await runner.run_once(collector, health)
    assert health.errors == 0 and health.runs == 1

    event = await store.find_event(f"local|{HOST}|cpu")
    assert event is not None
    assert event.severity is C and event.state is EventState.OPEN
    assert event.value == 99.0
    assert event.summary == "cpu 99.0% (warning 85, critical 95)"
    assert await store.find_event(f"local|{HOST}|memory") is None  # memory was fine
    evidence = await store.evidence(event.id)
    assert evidence is not None
    assert evidence["at"] == T0
    assert evidence["metrics"] == {"cpu": 99.0, "memory": 40.0}
    assert [p["name"] for p in evidence["top_cpu"]] == ["postgres", "java"]
    assert [p["pid"] for p in evidence["top_memory"]] == [777]
    (raise_,) = await store.journal(event.id)
    assert (raise_.action, raise_.actor) == ("raise", "bridge")

    clock.advance(2)
    health = await runner.run_once(collector, health)
    resolved = await store.get_event(event.id)
    assert resolved is not None
    assert resolved.state is EventState.RESOLVED
    assert resolved.resolved_at == T0 + 2
    assert resolved.count == 1  # a clear is not a repeat
    # Evidence is frozen at the raise, not overwritten by the recovery.
    assert await store.evidence(event.id) == evidence
    assert [j.action for j in await store.journal(event.id)] == ["resolve", "raise"]
    assert health.runs == 2
    assert (await store.collector_health())[0].runs == 2


async def test_a_new_poller_resolves_and_unflaps_what_the_last_one_raised(store: Store) -> None:
    """Rule state is in memory; a new lease holder reads it back from the open events."""
    before = RuleEngine(config())
    raised = feed(before, (0, Severity.MAJOR))
    flapping = [
        e
        for at in range(8)
        for e in before.process(
            [obs(Severity.WARNING if at % 2 else Severity.OK, T0 + at, check="disk:/")]
        )
    ]
    assert any(e.check == "disk:/:flapping" for e in flapping)
    await store.upsert_events([*raised, *flapping], "bridge")

    after = RuleEngine(config())  # the poller restarted: nothing in memory
    after.restore(await store.list_events(keep_unacked_resolved=False))
    out = after.process([obs(Severity.OK, T0 + 100), obs(Severity.OK, T0 + 100, check="disk:/")])
    assert ("cpu", Severity.OK) in [(e.check, e.severity) for e in out]
    assert ("disk:/:flapping", Severity.OK) in [(e.check, e.severity) for e in out]
    await store.upsert_events(out, "bridge")
    cpu = await store.find_event("local|web1|cpu")
    assert cpu is not None and cpu.state is EventState.RESOLVED
    # Without the restore, the recovery would have been silent.
    assert RuleEngine(config()).process([obs(Severity.OK, T0 + 100)]) == []


def test_until_next_multiple() -> None:
    assert until_next_multiple(100.25, 1.0) == pytest.approx(0.75)
    assert until_next_multiple(100.75, 1.0) == pytest.approx(1.25)  # not at once: the one after
    assert until_next_multiple(100.0, 1.0) == pytest.approx(1.0)
    assert until_next_multiple(101.0, 2.0) == pytest.approx(1.0)
    assert until_next_multiple(100.5, 2.0) == pytest.approx(1.5)


@pytest.mark.parametrize("on_the_clock", [True, False])
async def test_a_collector_on_the_clock_starts_on_whole_seconds(
    store: Store, monkeypatch: pytest.MonkeyPatch, on_the_clock: bool
) -> None:
    """The local host is sampled on the second (the header's clock moves in the
    same frame); others keep an interval from the end of their previous run."""
    clock = FixedClock(T0 + 0.3)  # T0 is a whole second
    collector = FakeCollector(clock, [10.0] * 5)
    collector.on_the_clock = on_the_clock
    runner = CollectorRunner(store, [collector], clock, LevelTracker({}), RuleEngine(Config()))
    starts: list[float] = []

    async def sleep(delay: float) -> None:  # time is the fake clock's
        clock.advance(delay)
        starts.append(clock.now())
        if len(starts) == 3:
            raise asyncio.CancelledError
        clock.advance(0.04)  # the next run takes 40 ms

    monkeypatch.setattr(asyncio, "sleep", sleep)
    with pytest.raises(asyncio.CancelledError):
        await runner._loop(collector)
    offsets = [t - T0 for t in starts]
    if on_the_clock:
        assert offsets == pytest.approx([1.0, 2.0, 3.0], abs=1e-6)
    else:  # an interval after each run (less the run's real time, here ~0)
        assert offsets == pytest.approx([1.3, 2.34, 3.38], abs=0.05)
    assert collector.closed
