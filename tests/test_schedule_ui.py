"""The Schedule pane's keys, driven by Pilot on a real store whose job statuses were
written by the real schedule loop at a fixed time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import settled, wait_until
from seed import HOST, T0
from textual.pilot import Pilot
from textual.widgets import Input, Static

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, ScheduleAction, Severity
from bridge.rules.engine import RuleEngine
from bridge.runtime.schedule_loop import ScheduleLoop
from bridge.store import Store, open_store
from bridge.ui.app import BridgeApp, create_app
from bridge.ui.panes.events import EventsPane
from bridge.ui.panes.schedule import SchedulePane
from bridge.ui.screens.modals import DetailsScreen, PromptScreen

SIZE = (120, 40)
WAIT = 3.0
H, M = 3600.0, 60.0
# T0 is Wed 2026-11-18 11:06:40 UTC (the tests pin TZ=UTC).
CONFIG = {
    "jobs": [
        {"name": "backup", "schedule": "0 10 * * *", "grace": 600, "owner": "dba",
         "hosts": ["db1"], "runbook": "Restart with `backup --resume`."},
        {"name": "etl", "schedule": "0 11 * * *", "depends_on": ["backup"]},
        {"name": "report", "schedule": "0 12 * * *"},
        {"name": "cleanup", "schedule": "0 9 * * *", "owner": "ops"},
    ],
    "maintenance": [
        {"name": "net-work", "hosts": ["sw*"], "start": "2026-11-18T11:00:00",
         "end": "2026-11-18T12:00:00"},
    ],
}  # fmt: skip


def config() -> Config:
    return Config.model_validate(CONFIG)


async def seed(path: Path) -> None:
    """Statuses at T0: backup late, etl blocked, cleanup succeeded (with output), report next."""
    store = await open_store(path)
    try:
        cfg = config()
        clock = FixedClock(T0 - 3 * H)
        loop = ScheduleLoop(store, cfg, clock, RuleEngine(cfg))
        await loop.tick()
        run = await store.job_start("cleanup", "cron", T0 - 2 * H - 6 * M)
        await store.job_finish(
            "cleanup", "cron", T0 - 2 * H, ok=True, run_id=run.run_id,
            output_tail="removed 12 files\n\x1b[31m[red]done[/red]",
        )  # fmt: skip
        clock.set(T0)
        await loop.tick()
        await store.upsert_events(
            [
                EventInput("snmp", "sw1", "ifOperStatus", Severity.MAJOR, "port down", T0),
                EventInput("snmp", "rt1", "ifOperStatus", Severity.MAJOR, "port down", T0),
            ],
            actor="test",
        )
    finally:
        await store.close()


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed(path)
    return path


def make(path: Path) -> BridgeApp:
    return create_app(
        config(), operator="alice", store_path=path, clock=FixedClock(T0), collect=False,
        hostname=HOST, feed_interval=0.05,
    )  # fmt: skip


def pane(app: BridgeApp) -> SchedulePane:
    return app.query_one(SchedulePane)


async def on_job(pilot: Pilot[int], name: str) -> None:
    """Focus the Schedule pane with the cursor on `name`."""
    app = pilot.app
    assert isinstance(app, BridgeApp)
    await pilot.press("2")
    table = pane(app).body
    await wait_until(settled(pilot, lambda: bool(table.rows)), WAIT, what="rows")
    keys = [r.key for r in table.rows]
    table.cursor = keys.index(name)
    await pilot.pause()
    assert table.current_key == name


async def answer(pilot: Pilot[int], text: str) -> PromptScreen:
    await wait_until(
        settled(pilot, lambda: isinstance(pilot.app.screen, PromptScreen)), WAIT, what="a prompt"
    )
    screen = pilot.app.screen
    assert isinstance(screen, PromptScreen), screen
    screen.query_one("#prompt-input", Input).value = text
    await pilot.press("enter")
    await pilot.pause()
    return screen


def error_of(screen: PromptScreen) -> str:
    return str(screen.query_one("#prompt-error", Static).content)


async def changes(path: Path) -> list[tuple[ScheduleAction, str, str, float | None]]:
    store: Store = await open_store(path)
    try:
        return [(c.action, c.actor, c.reason, c.new_time) for c in await store.schedule_changes()]
    finally:
        await store.close()


async def test_list_exceptions_first_and_timeline(db: Path) -> None:
    app = make(db)
    async with app.run_test(size=SIZE) as pilot:
        table = pane(app).body
        await wait_until(settled(pilot, lambda: bool(table.rows)), WAIT, what="rows")
        rows = {r.key: r.cells for r in table.rows}
        assert [r.key for r in table.rows][:2] == ["backup", "etl"]  # late, blocked
        assert rows["backup"][3] == "late" and rows["etl"][3] == "blocked"
        assert rows["cleanup"][3] == "succeeded" and rows["cleanup"][2] == "ok 6m00s"
        assert rows["report"][1] == "12:00"
        strip = "\n".join("".join(t for t, _ in line) for line in pane(app).timeline.lines)
        # cleanup done, backup late and etl blocked, report to come
        assert "▼" in strip and "─" in strip and "!" in strip and "╌" in strip
        assert "OPEN net-work" in strip  # the open maintenance window
        assert "need attention" in str(pane(app).border_title)


async def test_reschedule_refuses_bad_times_then_moves_the_occurrence(db: Path) -> None:
    app = make(db)
    async with app.run_test(size=SIZE) as pilot:
        await on_job(pilot, "backup")
        await pilot.press("r")
        screen = await answer(pilot, "25:99")
        assert "not a time" in error_of(screen) and app.screen is screen
        await answer(pilot, "tomorrow-ish")
        assert "not a time" in error_of(screen)
        await answer(pilot, "09:00")  # T0 is 11:06
        assert "in the past" in error_of(screen) and app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        assert await changes(db) == []  # nothing changed

        await pilot.press("r")
        await answer(pilot, "+2h")
        reason = app.screen
        assert isinstance(reason, PromptScreen) and reason is not screen
        # 11:06:40 + 2h, to the minute: the time confirmed is the time stored,
        # however long the operator takes over the reason.
        question = str(reason.query_one("#prompt-question", Static).content)
        assert "Reschedule backup 10:00 to 13:06: reason" in question
        clock = app.clock
        assert isinstance(clock, FixedClock)
        clock.set(T0 + 100)
        await answer(pilot, "   ")
        assert "reason is required" in error_of(reason)
        await answer(pilot, "db freeze until noon")

        async def saved() -> bool:
            return bool(await changes(db))

        await wait_until(saved, WAIT, what="the reschedule in the store")
        assert await changes(db) == [
            (ScheduleAction.RESCHEDULE, "alice", "db freeze until noon", T0 + 2 * H - 40)
        ]
        store = await open_store(db)
        try:
            journal = await store.journal()
            change = (await store.schedule_changes())[0]
        finally:
            await store.close()
        assert change.occurrence == T0 - 66 * M - 40  # today's 10:00
        entry = next(j for j in journal if j.action == "job reschedule")
        assert entry.actor == "alice" and "db freeze until noon" in entry.note
        # The late occurrence is late no more: its event resolved by alice, with why.
        resolved = next(j for j in journal if j.action == "resolve")
        assert (resolved.actor, resolved.note) == ("alice", "rescheduled: db freeze until noon")


async def test_hold_release_and_mark_done(db: Path) -> None:
    app = make(db)
    async with app.run_test(size=SIZE) as pilot:
        await on_job(pilot, "etl")
        await pilot.press("H")
        screen = await answer(pilot, "")
        assert "reason is required" in error_of(screen)
        await answer(pilot, "waiting for the backup fix")

        async def count(n: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return len(await changes(db)) == n

            return check

        await wait_until(await count(1), WAIT, what="hold saved")
        # The lease holder's engine sees the hold; the pane then offers release.
        store = await open_store(db)
        try:
            cfg = config()
            loop = ScheduleLoop(store, cfg, FixedClock(T0 + 5), RuleEngine(cfg))
            await loop.tick()
        finally:
            await store.close()
        await wait_until(
            settled(pilot, lambda: pane(app).records["etl"].state == "held"), WAIT, what="held"
        )
        await pilot.press("H")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, PromptScreen)), WAIT, what="a prompt"
        )
        assert "Release etl" in str(app.screen.query_one("#prompt-question", Static).content)
        await answer(pilot, "fixed")
        await wait_until(await count(2), WAIT, what="release saved")

        await on_job(pilot, "backup")
        await pilot.press("m")
        await answer(pilot, "ran it by hand")
        await wait_until(await count(3), WAIT, what="done saved")
        assert [(a, who) for a, who, _, _ in await changes(db)] == [
            (ScheduleAction.HOLD, "alice"),
            (ScheduleAction.RELEASE, "alice"),
            (ScheduleAction.DONE, "alice"),
        ]


async def test_details_show_runs_output_dependencies_and_envelope(db: Path) -> None:
    app = make(db)
    async with app.run_test(size=SIZE) as pilot:
        await on_job(pilot, "cleanup")
        await pilot.press("enter")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, DetailsScreen)), WAIT, what="details"
        )
        screen = app.screen
        assert isinstance(screen, DetailsScreen)
        fields = dict(screen.fields)
        assert "ok" in fields["runs"] and "6m00s" in fields["runs"]
        output = next(v for k, v in fields.items() if k.startswith("output"))
        assert "removed 12 files" in output and "\\x1b" in output and "\x1b" not in output
        assert "median m" in fields["envelope"] and "not learned yet" in fields["envelope"]
        assert "the defaults" in fields["rule"]
        await pilot.press("escape")
        await on_job(pilot, "etl")
        await pilot.press("enter")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, DetailsScreen)), WAIT, what="details"
        )
        fields = dict(app.screen.fields)  # type: ignore[attr-defined]
        assert fields["depends on"] == "backup (late)"
        assert "waiting for backup" in fields["current"]


async def test_events_in_a_maintenance_window_are_muted_and_not_counted(db: Path) -> None:
    app = make(db)
    async with app.run_test(size=SIZE) as pilot:
        events = app.query_one(EventsPane)
        await wait_until(settled(pilot, lambda: bool(events.body.rows)), WAIT, what="events")
        rows = {r.cells[3]: r for r in events.body.rows}
        assert rows["sw1"].cells[7] == "maint" and rows["sw1"].style == "muted"
        assert rows["rt1"].cells[7] == "open"
        # backup late (minor) + etl blocked (warning) + rt1; sw1 is not an alert
        assert "3 to ack" in str(events.border_title)


async def test_short_pane_keeps_the_hour_scale_and_names_open_maintenance(db: Path) -> None:
    app = make(db)
    async with app.run_test(size=(80, 24)) as pilot:
        table = pane(app).body
        await wait_until(settled(pilot, lambda: bool(table.rows)), WAIT, what="rows")
        lines = pane(app).timeline.lines
        assert len(lines) == 2 and "▼" in "".join(t for t, _ in lines[0])
        assert "maint open: net-work" in str(pane(app).border_title)


async def late_event(path: Path, job: str = "backup") -> tuple[str, list[tuple[str, str, str]]]:
    """The state of the job's late event, and its journal (oldest first)."""
    store = await open_store(path)
    try:
        event = await store.find_event(f"schedule|{job}|late")
        assert event is not None
        journal = [(j.actor, j.action, j.note) for j in reversed(await store.journal(event.id))]
        return event.state.value, journal
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("key", "reason", "note"),
    [("m", "ran it by hand", "marked done: ran it by hand"), ("H", "db freeze", "held: db freeze")],
)
async def test_mark_done_or_hold_resolves_the_late_event_by_the_operator(
    db: Path, key: str, reason: str, note: str
) -> None:
    assert (await late_event(db))[0] == "open"
    app = make(db)
    async with app.run_test(size=SIZE) as pilot:
        await on_job(pilot, "backup")
        await pilot.press(key)
        await answer(pilot, reason)

        async def resolved() -> bool:
            return (await late_event(db))[0] == "resolved"

        await wait_until(resolved, WAIT, what="the late event resolved")
    _, journal = await late_event(db)
    assert journal[-1] == ("alice", "resolve", note)
    # The lease holder's next ticks agree: nothing re-opens, nothing flaps.
    store = await open_store(db)
    try:
        cfg = config()
        clock = FixedClock(T0 + 5)
        loop = ScheduleLoop(store, cfg, clock, RuleEngine(cfg))
        for i in range(5):
            clock.set(T0 + 5 + i)
            await loop.tick()
        keys = {e.key: e.state.value for e in await store.list_events(include_resolved=True)}
    finally:
        await store.close()
    assert keys["schedule|backup|late"] == "resolved"
    assert not any(k.endswith(":flapping") for k in keys)


