"""The console driven by Textual's Pilot: every key in the help screen, on a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import settled, wait_until
from seed import HOST, T0, make_app, seed_store
from textual.binding import Binding
from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, Severity
from bridge.store import open_store
from bridge.ui.app import BridgeApp
from bridge.ui.panes.events import EventDetailsScreen, EventsPane
from bridge.ui.panes.health import HealthPane
from bridge.ui.panes.schedule import SchedulePane
from bridge.ui.screens.modals import KEYS, ConfirmScreen, DetailsScreen, HelpScreen
from bridge.ui.widgets.header import BridgeHeader
from bridge.ui.widgets.header import header_text as bridge_header_text
from bridge.ui.widgets.keybar import KeyBar
from bridge.ui.widgets.lines import LinesView
from bridge.ui.widgets.rowtable import RowTable


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed_store(path)
    return path


def table(app: BridgeApp, pane: type[EventsPane] | type[SchedulePane]) -> RowTable:
    return app.query_one(pane).body


def rendered(widget: RowTable | LinesView) -> str:
    """The widget's visible lines as plain text, as the terminal would get them."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def all_lines(view: LinesView) -> str:
    """Every line the view holds, scrolled into sight or not."""
    return "\n".join("".join(text for text, _ in line) for line in view.lines)


def focused_id(app: BridgeApp) -> str | None:
    return app.focused.id if app.focused is not None else None


def header_text(app: BridgeApp) -> str:
    """The header as drawn: the top line of the screen."""
    return bridge_header_text(app.query_one(BridgeHeader))


