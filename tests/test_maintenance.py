"""Maintenance windows: config checks through the real CLI, and suppression in a real store
while the lease holder's schedule loop keeps the windows open and closes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import Isolated, config_errors, run_bridge

from bridge.config.file import Config
from bridge.config.schedule import MaintenanceConfig
from bridge.core.actions import ActionError
from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, EventState, MaintenanceWindow, Severity
from bridge.rules.engine import RuleEngine
from bridge.runtime.schedule_loop import ScheduleLoop
from bridge.schedule.maintenance import config_windows
from bridge.store import Store

T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC).timestamp()  # 02:00 UTC
M = 60.0


def test_config_errors_name_the_window_or_job(isolated: Isolated) -> None:
    lines = config_errors(
        isolated,
        """
[[jobs]]
name = "backup"
schedule = "0 2 * * *"
calendar = "office"

[[maintenance]]
name = "half"
hosts = ["sw*"]
schedule = "0 2 * * *"

[[maintenance]]
name = "both"
hosts = ["sw*"]
schedule = "0 2 * * *"
duration = 600
start = 2026-03-02T02:00:00
end = 2026-03-02T03:00:00

[[maintenance]]
name = "backwards"
hosts = ["db*"]
start = 2026-03-02T03:00:00
end = 2026-03-02T02:00:00

[[maintenance]]
name = "badcron"
hosts = ["db*"]
schedule = "99 * * * *"
duration = 60
""",
    )
    assert lines == [
        "maintenance[0]: window 'half': a recurring window needs both schedule and duration"
        " (seconds)",
        "maintenance[1]: window 'both': give either schedule + duration or start + end, not both",
        "maintenance[2]: window 'backwards': end (2026-03-02 02:00:00) must be after start"
        " (2026-03-02 03:00:00)",
        "maintenance[3].schedule: invalid cron expression '99 * * * *'",
        # reported with the others, not only once they are fixed
        "jobs[0].calendar: job 'backup': unknown calendar 'office' (known: none defined)",
    ]
    lines = config_errors(
        isolated, '[[jobs]]\nname = "backup"\nschedule = "0 2 * * *"\ncalendar = "x"\n'
    )
    assert lines == ["jobs[0].calendar: job 'backup': unknown calendar 'x' (known: none defined)"]


def test_valid_windows_are_listed(isolated: Isolated) -> None:
    path = isolated.write_config(
        '[[maintenance]]\nname = "patch-tuesday"\nhosts = ["db*", "app?"]\n'
        'schedule = "0 22 * * 2"\nduration = 7200\ntimezone = "Europe/London"\n'
    )
    result = run_bridge(isolated, "--config", str(path), "check-config")
    assert result.returncode == 0, result.stderr
    assert (
        "patch-tuesday    0 22 * * 2 for 7200 s (Europe/London); hosts db*, app?" in result.stdout
    )


def test_recurring_window_opens_and_closes() -> None:
    window = MaintenanceConfig(name="w", hosts=["sw*"], schedule="0 2 * * *", duration=1800)
    assert config_windows([window], T - 1)[0] == []
    assert [w.name for w in config_windows([window], T)[0]] == ["w"]  # opens at 02:00 sharp
    assert config_windows([window], T + 29 * M)[0][0].end == T + 30 * M
    open_, coming = config_windows([window], T + 30 * M)
    assert open_ == [] and coming[0].start == T + 86400


async def test_events_in_a_window_are_stored_suppressed(store: Store) -> None:
    config = Config.model_validate(
        {
            "maintenance": [
                {"name": "net", "hosts": ["sw*"], "start": "2026-03-02T01:50:00",
                 "end": "2026-03-02T02:10:00"},
            ],
            "jobs": [
                {"name": "patch", "schedule": "0 3 * * *", "maintenance": True, "hosts": ["db*"]},
            ],
        }
    )  # fmt: skip
    clock = FixedClock(T)
    loop = ScheduleLoop(store, config, clock, RuleEngine(config))
    await loop.tick()
    assert [w.name for w in await store.maintenance_windows()] == ["net"]

    def raise_(resource: str, at: float) -> EventInput:
        return EventInput("snmp", resource, "ifOperStatus", Severity.MAJOR, "down", at)

    await store.upsert_events([raise_("sw1", T), raise_("rt1", T), raise_("db1", T)], "test")
    sw1 = await store.find_event("snmp|sw1|ifOperStatus")
    rt1 = await store.find_event("snmp|rt1|ifOperStatus")
    assert sw1 is not None and sw1.suppressed_by == "net" and sw1.state is EventState.OPEN
    assert rt1 is not None and not rt1.suppressed
    listed = {e.resource: e.suppressed for e in await store.list_events()}
    assert listed == {"sw1": True, "rt1": False, "db1": False}  # stored, listed, marked

    # The window closes: a problem that outlasts it alerts again.
    clock.set(T + 11 * M)
    await loop.tick()
    assert await store.maintenance_windows() == []
    sw1 = await store.find_event("snmp|sw1|ifOperStatus")
    assert sw1 is not None and sw1.suppressed_by is None
    notes = [(j.action, j.note) for j in await store.journal()]
    assert ("maintenance closed", "net") in notes and ("maintenance opened", "net") in notes

    # A maintenance job's running occurrence opens a window for its hosts.
    clock.set(T + 60 * M)
    run = await store.job_start("patch", "cron", clock.now())
    await loop.tick()
    assert [(w.name, w.hosts, w.source) for w in await store.maintenance_windows()] == [
        ("job:patch", ("db*",), "job")
    ]
    await store.upsert_events([raise_("db2", clock.now())], "test")
    db2 = await store.find_event("snmp|db2|ifOperStatus")
    assert db2 is not None and db2.suppressed_by == "job:patch"
    await store.job_finish("patch", "cron", clock.now() + 5 * M, ok=True, run_id=run.run_id)
    clock.advance(6 * M)
    await loop.tick()
    assert await store.maintenance_windows() == []


async def test_windows_left_behind_do_not_suppress(store: Store) -> None:
    """A holder that died with a window open: past its end it no longer suppresses, and
    the next holder's first tick clears what its config does not open."""
    await store.set_maintenance_windows(
        [MaintenanceWindow("old", ("sw*",), T - 60 * M, T - M, "config")], T - 60 * M
    )
    await store.upsert_events(
        [EventInput("snmp", "sw9", "ifOperStatus", Severity.MAJOR, "down", T)], "test"
    )
    sw9 = await store.find_event("snmp|sw9|ifOperStatus")
    assert sw9 is not None and not sw9.suppressed
    config = Config()
    await ScheduleLoop(store, config, FixedClock(T), RuleEngine(config)).tick()
    assert await store.maintenance_windows() == []


