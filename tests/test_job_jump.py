"""From a job's event to the job: `J` in the Events pane (or in the event's details)
focuses the Schedule pane with its cursor on the job and opens the job's details;
and the event's details show the job's runbook.

Pilot on the real console, a real SQLite store, a fixed clock, at 80x24.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import screen_text, settled, wait_until
from seed import T0
from textual.pilot import Pilot
from textual.widgets import Markdown

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, Severity
from bridge.store import open_store
from bridge.ui.app import BridgeApp, create_app
from bridge.ui.panes.events import EventDetailsScreen, EventsPane
from bridge.ui.panes.schedule import SchedulePane
from bridge.ui.screens.modals import DetailsScreen

WAIT = 5.0
RESOURCE = 3  # the Events pane's resource column
RUNBOOK = "Rerun with `etl --resume`; call data-eng if it fails twice."
JOBS = [
    {"name": "backup", "schedule": "0 2 * * *"},
    {"name": "etl-load", "schedule": "*/5 * * * *", "owner": "data-eng", "runbook": RUNBOOK},
]
FAILED = EventInput(
    "schedule", "etl-load", "failed", Severity.CRITICAL, "etl-load failed (exit 3)", T0 - 30
)
OTHER = EventInput("snmp", "core-sw1", "reachability", Severity.MAJOR, "core-sw1 down", T0 - 60)


@pytest.fixture
async def app(tmp_path: Path) -> BridgeApp:
    db = tmp_path / "bridge.db"
    store = await open_store(db)
    try:
        await store.upsert_events([FAILED, OTHER], "bridge")
    finally:
        await store.close()
    config = Config.model_validate({"jobs": JOBS})
    return create_app(
        config, operator="alice", store_path=db, clock=FixedClock(T0), collect=False,
        hostname="bridge-test", feed_interval=0.05,
    )  # fmt: skip


def offered(app: BridgeApp) -> bool:
    """Whether `J` is live here (the footer offers it), and the palette agrees."""
    found = app.screen.active_bindings.get("J")
    live = found is not None and found.enabled
    if isinstance(app.screen, EventDetailsScreen):
        return live
    titles = [c.title for c in app.get_system_commands(app.screen)]
    assert ("Events: Job" in titles) == live, titles
    return live


async def on_job_event(pilot: Pilot[int], app: BridgeApp) -> EventsPane:
    pane = app.query_one(EventsPane)
    await wait_until(settled(pilot, lambda: len(pane.body.rows) == 2), WAIT, what="rows")
    assert pane.body.rows[0].cells[RESOURCE] == "etl-load"  # the critical first
    assert pane.body.current_key == pane.body.rows[0].key
    return pane


async def job_details_open(pilot: Pilot[int], app: BridgeApp) -> None:
    await wait_until(
        settled(pilot, lambda: isinstance(app.screen, DetailsScreen)), WAIT, what="job details"
    )
    screen = app.screen
    assert isinstance(screen, DetailsScreen)
    assert screen.title_text == "Job etl-load"
    schedule = app.query_one(SchedulePane)
    assert schedule.body.current_key == "etl-load"
    await pilot.press("escape")  # leaves the operator in the Schedule pane, on the job
    await wait_until(settled(pilot, lambda: app.focused is schedule.body), WAIT, what="back")


async def test_J_goes_from_a_job_event_to_the_job(app: BridgeApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await on_job_event(pilot, app)
        assert offered(app)
        await pilot.press("j")  # the switch's event: nothing to jump to
        await wait_until(settled(pilot, lambda: not offered(app)), WAIT, what="J withdrawn")
        await pilot.press("k")
        await wait_until(settled(pilot, lambda: offered(app)), WAIT, what="J offered")
        # The Schedule pane's cursor is on the first job and a filter hides etl-load:
        # the jump still lands on it.
        app.query_one(SchedulePane).set_filter("backup")
        await pilot.press("J")
        await job_details_open(pilot, app)
        assert pane.body.current_key is not None


async def test_the_job_events_details_show_its_runbook_and_J_goes_to_the_job(
    app: BridgeApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await on_job_event(pilot, app)
        await pilot.press("enter")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, EventDetailsScreen)), WAIT, what="details"
        )
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        runbook = screen.query_one("#runbook", Markdown)
        await wait_until(settled(pilot, lambda: bool(runbook.source)), WAIT, what="runbook")
        assert RUNBOOK in runbook.source and "No runbook" not in runbook.source
        await wait_until(
            settled(pilot, lambda: "call data-eng" in screen_text(app)), WAIT, what="drawn"
        )
        assert "etl --resume" in screen.details_text()  # `c` copies it too
        assert offered(app)
        await pilot.press("J")
        await job_details_open(pilot, app)


async def test_no_J_for_an_event_that_is_not_a_jobs(app: BridgeApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await on_job_event(pilot, app)
        await pilot.press("j", "enter")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, EventDetailsScreen)), WAIT, what="details"
        )
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        runbook = screen.query_one("#runbook", Markdown)
        await wait_until(settled(pilot, lambda: bool(runbook.source)), WAIT, what="loaded")
        assert "No runbook for this check" in runbook.source and not offered(app)
        await pilot.press("J")
        await pilot.pause()
        assert app.screen is screen  # nothing happened
        await pilot.press("escape")
        assert pane.body.current_key is not None
