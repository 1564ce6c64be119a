"""Figures an operator acts on must be right: availability from what the polls saw,
the reachability event in step with the device table, evidence of the moment of
raising, numbers with their units, summaries that say a thing once."""

from __future__ import annotations

from pathlib import Path

from conftest import Isolated, run_bridge, seeded_config

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.core.models import CollectorHealth, EventState
from bridge.reports.devices import load_device_statuses
from bridge.reports.levels import Period, build_report
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.runner import CollectorRunner
from bridge.store import Store, open_store
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


# -- evidence, units, summaries -------------------------------------------------------------
class LocalHost:
    """The local host's readings, given in order (a recorded psutil sample each)."""

    interval: float = 10.0
    reachability: tuple[str, str] | None = None
    on_the_clock: bool = False
    name: str = "local"

    def __init__(self, readings: list[Reading]) -> None:
        self.readings = readings

    async def collect(self) -> list[Reading]:
        return [self.readings.pop(0)]

    async def close(self) -> None:
        return None


async def test_evidence_at_raise_is_the_moment_of_raising(tmp_path: Path) -> None:
    """cpu warning at T0, critical ten seconds later: the evidence shown as "at raise"
    is T0's reading, not the later one's."""
    from seed import local_reading

    from bridge.config.local import Threshold

    config = Config.model_validate({"local": {"enabled": True}})
    store = await open_store(tmp_path / "bridge.db")
    try:
        clock = FixedClock(T0)
        thresholds = {"cpu": Threshold(warning=80, critical=95, hysteresis=0)}
        host = LocalHost([local_reading(T0, cpu=85.0), local_reading(T0 + 10, cpu=97.0)])
        runner = CollectorRunner(store, [host], clock, LevelTracker(thresholds), RuleEngine(config))
        health = CollectorHealth(host.name, host.interval)
        for at in (T0, T0 + 10):
            clock.set(at)
            health = await runner.run_once(host, health)
        event = await store.find_event("local|bridge-test|cpu")
        assert event is not None and event.severity.label == "critical"
        evidence = await store.evidence(event.id)
    finally:
        await store.close()
    assert evidence is not None
    assert evidence["at"] == T0 == event.opened_at
    assert evidence["metrics"]["cpu"] == 85.0


def test_metrics_read_with_their_units() -> None:
    from bridge.core.text import metric_text, rate_text

    assert metric_text("disk_read", 32688.2) == "31.9 KiB/s"
    assert metric_text("disk_write", 3 * 2**20) == "3 MiB/s"
    assert metric_text("net_rx", 8e5) == "800 Kb/s"
    assert metric_text("cpu", 99.04) == "99.0%" and metric_text("disk:/var", 96.5) == "96.5%"
    assert metric_text("load", 0.4) == "0.40 per core"
    assert (rate_text(301.2e6), rate_text(12.5e3), rate_text(0)) == (
        "301 Mb/s",
        "12.5 Kb/s",
        "0 b/s",
    )


async def test_event_details_show_evidence_values_with_units(tmp_path: Path) -> None:
    from conftest import settled, wait_until
    from seed import HOST, make_app, seed_store

    from bridge.core.models import EventInput, Severity
    from bridge.ui.panes.events import EventDetailsScreen
    from bridge.ui.widgets.lines import LinesView

    db = tmp_path / "bridge.db"
    await seed_store(db)
    evidence = {"at": T0, "metrics": {"cpu": 99.0, "disk_read": 32688.2, "net_rx": 301.2e6}}
    store = await open_store(db)
    try:
        await store.upsert_events(
            [EventInput("local", HOST, "cpu", Severity.CRITICAL, "cpu 99.0%", 1_795_000_000.0,
                        value=99.0, evidence=evidence)],
            "bridge",
        )  # fmt: skip
    finally:
        await store.close()
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1", "home", "enter")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, EventDetailsScreen)), 3, what="details"
        )
        view = app.screen.query_one("#event-lines", LinesView)
        await wait_until(settled(pilot, lambda: bool(view.lines)), 3, what="the details' lines")
        text = "\n".join("".join(t for t, _ in line) for line in view.lines)
    assert "cpu 99.0%" in text and "disk_read 31.9 KiB/s" in text and "net_rx 301 Mb/s" in text
    assert "32688" not in text


async def test_a_failed_run_says_its_exit_code_once(tmp_path: Path) -> None:
    """`bridge job run` records a command that wrote nothing as message "exit 3": the
    event said `etl-load failed (exit 3): exit 3`, the job's runs `exit 3  exit 3`."""
    from bridge.core.models import JobRun, JobRunStatus
    from bridge.runtime.schedule_loop import ScheduleLoop
    from bridge.ui.panes.schedule import job_details

    config = Config.model_validate({"jobs": [{"name": "etl-load", "schedule": "* * * * *"}]})
    store = await open_store(tmp_path / "bridge.db")
    try:
        clock = FixedClock(T0)
        loop = ScheduleLoop(store, config, clock, RuleEngine(config))
        await loop.tick()
        summaries = []
        for minute, message in ((1, "exit 3"), (2, "ORA-01555: snapshot too old")):
            at = T0 + minute * 60 + 5
            clock.set(at)
            run = await store.job_start("etl-load", "cron", at)
            await store.job_finish("etl-load", "cron", at + 2, ok=False, run_id=run.run_id,
                                   exit_code=3, message=message)  # fmt: skip
            clock.set(at + 2)
            await loop.tick()
            event = await store.find_event("schedule|etl-load|failed")
            assert event is not None
            summaries.append(event.summary)
        runs = await store.job_runs("etl-load")
        records = {r.job: r for r in await store.job_statuses()}
    finally:
        await store.close()
    assert summaries == [
        "etl-load failed (exit 3)",
        "etl-load failed (exit 3: ORA-01555: snapshot too old)",
    ]
    fields = dict(job_details(config.jobs, config.jobs[0], records, runs, [], T0 + 200))
    lines = fields["runs"].splitlines()
    assert lines[1].endswith(" 2s  exit 3"), lines
    assert lines[0].endswith("exit 3: ORA-01555: snapshot too old"), lines
    bare = JobRun(1, "j", "r", T0, T0, JobRunStatus.FAILED, exit_code=None, message="boom")
    assert bare.outcome == "boom"


async def _seed_rates(store: Store) -> None:
    reading = Reading(
        "snmp", "core-sw1", T0, {"in_bps": 301.2e6, "out_bps": 150.4e6},
        {"sysName": "core-sw1", "interfaces": [
            {"index": 1, "name": "Gi0/1", "admin": "up", "oper": "up",
             "in_bps": 301.2e6, "out_bps": 150.4e6}]},
    )  # fmt: skip
    await store.write_reading(reading, {})
    await store.record_health(
        CollectorHealth("snmp:core-sw1", 60.0, last_run=T0, last_success=T0, runs=1)
    )


def test_bridge_devices_rates_read_in_and_out(isolated: Isolated) -> None:
    config = seeded_config(
        isolated, _seed_rates,
        '[store]\npath = "{db}"\n[local]\nenabled = false\n'
        '[[devices]]\nname = "core-sw1"\naddress = "127.0.0.1"\n',
    )  # fmt: skip
    out = run_bridge(isolated, "--config", str(config), "devices")
    assert out.returncode == 0, out.stderr
    header, row = out.stdout.splitlines()
    assert "TRAFFIC" in header
    assert row.endswith("in 301 Mb/s  out 150 Mb/s"), row