async def test_three_panes_and_header(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for pane in (EventsPane, SchedulePane, HealthPane):
            region = app.query_one(pane).region
            assert region.width > 20 and region.height > 5, pane
        head = header_text(app)
        assert HOST in head and "operator alice" in head
        assert "18 Nov 11:06:40 UTC" in head  # T0, in the pinned zone
        assert "no poller" in head and "STALE" not in head  # collect=False, nobody polls
        events = table(app, EventsPane)
        assert [r.cells[1] for r in events.rows] == ["CRITICAL", "MAJOR", "WARNING", "INFO"]
        health = rendered(app.query_one(HealthPane).host_view)
        assert "42.5%" in health and "/var" in health and "postgres" in health
        sched = rendered(table(app, SchedulePane))
        assert "nightly-backup" in sched and "billing-batch" in sched


async def test_untrusted_text_is_literal(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        screen = rendered(table(app, EventsPane))
        assert "[bold red]pwned[/]" in screen
        assert "\\x1b[2J" in screen and "\x1b" not in screen


async def test_cursor_keys(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        events = table(app, EventsPane)
        assert app.focused is events and events.cursor == 0
        await pilot.press("j")
        assert events.cursor == 1
        await pilot.press("down", "down")
        assert events.cursor == 3
        await pilot.press("down")  # stops at the last row
        assert events.cursor == 3
        await pilot.press("k")
        assert events.cursor == 2
        await pilot.press("up")
        assert events.cursor == 1
        await pilot.press("home")
        assert events.cursor == 0
        await pilot.press("end")
        assert events.cursor == 3
        await pilot.press("pageup")
        assert events.cursor == 0
        await pilot.press("pagedown")
        assert events.cursor == 3


async def test_pane_focus_keys(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        assert app.focused is table(app, SchedulePane)
        await pilot.press("3")
        assert focused_id(app) == "health-view"
        await pilot.press("1")
        assert app.focused is table(app, EventsPane)
        await pilot.press("tab")
        assert app.focused is table(app, SchedulePane)
        await pilot.press("tab")
        assert focused_id(app) == "health-view"
        await pilot.press("shift+tab")
        assert app.focused is table(app, SchedulePane)


async def test_zoom(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3", "z")
        health = app.query_one(HealthPane)
        assert app.screen.maximized is health
        assert health.region.height >= 20
        assert "TOP CPU" in all_lines(health.host_view)  # the full view, not the summary
        await pilot.press("z")
        assert app.screen.maximized is None
        assert "TOP CPU" not in all_lines(health.host_view)


async def test_filter(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        events = table(app, EventsPane)
        await pilot.press("slash")
        box = app.query_one("#filter", Input)
        assert box.display and app.focused is box
        await pilot.press(*"uplink")
        await wait_until(settled(pilot, lambda: len(events.rows) == 1), 2, what="filtered rows")
        assert [r.cells[3] for r in events.rows] == ["core-sw1"]
        await pilot.press("enter")
        assert not box.display and app.focused is events
        assert len(events.rows) == 1  # Enter keeps the filter
        await pilot.press("slash", "escape")
        await wait_until(settled(pilot, lambda: len(events.rows) == 4), 2, what="unfiltered rows")
        assert app.focused is events


async def test_enter_opens_details(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("j", "enter")
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        await wait_until(settled(pilot, lambda: screen.event is not None), 2, what="details")
        text = all_lines(screen.query_one(LinesView))
        assert "core-sw1" in text and "uplink Gi0/1 down" in text and "JOURNAL" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, EventDetailsScreen)
        await pilot.press("2", "enter")
        assert isinstance(app.screen, DetailsScreen)
        assert app.screen.title_text == "Job nightly-backup"


async def test_help_lists_every_key(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = rendered(app.screen.query_one(LinesView))
        for _, keys in KEYS:
            for key, what in keys:
                assert key in text and what in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_scrolls_to_its_last_line_at_80x24(db: Path) -> None:
    """Help is longer than a small terminal: the keyboard reaches its last line."""
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        dialog = app.screen.query_one("#help-dialog")
        assert dialog.region.bottom <= 24
        await pilot.press("end")
        await pilot.pause()
        view = app.screen.query_one(LinesView)
        last = len(view.lines) - 1
        # The last line is drawn inside the dialog's visible area (the region moves as it scrolls).
        y = view.region.y + last
        assert dialog.region.y < y < dialog.region.bottom - 1, (y, dialog.region)


async def test_every_help_line_fits_at_80x24(db: Path) -> None:
    """A description cut at the dialog's edge reads as something else."""
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        view = app.screen.query_one(LinesView)
        longest = max(sum(len(text) for text, _ in line) for line in view.lines)
        assert 0 < longest <= view.size.width, (longest, view.size.width)


def test_help_names_every_bound_key() -> None:
    """A key bound in the console but missing from help is a key nobody finds."""
    shown = {token for _, keys in KEYS for key, _ in keys for token in key.split()}
    names = {"slash": "/", "question_mark": "?", "ctrl+l": "Ctrl+L", "ctrl+q": "Ctrl+Q"}
    bound = [
        *BridgeApp.BINDINGS,
        *EventsPane.BINDINGS,
        *SchedulePane.BINDINGS,
    ]
    keys = {names.get(k, k) for b in bound if isinstance(b, Binding) for k in b.key.split(",")}
    assert keys - shown == set()


async def test_ctrl_l_is_bound_and_listed(db: Path) -> None:
    """The key every terminal program has, for a screen another program wrote over
    (what it sends: tests/test_terminal.py)."""
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert any(b.key == "ctrl+l" for b in BridgeApp.BINDINGS if isinstance(b, Binding))
        await pilot.press("question_mark")
        assert "Ctrl+L" in rendered(app.screen.query_one(LinesView))
        await pilot.press("escape")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Redraw the screen" in titles


async def test_quit(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_quit_asks_while_an_action_is_in_flight(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        app.in_flight = 1
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("q", "y")
        await pilot.pause()
    assert app.return_code == 0


async def test_command_palette_runs_actions(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Go to Health")
        palette = app.screen
        await wait_until(
            settled(
                pilot,
                lambda: (
                    isinstance(palette, CommandPalette)
                    and bool(palette.query("CommandList.--visible"))
                ),
            ),
            2,
            what="palette search",
        )
        await pilot.press("enter")
        await pilot.pause()
        assert focused_id(app) == "health-view"


async def test_ctrl_q_asks_too_while_an_action_is_in_flight(db: Path) -> None:
    """Textual's own quit key must not skip the "still being saved" question."""
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        app.in_flight = 1
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.is_running
        await pilot.press("ctrl+q", "y")
        await pilot.pause()
    assert app.return_code == 0


async def test_palette_lists_every_action_of_the_focused_pane_once(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for key, pane in (("1", EventsPane), ("2", SchedulePane)):
            await pilot.press(key)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert len(titles) == len(set(titles)), titles
            assert titles.count("Keys") == 1 and "Maximize" not in titles
            assert "Quit" not in titles and "Quit bridge" in titles and "Theme" in titles
            for binding in pane.BINDINGS:
                assert isinstance(binding, Binding)
                if binding.action == "job":  # only on a job's event: tests/test_job_jump.py
                    continue
                assert f"{pane.title}: {binding.description}" in titles, binding
        assert "Schedule: Reschedule" in titles and "Schedule: Mark done" in titles
        assert not any(t.startswith("Events: ") for t in titles)

        await pilot.press("1", "end")  # the trap, resolved by hand from the palette
        await pilot.press("ctrl+p", *"Resolve by hand")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        hits = palette.query_one(CommandList)
        await wait_until(settled(pilot, lambda: hits.option_count > 0), 2, what="palette search")
        await pilot.press("enter")
        await wait_until(
            settled(
                pilot,
                lambda: "Resolve by hand INFO edge-rt2" in str(getattr(app.screen, "question", "")),
            ),
            2,
            what="the resolve prompt",
        )


async def test_another_process_commit_shows_within_a_second(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        other = await open_store(db)
        try:
            await other.upsert_events(
                [EventInput("script", "db1", "replication", Severity.CRITICAL, "lag 300 s", T0)],
                actor="bob",
            )
        finally:
            await other.close()
        events = table(app, EventsPane)

        async def shown() -> bool:
            await pilot.pause()
            return any(r.cells[3] == "db1" for r in events.rows)

        took = await wait_until(shown, 1.0, what="the other process's event")
        assert took < 1.0


async def test_stale_marker(db: Path) -> None:
    clock = FixedClock(T0)
    app = make_app(db, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "STALE" not in header_text(app)
        clock.advance(app.stale_after + 5)
        app._tick()
        await pilot.pause()
        assert "STALE" in header_text(app)
        assert "STALE" in rendered(app.query_one(HealthPane).host_view)


async def test_narrow_terminal_shows_all_three(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for pane in (EventsPane, SchedulePane, HealthPane):
            region = app.query_one(pane).region
            assert region.width == 80 and region.height >= 4, pane
        health = rendered(app.query_one(HealthPane).host_view)
        assert "CPU" in health and "MEM" in health and "TOP CPU" not in health


async def test_stale_when_no_sample_ever_arrives(tmp_path: Path) -> None:
    """A console whose poller never delivers must say so, not show an empty calm screen."""
    clock = FixedClock(T0)
    app = make_app(tmp_path / "empty.db", clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "STALE" not in header_text(app)
        clock.advance(app.stale_after + 1)
        app._tick()  # the 1 s timer, without waiting a second
        await pilot.pause()
        assert "STALE" in header_text(app)


async def test_brackets_in_names_and_filters_are_literal(db: Path) -> None:
    """Textual reads a str border title as markup; "[/x]" must not crash the console."""
    from bridge.ui.panes.schedule import SchedulePane as Schedule
    from bridge.ui.screens.modals import DetailsScreen

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"[/x]")
        await pilot.pause()
        events = app.query_one(EventsPane)
        assert "[/x]" in str(events.border_subtitle).replace("\\[", "[")
        await pilot.press("enter")
        app.push_screen(DetailsScreen("Job db[/x] [bold]", []))
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, DetailsScreen)
        assert app.query_one(Schedule) is not None


async def test_the_footer_fits_80_columns(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = _footer(app)
        assert "? Help" in footer and "q Quit" in footer, footer


def _footer(app: BridgeApp) -> str:
    return app.query_one(KeyBar).render_line(0).text


async def test_the_footer_follows_focus_and_its_keys_can_be_clicked(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "a Ack" in _footer(app) and "▏ ^p palette" in _footer(app)
        await pilot.press("tab")  # to the schedule pane: its keys, not the events pane's
        await wait_until(
            settled(pilot, lambda: "r Reschedule" in _footer(app)), 2, what="schedule keys"
        )
        assert "a Ack" not in _footer(app)
        column = _footer(app).index("? Help")
        assert await pilot.click(KeyBar, offset=(column + 1, 0))
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, HelpScreen)), 2, what="help by click"
        )