# -- a window an operator opens from an event ------------------------------------------------------
async def suppressed(store: Store, key: str) -> bool:
    event = await store.find_event(key)
    assert event is not None, key
    return event.suppressed


async def test_an_operators_window_mutes_the_host_and_outlives_the_lease_holder(
    store: Store,
) -> None:
    await store.upsert_events(
        [
            EventInput("snmp", "fw-dmz", "reach", Severity.CRITICAL, "unreachable", T),
            EventInput("snmp", "fw-dmz", "ifOperStatus", Severity.MAJOR, "down", T),
            EventInput("snmp", "core-sw1", "reach", Severity.CRITICAL, "unreachable", T),
        ],
        "test",
    )
    fw = await store.find_event("snmp|fw-dmz|reach")
    other = await store.find_event("snmp|core-sw1|reach")
    assert fw is not None and other is not None
    for reason, end, match in (("  ", T + 60 * M, "the note is empty"), ("psu", T, "future")):
        with pytest.raises(ActionError, match=match):
            await store.open_window_for([fw.id], "alice", reason, T, end)
    with pytest.raises(ActionError, match="no event 999"):
        await store.open_window_for([999], "alice", "psu", T, T + M)
    assert await store.maintenance_windows() == []

    hosts = await store.open_window_for([fw.id], "alice", "replacing the PSU", T, T + 60 * M)
    assert hosts == ["fw-dmz"]
    (window,) = await store.maintenance_windows()
    assert (window.hosts, window.start, window.end, window.source) == (
        ("fw-dmz",),
        T,
        T + 60 * M,
        "operator",
    )
    muted = {e.check: e.suppressed for e in await store.list_events() if e.resource == "fw-dmz"}
    assert muted == {"reach": True, "ifOperStatus": True}  # at once, not at the next poll
    assert not await suppressed(store, "snmp|core-sw1|reach")
    (entry, *_) = await store.journal(fw.id)
    assert (entry.actor, entry.action) == ("alice", "maintenance")
    assert entry.note.startswith("fw-dmz until ") and entry.note.endswith(": replacing the PSU")
    assert any(
        (j.actor, j.action, j.event_id) == ("alice", "maintenance opened", None)
        for j in await store.journal()
    )
    # The lease holder writing its own windows keeps the operator's.
    config = Config()
    await ScheduleLoop(store, config, FixedClock(T + M), RuleEngine(config)).tick()
    assert [w.source for w in await store.maintenance_windows()] == ["operator"]
    # New events for the host inside the window are muted as they come.
    await store.upsert_events(
        [EventInput("snmp", "fw-dmz", "cpu", Severity.MAJOR, "cpu 95%", T + 2 * M)], "test"
    )
    assert await suppressed(store, "snmp|fw-dmz|cpu")

    assert await store.close_expired_windows(T + 59 * M) == 0
    assert await store.close_expired_windows(T + 60 * M) == 1
    assert await store.maintenance_windows() == []
    alerting = [e for e in await store.list_events() if e.resource == "fw-dmz"]
    assert len(alerting) == 3 and not any(e.suppressed for e in alerting)
    assert any(
        (j.action, j.note) == ("maintenance closed", "operator:fw-dmz")
        for j in await store.journal()
    )
