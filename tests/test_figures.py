"""Figures an operator acts on must be right: availability from what the polls saw,
the reachability event in step with the device table, evidence of the moment of
raising, numbers with their units, summaries that say a thing once."""

from __future__ import annotations

from pathlib import Path

from bridge.clock import FixedClock
from bridge.config import Config
from bridge.devices import load_device_statuses
from bridge.models import CollectorHealth, EventState
from bridge.reports import Period, build_report
from bridge.rules import RuleEngine
from bridge.runner import CollectorRunner
from bridge.store import open_store
from bridge.thresholds import LevelTracker
from collectors.base import Reading

T0 = 1_800_000_000.0


class FlappingDevice:
    """A device that answers for 15 s, then is silent for 15 s (the fault is faked:
    an unreachable device is one of the two things tests may fake)."""

    interval: float = 5.0
    reachability: tuple[str, str] | None = ("snmp", "ap-lobby")
    on_the_clock: bool = False
    name: str = "snmp:ap-lobby"

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock

    async def collect(self) -> list[Reading]:
        if int((self.clock.now() - T0) // 15) % 2 == 1:
            raise TimeoutError("no answer")
        return [Reading("snmp", "ap-lobby", self.clock.now(), {}, {"sysName": "ap-lobby"})]

    async def close(self) -> None:
        return None


async def test_a_flapping_device_is_available_as_often_as_it_answered(tmp_path: Path) -> None:
    """Polled every 5 s for 30 minutes, answering half the polls: about 50 %, and the
    reachability event says what the device table says after every poll. The event
    had stayed open once the flapping event stood in for it: 12.6 % available."""
    config = Config.model_validate(
        {"local": {"enabled": False},
         "devices": [{"name": "ap-lobby", "address": "127.0.0.1", "interval": 5}]}
    )  # fmt: skip
    store = await open_store(tmp_path / "bridge.db")
    try:
        clock = FixedClock(T0)
        device = FlappingDevice(clock)
        runner = CollectorRunner(store, [device], clock, LevelTracker({}), RuleEngine(config))
        health = CollectorHealth(device.name, device.interval)
        answered = 0
        disagreements = []
        for i in range(360):
            clock.set(T0 + i * 5)
            health = await runner.run_once(device, health)
            answered += health.consecutive_failures == 0
            (status,) = await load_device_statuses(store, config, clock.now())
            event = await store.find_event("snmp|ap-lobby|reachability")
            event_down = event is not None and event.state is not EventState.RESOLVED
            if event_down != (status.status == "unreachable"):
                disagreements.append((i, status.status, event and event.state))
        assert disagreements == []
        flap = await store.find_event("snmp|ap-lobby|reachability:flapping")
        assert flap is not None and flap.state is EventState.OPEN  # still said, once
        report = await build_report(store, config, Period(T0, T0 + 1800), T0 + 1800)
    finally:
        await store.close()
    assert answered == 180
    (a,) = report.availability
    assert a.percent is not None and 49.0 <= a.percent <= 51.0, a