async def test_next_column_details_and_engine_agree_after_reschedule_and_hold(db: Path) -> None:
    app = make(db)
    async with app.run_test(size=SIZE) as pilot:
        await on_job(pilot, "backup")
        await pilot.press("r")
        await answer(pilot, "13:30")
        await answer(pilot, "db freeze")
        await on_job(pilot, "etl")  # blocked, due 11:00: already past
        await pilot.press("H")
        await answer(pilot, "waiting for the backup")

        async def saved() -> bool:
            return len(await changes(db)) == 2

        await wait_until(saved, WAIT, what="both changes in the store")
        store = await open_store(db)
        try:
            cfg = config()
            loop = ScheduleLoop(store, cfg, FixedClock(T0 + 5), RuleEngine(cfg))
            await loop.tick()
            engine = loop.engine.statuses
        finally:
            await store.close()
        table = pane(app).body

        def moved() -> bool:
            rows = {r.key: r.cells for r in table.rows}
            return rows["backup"][3] == "rescheduled" and rows["etl"][3] == "held"

        await wait_until(settled(pilot, moved), WAIT, what="the engine's new states")
        rows = {r.key: r.cells for r in table.rows}
        assert engine["backup"].next_run == T0 + 2 * H + 23 * M + 20  # 13:30
        assert rows["backup"][1] == "13:30"
        # Held: its 11:00 will not run; NEXT is the next occurrence, not a time past.
        assert engine["etl"].next_run == T0 + 23 * H + 53 * M + 20  # Thu 11:00
        assert rows["etl"][1] == "Thu 11:00"
        for name, shown in (("backup", "2026-11-18 13:30:00"), ("etl", "2026-11-19 11:00:00")):
            await on_job(pilot, name)
            await pilot.press("enter")
            await wait_until(
                settled(pilot, lambda: isinstance(app.screen, DetailsScreen)), WAIT, what="details"
            )
            fields = dict(app.screen.fields)  # type: ignore[attr-defined]
            assert fields["next due"].startswith(shown), (name, fields["next due"])
            await pilot.press("escape")


# Five jobs needing attention at T0 (archive and backup late, sync overrunning,
# load failed, etl blocked), an every-minute job that ran fine, two quiet ones.
ATTENTION_JOBS: list[dict[str, Any]] = [
    {"name": "backup", "schedule": "0 10 * * *", "grace": 600},
    {"name": "etl", "schedule": "0 11 * * *", "depends_on": ["backup"]},
    {"name": "load", "schedule": "30 10 * * *"},
    {"name": "sync", "schedule": "0 8 * * *", "max_runtime": 600},
    {"name": "ping", "schedule": "* * * * *", "grace": 300},
    {"name": "cleanup", "schedule": "0 9 * * *"},
    {"name": "report", "schedule": "0 12 * * *"},
    {"name": "archive", "schedule": "0 7 * * *", "grace": 600},
]
ATTENTION = {"archive", "backup", "etl", "load", "sync"}


def attention_config(*, archive: bool) -> Config:
    jobs = [j for j in ATTENTION_JOBS if archive or j["name"] != "archive"]
    return Config.model_validate({"jobs": jobs})


async def seed_attention(path: Path, cfg: Config) -> None:
    """The real schedule loop judges the jobs from real run signals, ending at T0."""
    store = await open_store(path)
    try:
        clock = FixedClock(T0 - 5 * H)
        loop = ScheduleLoop(store, cfg, clock, RuleEngine(cfg))
        await loop.tick()
        runs = [
            ("sync", T0 - 3 * H - 6 * M - 40, None, True),  # 08:00, still running
            ("cleanup", T0 - 2 * H - 6 * M - 40, T0 - 2 * H, True),
            ("load", T0 - 36 * M - 40, T0 - 31 * M, False),  # 10:30, failed
        ]
        for k in range(10):  # ping's last ten minutes
            at = T0 - 40 - (9 - k) * M + 1
            runs.append(("ping", at, at + 5, True))
        for name, start, end, ok in runs:
            clock.set(start)
            await loop.tick()
            run = await store.job_start(name, "cron", start)
            if end is not None:
                clock.set(end)
                await loop.tick()
                await store.job_finish(name, "cron", end, ok=ok, run_id=run.run_id)
        clock.set(T0)
        await loop.tick()
    finally:
        await store.close()


async def attention_app(tmp_path: Path, *, archive: bool) -> BridgeApp:
    cfg = attention_config(archive=archive)
    path = tmp_path / "bridge.db"
    await seed_attention(path, cfg)
    return create_app(
        cfg, operator="alice", store_path=path, clock=FixedClock(T0), collect=False,
        hostname=HOST, feed_interval=0.05,
    )  # fmt: skip


def in_view(p: SchedulePane) -> list[str]:
    """The job rows drawn in the list at its height and scroll position."""
    table = p.body
    top = int(table.scroll_y)
    return [r.key for r in table.rows[top : top + table.size.height - 1]]


async def test_every_job_needing_attention_is_in_view_at_80x24(tmp_path: Path) -> None:
    app = await attention_app(tmp_path, archive=False)
    async with app.run_test(size=(80, 24)) as pilot:
        p = pane(app)
        await wait_until(
            settled(
                pilot, lambda: len(p.records) == 7 and ATTENTION - {"archive"} <= set(in_view(p))
            ),
            WAIT,
            what="the four jobs needing attention in view",
        )
        assert in_view(p)[:4] == ["load", "sync", "backup", "etl"]  # worst first
        assert str(p.border_title) == "2 Schedule (4 need attention)"


async def test_jobs_needing_attention_out_of_view_are_counted_as_not_shown(
    tmp_path: Path,
) -> None:
    app = await attention_app(tmp_path, archive=True)
    async with app.run_test(size=(80, 24)) as pilot:
        p = pane(app)

        def shown() -> int:
            return len(ATTENTION & set(in_view(p)))

        await wait_until(settled(pilot, lambda: len(p.records) == 8), WAIT, what="statuses")
        # The pane grows to half of what it shares with Events: four of the five fit.
        assert shown() == 4
        assert str(p.border_title) == "2 Schedule (5 need attention, 1 not shown)"
        await pilot.press("2", "end")  # the list scrolls to its last job
        await wait_until(
            settled(pilot, lambda: int(p.body.scroll_y) > 0), WAIT, what="the list scrolled"
        )
        hidden = 5 - shown()
        assert hidden > 1
        assert str(p.border_title) == f"2 Schedule (5 need attention, {hidden} not shown)"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_timeline_keeps_its_hours_and_shows_each_slots_worst_state(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = await attention_app(tmp_path, archive=False)
    async with app.run_test(size=size) as pilot:
        p = pane(app)
        await wait_until(settled(pilot, lambda: len(p.records) == 7), WAIT, what="statuses")
        scale, marks = ("".join(t for t, _ in line) for line in p.timeline.lines[:2])
        assert len(scale) == len(marks) == p.timeline.size.width
        labels = [f"{h:02d}" for h in range(0, 24, 3)]
        assert scale.split() == [*labels[:4], "▼", *labels[4:]]  # 11:06: between 09 and 12
        # The every-minute job draws a line of its outcomes, not a wall of one mark:
        # done before now, to come after, and the failed, overrunning, late and
        # blocked occurrences stand out in it.
        now = scale.index("▼")
        assert set(marks[:now]) >= {"─", "✖", "!"} and set(marks[now + 1 :]) == {"╌"}
        assert "│" not in marks


async def test_the_list_returns_to_its_top_when_the_operator_looks_elsewhere(
    tmp_path: Path,
) -> None:
    app = await attention_app(tmp_path, archive=False)
    async with app.run_test(size=(80, 24)) as pilot:
        p = pane(app)
        await wait_until(settled(pilot, lambda: len(p.records) == 7), WAIT, what="statuses")
        await pilot.press("2", "end")  # the last quiet job: the list scrolls to it
        await wait_until(settled(pilot, lambda: int(p.body.scroll_y) > 0), WAIT, what="scrolled")
        assert "not shown" in str(p.border_title)
        await pilot.press("1")  # back to Events
        await wait_until(
            settled(pilot, lambda: ATTENTION - {"archive"} <= set(in_view(p))),
            WAIT,
            what="the jobs needing attention back in view",
        )
        assert str(p.border_title) == "2 Schedule (4 need attention)"


async def test_a_re_sort_does_not_scroll_the_list_nobody_is_using(tmp_path: Path) -> None:
    app = await attention_app(tmp_path, archive=True)
    async with app.run_test(size=(80, 24)) as pilot:
        p = pane(app)
        await wait_until(settled(pilot, lambda: len(p.records) == 8), WAIT, what="statuses")
        assert p.body.current_key == "load"  # the worst job first; Events has the focus
        # load runs again and succeeds: it goes down among the quiet jobs.
        store = await open_store(tmp_path / "bridge.db")
        try:
            cfg = attention_config(archive=True)
            clock = FixedClock(T0 + 20)
            loop = ScheduleLoop(store, cfg, clock, RuleEngine(cfg))
            run = await store.job_start("load", "cron", T0 + 20)
            await loop.tick()
            clock.set(T0 + 30)
            await store.job_finish("load", "cron", T0 + 30, ok=True, run_id=run.run_id)
            await loop.tick()
        finally:
            await store.close()
        await wait_until(
            settled(pilot, lambda: p.records["load"].state == "succeeded"), WAIT, what="load ok"
        )
        await pilot.pause()
        assert set(in_view(p)) >= ATTENTION - {"load"}
        assert str(p.border_title) == "2 Schedule (4 need attention)"


async def test_after_a_resize_to_80x24_the_pane_still_fits_what_needs_attention(
    tmp_path: Path,
) -> None:
    app = await attention_app(tmp_path, archive=True)
    async with app.run_test(size=(160, 50)) as pilot:
        p = pane(app)
        await wait_until(settled(pilot, lambda: len(p.records) == 8), WAIT, what="statuses")
        assert set(in_view(p)) >= ATTENTION
        await pilot.resize_terminal(80, 24)
        # Half of the 17 rows Events and Schedule share, rounded up: four of five in view.
        await wait_until(
            settled(pilot, lambda: p.outer_size.height == 9), WAIT, what="the pane's new height"
        )
        assert len(ATTENTION & set(in_view(p))) == 4
        assert str(p.border_title) == "2 Schedule (5 need attention, 1 not shown)"
        await pilot.resize_terminal(120, 40)
        await wait_until(
            settled(pilot, lambda: set(in_view(p)) >= ATTENTION), WAIT, what="all five again"
        )
        assert str(p.border_title) == "2 Schedule (5 need attention)"


async def test_a_cursor_put_on_a_job_from_elsewhere_stays_through_a_redraw(
    tmp_path: Path,
) -> None:
    # J puts the cursor on a job before the list has the focus: a redraw in
    # between must not send it back to the top.
    app = await attention_app(tmp_path, archive=False)
    async with app.run_test(size=(80, 24)) as pilot:
        p = pane(app)
        await wait_until(settled(pilot, lambda: len(p.records) == 7), WAIT, what="statuses")
        assert not p.body.has_focus
        assert p.body.move_to("cleanup")
        p.redraw()
        await pilot.pause()
        assert p.body.current_key == "cleanup"


async def test_a_filter_matching_no_job_says_so_not_that_none_are_configured(db: Path) -> None:
    app = make(db)
    async with app.run_test(size=SIZE) as pilot:
        await on_job(pilot, "backup")
        await pilot.press("slash", *"nosuchjob", "enter")
        table = pane(app).body
        await wait_until(settled(pilot, lambda: not table.rows), WAIT, what="no rows")
        assert table.empty_text == "no jobs match the filter"


async def test_mark_done_on_a_job_that_needs_nothing_says_why(db: Path) -> None:
    from conftest import screen_text

    app = make(db)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await on_job(pilot, "cleanup")  # succeeded at 09:06
        await pilot.press("m")
        await wait_until(
            settled(pilot, lambda: "cleanup: nothing to change" in screen_text(app)), WAIT,
            what="the warning",
        )  # fmt: skip
        assert "cleanup: nothing to change while it is succeeded" in screen_text(app)
        assert not isinstance(app.screen, PromptScreen)
        assert await changes(db) == []
