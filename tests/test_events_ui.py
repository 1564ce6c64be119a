"""Every key of the Events pane, driven by Pilot on a real, seeded SQLite store at a
fixed time: what the operator presses is what the store (and its journal) records."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import settled, wait_until
from seed import HOST, T0, make_app, seed_store
from textual.pilot import Pilot
from textual.widgets import Input, Static

from bridge.core.actions import Action
from bridge.core.clock import FixedClock
from bridge.core.models import Event, EventInput, EventState, Severity
from bridge.store import open_store
from bridge.ui.app import BridgeApp
from bridge.ui.panes.events import EventDetailsScreen, EventsPane
from bridge.ui.screens.modals import ConfirmScreen, PromptScreen
from bridge.ui.widgets.header import BridgeHeader, header_text
from bridge.ui.widgets.lines import LinesView
from bridge.ui.widgets.rowtable import RowTable

SIZE = (120, 40)
WAIT = 3.0  # bound for the console to show what the store says
STATE = 7  # column of the state cell in a row


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed_store(path)
    return path


def pane(app: BridgeApp) -> EventsPane:
    return app.query_one(EventsPane)


async def stored(
    pilot: Pilot[int], event_id: int, condition: Callable[[Event], bool], what: str
) -> Event:
    """Wait until the app's store shows `condition` for the event; return the event."""
    app = pilot.app
    assert isinstance(app, BridgeApp)
    found: list[Event] = []

    async def check() -> bool:
        await pilot.pause()
        event = await app.store.get_event(event_id)
        if event is not None and condition(event):
            found.append(event)
            return True
        return False

    await wait_until(check, WAIT, what=what)
    return found[-1]


def row_of(app: BridgeApp, event_id: int) -> tuple[str, ...] | None:
    for row in pane(app).body.rows:
        if row.key == str(event_id):
            return row.cells
    return None


def rendered(widget: RowTable | LinesView) -> str:
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


async def prompt(pilot: Pilot[int], text: str | None = None) -> PromptScreen:
    """The open prompt; with `text`, type it (replacing what was there) and press Enter."""
    screen = pilot.app.screen
    assert isinstance(screen, PromptScreen), screen
    if text is not None:
        box = screen.query_one("#prompt-input", Input)
        box.value = ""
        if text:
            await pilot.press(*text)
        await pilot.press("enter")
    return screen


async def current_id(pilot: Pilot[int]) -> int:
    app = pilot.app
    assert isinstance(app, BridgeApp)
    await wait_until(settled(pilot, lambda: bool(pane(app).body.rows)), WAIT, what="rows")
    key = pane(app).body.current_key
    assert key is not None
    return int(key)


# -- a: acknowledge, u: unacknowledge ----------------------------------------------------------
async def test_an_ack_is_counted_as_being_saved_until_the_app_commits_it(db: Path) -> None:
    """The pane sends the ack up; the app saves it. While another writer holds the
    store's lock the app counts it as being saved (q asks first), and once the lock
    is free it commits and the pane shows it."""
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        event_id = await current_id(pilot)
        await pilot.press("a")
        other = sqlite3.connect(db, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # within the store's busy timeout (5 s)
            await prompt(pilot, "")
            await wait_until(settled(pilot, lambda: app.in_flight == 1), WAIT, what="saving")
            await pilot.press("q")
            screen = app.screen
            assert isinstance(screen, ConfirmScreen), screen
            assert screen.question == "1 action(s) still being saved. Quit anyway?"
            await pilot.press("n")
            assert app.is_running
        finally:
            other.execute("ROLLBACK")
            other.close()
        await stored(pilot, event_id, lambda e: e.state is EventState.ACKNOWLEDGED, "the ack")
        await wait_until(settled(pilot, lambda: app.in_flight == 0), WAIT, what="saved")
        await wait_until(
            settled(pilot, lambda: (row_of(app, event_id) or ())[STATE] == "ack"),
            WAIT,
            what="the row showing ack",
        )


async def test_ack_with_note_then_unack(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        event_id = await current_id(pilot)
        await pilot.press("a")
        await prompt(pilot, "on it")
        acked = await stored(
            pilot, event_id, lambda e: e.state is EventState.ACKNOWLEDGED, "the ack"
        )
        assert (acked.acked_by, acked.acked_at) == ("alice", T0)
        (entry, *_) = await app.store.journal(event_id)
        assert (entry.action, entry.actor, entry.note) == ("ack", "alice", "on it")
        await wait_until(
            settled(pilot, lambda: (row_of(app, event_id) or ())[STATE] == "ack"),
            WAIT,
            what="the row showing ack",
        )
        # The cursor followed the event to its new place (acknowledged sorts after open).
        assert pane(app).body.current_key == str(event_id)

        await pilot.press("u")
        await prompt(pilot, "wrong one")
        opened = await stored(pilot, event_id, lambda e: e.state is EventState.OPEN, "the unack")
        assert opened.acked_by is None
        (entry, *_) = await app.store.journal(event_id)
        assert (entry.action, entry.actor, entry.note) == ("unack", "alice", "wrong one")


async def test_escape_cancels_the_prompt(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        event_id = await current_id(pilot)
        before = await app.store.journal()
        await pilot.press("a", *"never mind", "escape")
        assert not isinstance(app.screen, PromptScreen)
        await pilot.pause()
        assert await app.store.journal() == before
        event = await app.store.get_event(event_id)
        assert event is not None and event.state is EventState.OPEN


# -- n: note -------------------------------------------------------------------------------------
async def test_note_empty_is_refused_in_the_prompt_then_added(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        event_id = await current_id(pilot)
        before = await app.store.journal()
        await pilot.press("n")
        screen = await prompt(pilot, "")
        error = screen.query_one("#prompt-error", Static)
        assert "the note is empty" in str(error.content)
        assert app.screen is screen  # still asking
        assert await app.store.journal() == before

        await pilot.press(*"cable replaced", "enter")
        await wait_until(
            settled(pilot, lambda: not isinstance(app.screen, PromptScreen)), WAIT, what="close"
        )

        async def noted() -> bool:
            await pilot.pause()
            entries = await app.store.journal(event_id)
            return entries[0].action == "note"

        await wait_until(noted, WAIT, what="the note")
        (entry, *_) = await app.store.journal(event_id)
        assert (entry.actor, entry.note) == ("alice", "cable replaced")
        event = await app.store.get_event(event_id)
        assert event is not None and event.state is EventState.OPEN  # a note changes no state


async def test_overlong_note_is_refused_in_the_prompt(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await current_id(pilot)
        before = await app.store.journal()
        await pilot.press("a")
        screen = await prompt(pilot)
        box = screen.query_one("#prompt-input", Input)
        box.value = "x" * 2001
        await pilot.press("enter")
        assert "at most 2000" in str(screen.query_one("#prompt-error", Static).content)
        assert app.screen is screen
        assert await app.store.journal() == before


# -- s: shelve -----------------------------------------------------------------------------------
async def test_shelve_for_a_duration(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        event_id = await current_id(pilot)
        await pilot.press("s")
        screen = await prompt(pilot, "soon")
        assert "not a duration" in str(screen.query_one("#prompt-error", Static).content)
        await prompt(pilot, "30m")
        screen = await prompt(pilot)
        assert "for 30m" in screen.question and "Reason (optional):" in screen.question
        await prompt(pilot, "vendor on site")
        shelved = await stored(
            pilot, event_id, lambda e: e.state is EventState.SHELVED, "the shelve"
        )
        assert shelved.shelved_until == T0 + 1800
        (entry, *_) = await app.store.journal(event_id)
        assert (entry.action, entry.actor) == ("shelve", "alice")
        assert entry.note.startswith("until ") and entry.note.endswith(": vendor on site")
        await wait_until(
            settled(pilot, lambda: (row_of(app, event_id) or ())[STATE] == "shelvd"),
            WAIT,
            what="the row showing shelved",
        )


# -- e: escalate, o: own -------------------------------------------------------------------------
async def test_escalate_and_own(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await current_id(pilot)
        await pilot.press("j")  # the MAJOR uplink event
        event_id = await current_id(pilot)
        assert (row_of(app, event_id) or ())[1] == "MAJOR"
        await pilot.press("e")
        await prompt(pilot, "")  # the reason is optional
        up = await stored(pilot, event_id, lambda e: e.severity is Severity.CRITICAL, "escalate")
        assert up.state is EventState.OPEN
        (entry, *_) = await app.store.journal(event_id)
        assert (entry.action, entry.actor, entry.note) == ("escalate", "alice", "major -> critical")

        await pilot.press("o")
        await prompt(pilot, "I know this switch")
        owned = await stored(pilot, event_id, lambda e: e.owner == "alice", "ownership")
        assert owned.severity is Severity.CRITICAL
        (entry, *_) = await app.store.journal(event_id)
        assert (entry.action, entry.actor, entry.note) == ("own", "alice", "I know this switch")
        await wait_until(
            settled(pilot, lambda: (row_of(app, event_id) or ())[8] == "alice"),
            WAIT,
            what="the owner column",
        )
        await wait_until(
            settled(pilot, lambda: (row_of(app, event_id) or ())[1] == "CRITICAL"),
            WAIT,
            what="the severity column",
        )


# -- space: mark rows for a bulk action ----------------------------------------------------------
async def test_mark_two_rows_and_ack_both(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await current_id(pilot)
        first, second, third = (int(r.key) for r in pane(app).body.rows[:3])
        await pilot.press("space", "space")
        assert pane(app).marked == {first, second}
        assert [r.cells[0] for r in pane(app).body.rows[:3]] == ["*", "*", ""]
        await pilot.press("a")
        screen = await prompt(pilot)
        assert "2 marked events" in screen.question
        await prompt(pilot, "both")
        for event_id in (first, second):
            event = await stored(
                pilot, event_id, lambda e: e.state is EventState.ACKNOWLEDGED, f"ack {event_id}"
            )
            assert event.acked_by == "alice"
            (entry, *_) = await app.store.journal(event_id)
            assert (entry.action, entry.note) == ("ack", "both")
        untouched = await app.store.get_event(third)
        assert untouched is not None and untouched.state is EventState.OPEN
        await wait_until(settled(pilot, lambda: not pane(app).marked), WAIT, what="marks cleared")


# -- h: history ----------------------------------------------------------------------------------
async def test_history_shows_resolved_and_acknowledged(db: Path) -> None:
    store = await open_store(db)
    try:
        await store.upsert_events(
            [EventInput("http", "shop.example", "http", Severity.OK, "fast again", T0 - 60)], "seed"
        )
        done = await store.find_event("http|shop.example|http")
        assert done is not None
        await store.act([done.id], Action.ACK, "bob", T0 - 30)
    finally:
        await store.close()
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        events = pane(app)
        await wait_until(settled(pilot, lambda: len(events.body.rows) == 3), WAIT, what="rows")
        assert row_of(app, done.id) is None
        await pilot.press("h")
        await wait_until(settled(pilot, lambda: len(events.body.rows) == 4), WAIT, what="history")
        assert (row_of(app, done.id) or ())[STATE] == "rslvd"
        assert "history" in str(events.border_title)
        await pilot.press("h")
        await wait_until(settled(pilot, lambda: len(events.body.rows) == 3), WAIT, what="back")
        assert row_of(app, done.id) is None


# -- /: filter in the store ----------------------------------------------------------------------
async def test_filter_by_field_reaches_the_store_and_reports_errors(db: Path) -> None:
    store = await open_store(db)
    try:  # more recent noise than list_limit, so edge-rt2 is outside the loaded window
        await store.upsert_events(
            [
                EventInput("gen", f"noise{i:04d}", "ping", Severity.WARNING, "down", T0 - 5 + i)
                for i in range(1100)
            ],
            "seed",
        )
    finally:
        await store.close()
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        events = pane(app)
        limit = app.config.events.list_limit
        await wait_until(
            settled(pilot, lambda: len(events.body.rows) == limit), WAIT, what="the window"
        )
        assert not any(r.cells[3] == "edge-rt2" for r in events.body.rows)
        # The window shows first ("1000+"); the count of the whole match follows.
        await wait_until(
            settled(pilot, lambda: f"{limit} of 1104" in str(events.border_title)),
            WAIT,
            what="the count",
        )

        await pilot.press("slash", *"sev:critical")
        await wait_until(settled(pilot, lambda: len(events.body.rows) == 1), WAIT, what="sev")
        assert events.body.rows[0].cells[1:4:2] == ("CRITICAL", HOST)
        assert "filter: sev:critical" in str(events.border_subtitle)

        box = app.query_one("#filter", Input)
        box.value = "host:edge-rt2"
        await wait_until(
            settled(pilot, lambda: [r.cells[3] for r in events.body.rows] == ["edge-rt2"]),
            WAIT,
            what="an event beyond the window",
        )

        box.value = "bogus:x"
        await wait_until(
            settled(pilot, lambda: "filter error" in str(events.border_subtitle)),
            WAIT,
            what="the error",
        )
        # Not an empty estate: the body says so, with the whole message, and the
        # rows are the unfiltered ones until the filter is fixed.
        error = events.query_one("#filter-error", Static)
        assert error.display
        assert "filter error" in str(error.render())
        assert "unknown field 'bogus'" in str(error.render())
        await wait_until(
            settled(pilot, lambda: len(events.body.rows) == limit), WAIT, what="unfiltered rows"
        )

        box.value = "host:edge-rt2"  # fixed: the message goes, the filter applies
        await wait_until(
            settled(pilot, lambda: [r.cells[3] for r in events.body.rows] == ["edge-rt2"]),
            WAIT,
            what="the fixed filter",
        )
        assert not error.display

        await pilot.press("escape")  # clears the filter
        await wait_until(
            settled(pilot, lambda: len(events.body.rows) == limit), WAIT, what="unfiltered"
        )
        assert not events.border_subtitle


# -- Enter: details ------------------------------------------------------------------------------
EVIDENCE = {
    "at": T0 - 5,
    "metrics": {"cpu": 99.0, "memory": 61.0},
    "top_cpu": [{"pid": 4242, "name": "postgres", "cpu": 91.0, "rss": 900 * 2**20}],
    "top_memory": [{"pid": 777, "name": "java", "cpu": 1.0, "rss": 2 * 2**30}],
}


CPU_EVENT = EventInput(
    "local", HOST, "cpu", Severity.CRITICAL, "cpu 99.0%", T0 - 5, value=99.0, evidence=EVIDENCE
)


async def test_details_show_evidence_and_journal(db: Path) -> None:
    store = await open_store(db)
    try:
        await store.upsert_events([CPU_EVENT], "bridge")
        cpu = await store.find_event(f"local|{HOST}|cpu")
        assert cpu is not None
        await store.act([cpu.id], Action.NOTE, "bob", T0 - 2, note="postgres vacuum")
    finally:
        await store.close()
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        assert await current_id(pilot) == cpu.id  # newest critical first
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        view = screen.query_one("#event-lines", LinesView)
        await wait_until(settled(pilot, lambda: bool(view.lines)), WAIT, what="details")
        text = "\n".join("".join(t for t, _ in line) for line in view.lines)
        assert "cpu 99.0%" in text and HOST in text
        assert "EVIDENCE at raise" in text
        assert "postgres" in text and "java" in text and "cpu 99.0" in text
        assert "JOURNAL" in text
        journal = text[text.index("JOURNAL") :]
        assert "raise" in journal and "bridge" in journal
        assert "bob" in journal and "postgres vacuum" in journal
        assert journal.index("note") < journal.index("raise")  # newest first
        await pilot.press("escape")
        assert not isinstance(app.screen, EventDetailsScreen)


async def test_untrusted_summary_is_literal_in_list_and_details(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(160, 40)) as pilot:
        await current_id(pilot)
        shown = rendered(pane(app).body)
        assert "[bold red]pwned[/] \\x1b[2J" in shown and "\x1b" not in shown
        await pilot.press("end", "enter")
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        await wait_until(settled(pilot, lambda: screen.event is not None), WAIT, what="details")
        view = screen.query_one("#event-lines", LinesView)
        await wait_until(
            settled(pilot, lambda: "pwned" in rendered(view)), WAIT, what="details drawn"
        )
        text = rendered(view)
        assert "[bold red]pwned[/] \\x1b[2J" in text and "\x1b" not in text


# -- T: take the bridge ------------------------------------------------------------------------
async def test_sign_on_as_a_new_operator(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        event_id = await current_id(pilot)

        def header() -> str:
            return header_text(app.query_one(BridgeHeader))

        assert " operator alice " in header()
        await pilot.press("T")
        screen = await prompt(pilot)
        assert screen.query_one("#prompt-input", Input).value == "alice"
        await prompt(pilot, "   ")
        assert "a name, please" in str(screen.query_one("#prompt-error", Static).content)
        await prompt(pilot, "carol")
        await wait_until(
            settled(pilot, lambda: " operator carol " in header()), WAIT, what="the header"
        )
        assert app.query_one(BridgeHeader).display
        (entry, *_) = await app.store.journal()
        assert (entry.action, entry.actor, entry.event_id) == ("sign-on", "carol", None)
        assert entry.note == "took the bridge from alice"
        # What carol does from now on is journalled as hers.
        await pilot.press("o")
        await prompt(pilot, "")
        owned = await stored(pilot, event_id, lambda e: e.owner is not None, "ownership")
        assert owned.owner == "carol"


# -- the cursor keeps the operator's event, whatever the list does ---------------------------
async def test_cursor_keeps_its_event_when_it_leaves_the_list(db: Path) -> None:
    """Another console acknowledges the top event and it resolves: it leaves the open
    list. The cursor stays on it (shown resolved) instead of falling onto the next
    row, which `a` would then have acknowledged."""
    app = make_app(db)
    other = await open_store(db)  # another operator's console on the same store
    try:
        async with app.run_test(size=SIZE) as pilot:
            await current_id(pilot)
            await pilot.press("home")
            top = await current_id(pilot)
            chosen = await other.get_event(top)
            assert chosen is not None
            await other.act([top], Action.ACK, "bob", T0)
            await other.upsert_events(
                [EventInput(chosen.source, chosen.resource, chosen.check, Severity.OK, "ok", T0)],
                "bridge",
            )
            await wait_until(
                settled(pilot, lambda: (row_of(app, top) or ())[STATE : STATE + 1] == ("rslvd",)),
                WAIT,
                what="the chosen row showing resolved",
            )
            assert pane(app).body.current_key == str(top)
            await pilot.press("a")
            await prompt(pilot, "")
            await wait_until(
                settled(pilot, lambda: not isinstance(app.screen, PromptScreen)), WAIT, what="close"
            )
            await pilot.pause()
            # Refused (bob acknowledged it), and no other event was acknowledged instead.
            for event in await app.store.list_events():
                assert event.acked_by != "alice", event
            # Once the cursor moves off it, the resolved event leaves the list.
            await pilot.press("j")
            await other.upsert_events(
                [EventInput("http", "shop.example", "http", Severity.WARNING, "slow", T0 + 1)],
                "bridge",
            )
            await wait_until(
                settled(pilot, lambda: row_of(app, top) is None), WAIT, what="the row to go"
            )
    finally:
        await other.close()


async def test_cursor_keeps_its_event_pushed_out_of_the_window(db: Path) -> None:
    """A burst of newer events pushes the cursor's event past the listed window: it
    stays, in place of the last listed row, so the window keeps its size."""
    from bridge.config.file import Config
    from bridge.ui.app import create_app

    app = create_app(
        Config.model_validate({"events": {"list_limit": 10}}),
        operator="alice",
        store_path=db,
        clock=FixedClock(T0),
        collect=False,
        hostname=HOST,
        feed_interval=0.05,
    )
    other = await open_store(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await current_id(pilot)
            await pilot.press("end")  # the INFO trap, last in console order
            trap = await current_id(pilot)
            await other.upsert_events(
                [raise_event(f"sw{i}", Severity.WARNING, T0 + i) for i in range(10)], "bridge"
            )
            await wait_until(
                settled(
                    pilot,
                    lambda: sum(r.cells[3].startswith("sw") for r in pane(app).body.rows) >= 6,
                ),
                WAIT,
                what="the burst listed",
            )
            assert pane(app).body.current_key == str(trap)
            assert len(pane(app).body.rows) == 10
    finally:
        await other.close()


async def test_cursor_follows_its_event_when_rows_resort(db: Path) -> None:
    """A severity rise and an acknowledgement elsewhere re-sort the rows under the cursor."""
    app = make_app(db)
    other = await open_store(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await current_id(pilot)
            await pilot.press("home")
            top = await current_id(pilot)
            uplink = await other.find_event("snmp|core-sw1|ifOperStatus:Gi0/1")
            assert uplink is not None
            await other.upsert_events(
                [
                    EventInput(
                        "snmp", "core-sw1", "ifOperStatus:Gi0/1", Severity.CRITICAL, "down", T0
                    )
                ],
                "bridge",
            )
            await wait_until(
                settled(pilot, lambda: pane(app).body.rows[0].key == str(uplink.id)),
                WAIT,
                what="the uplink sorted above",
            )
            assert pane(app).body.current_key == str(top)
            await other.act([top], Action.ACK, "bob", T0)
            await wait_until(
                settled(pilot, lambda: (row_of(app, top) or ())[STATE : STATE + 1] == ("ack",)),
                WAIT,
                what="the chosen row acknowledged",
            )
            assert pane(app).body.current_key == str(top)
    finally:
        await other.close()


async def test_marked_events_stay_shown_when_they_leave_the_list(db: Path) -> None:
    app = make_app(db)
    other = await open_store(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await current_id(pilot)
            first = int(pane(app).body.rows[0].key)
            await pilot.press("space")  # marks the top row, the cursor moves down
            chosen = await other.get_event(first)
            assert chosen is not None
            await other.act([first], Action.ACK, "bob", T0)
            await other.upsert_events(
                [EventInput(chosen.source, chosen.resource, chosen.check, Severity.OK, "ok", T0)],
                "bridge",
            )
            await wait_until(
                settled(pilot, lambda: (row_of(app, first) or ())[STATE : STATE + 1] == ("rslvd",)),
                WAIT,
                what="the marked row showing resolved",
            )
            assert (row_of(app, first) or ())[0] == "*"
    finally:
        await other.close()


async def test_the_action_hits_the_events_of_the_prompt_when_it_opened(db: Path) -> None:
    """Rows move while the prompt is open: the note goes to the event it named."""
    app = make_app(db)
    other = await open_store(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await current_id(pilot)
            await pilot.press("home")
            top = await current_id(pilot)
            await pilot.press("n")
            await prompt(pilot)
            await other.upsert_events(
                [EventInput("snmp", "new-sw9", "reach", Severity.CRITICAL, "unreachable", T0)],
                "bridge",
            )
            await wait_until(
                settled(pilot, lambda: pane(app).body.rows[0].cells[3] == "new-sw9"),
                WAIT,
                what="a new critical above",
            )
            await prompt(pilot, "checked")
            await wait_until(
                settled(pilot, lambda: not isinstance(app.screen, PromptScreen)), WAIT, what="close"
            )

            async def noted() -> bool:
                await pilot.pause()
                return any(j.action == "note" for j in await app.store.journal())

            await wait_until(noted, WAIT, what="the note")
            notes = [j for j in await app.store.journal() if j.action == "note"]
            assert [(j.event_id, j.note) for j in notes] == [(top, "checked")]
    finally:
        await other.close()


# -- every prompt names what it acts on ---------------------------------------------------------
@pytest.mark.parametrize("key", ["a", "n", "s"])
async def test_the_prompt_names_the_event(db: Path, key: str) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await current_id(pilot)
        await pilot.press("end")  # the INFO trap with markup and an escape in its summary
        event_id = await current_id(pilot)
        await pilot.press(key)
        question = (await prompt(pilot)).question
        assert "INFO edge-rt2 trap: [bold red]pwned[/] \\x1b[2J" in question
        assert f"event {event_id}" in question and "\x1b" not in question


async def test_the_prompt_lists_the_marked_events(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await current_id(pilot)
        await pilot.press("space", "space")
        await pilot.press("a")
        question = (await prompt(pilot)).question
        assert "2 marked events:" in question
        assert f"CRITICAL {HOST} disk:/var: /var is 96.5% full" in question
        assert "MAJOR core-sw1 ifOperStatus:Gi0/1: uplink Gi0/1 down" in question
        assert "shop.example" not in question


# -- M marks every event the filter matches, C clears the marks; the border counts them ----------
async def test_mark_all_that_match_the_filter_and_clear(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        events = pane(app)
        await current_id(pilot)
        await pilot.press("slash", *"sev:major+", "enter")
        await wait_until(settled(pilot, lambda: len(events.body.rows) == 2), WAIT, what="filter")
        major_up = {int(r.key) for r in events.body.rows}
        await pilot.press("M")
        assert events.marked == major_up
        assert "2 marked" in str(events.border_title)
        assert [r.cells[0] for r in events.body.rows] == ["*", "*"]
        await pilot.press("slash", "escape")  # the filter cleared: the marks stay
        await wait_until(settled(pilot, lambda: len(events.body.rows) == 4), WAIT, what="all")
        assert events.marked == major_up and "2 marked" in str(events.border_title)
        await pilot.press("C")
        assert not events.marked
        assert "marked" not in str(events.border_title)
        assert all(r.cells[0] == "" for r in events.body.rows)


# -- g: assign, d: release ownership, S: unshelve, x: resolve by hand ------------------------------
async def journalled(pilot: Pilot[int], event_id: int, action: str) -> tuple[str, str]:
    """Wait for the event's newest journal entry to be `action`; its (actor, note)."""
    app = pilot.app
    assert isinstance(app, BridgeApp)

    async def done() -> bool:
        await pilot.pause()
        entries = await app.store.journal(event_id)
        return bool(entries) and entries[0].action == action

    await wait_until(done, WAIT, what=f"the {action}")
    (entry, *_) = await app.store.journal(event_id)
    return entry.actor, entry.note


async def test_assign_then_release_ownership(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        event_id = await current_id(pilot)
        await pilot.press("g")
        screen = await prompt(pilot, "   ")
        assert "the name is empty" in str(screen.query_one("#prompt-error", Static).content)
        await prompt(pilot, "bob")
        screen = await prompt(pilot)
        assert "to bob" in screen.question and "disk:/var" in screen.question
        await prompt(pilot, "DBA on call")
        assert await journalled(pilot, event_id, "assign") == ("alice", "to bob: DBA on call")
        await wait_until(
            settled(pilot, lambda: (row_of(app, event_id) or ())[8] == "bob"), WAIT, what="owner"
        )
        await pilot.press("d")
        screen = await prompt(pilot)
        assert screen.question.startswith("Release ownership of CRITICAL")
        await prompt(pilot, "")
        assert await journalled(pilot, event_id, "disown") == ("alice", "from bob")
        await stored(pilot, event_id, lambda e: e.owner is None, "no owner")


async def test_unshelve_brings_a_shelved_event_back(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        event_id = await current_id(pilot)
        await app.store.act([event_id], Action.SHELVE, "bob", T0, until=T0 + 3600)
        await wait_until(
            settled(pilot, lambda: (row_of(app, event_id) or ())[STATE] == "shelvd"),
            WAIT,
            what="shelved",
        )
        await pilot.press("S")
        await prompt(pilot, "needed now")
        assert await journalled(pilot, event_id, "unshelve") == ("alice", "needed now")
        back = await stored(pilot, event_id, lambda e: e.state is EventState.OPEN, "unshelve")
        assert back.shelved_until is None


async def test_resolve_by_hand_needs_a_reason(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await current_id(pilot)
        await pilot.press("end")  # the trap: nothing will ever clear it
        event_id = await current_id(pilot)
        before = await app.store.journal()
        await pilot.press("x")
        screen = await prompt(pilot, "")
        assert "Reason:" in screen.question and "trap" in screen.question
        assert "a reason is required" in str(screen.query_one("#prompt-error", Static).content)
        assert await app.store.journal() == before
        await prompt(pilot, "rebooted, checked by hand")
        assert await journalled(pilot, event_id, "resolve") == (
            "alice",
            "rebooted, checked by hand",
        )
        done = await stored(pilot, event_id, lambda e: e.state is EventState.RESOLVED, "resolve")
        assert done.acked_by == "alice"


# -- the bell: a new alarm rings and flashes the border ---------------------------------------------
def bell_app(db: Path, bell: str | None) -> BridgeApp:
    from bridge.config.file import Config
    from bridge.ui.app import create_app

    ui = {} if bell is None else {"bell": bell}
    return create_app(
        Config.model_validate({"ui": ui}),
        operator="alice",
        store_path=db,
        clock=FixedClock(T0),
        collect=False,
        hostname=HOST,
        feed_interval=0.05,
    )


def raise_event(resource: str, severity: Severity, at: float = T0) -> EventInput:
    return EventInput("snmp", resource, "reach", severity, f"{resource} unreachable", at)


@pytest.mark.parametrize(("bell", "rings_for_major"), [(None, False), ("major", True)])
async def test_a_new_alarm_rings_the_bell_and_flashes_the_border(
    db: Path, bell: str | None, rings_for_major: bool
) -> None:
    app = bell_app(db, bell)
    other = await open_store(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            events = pane(app)
            await current_id(pilot)
            await pilot.pause(0.3)
            assert events.alarms == 0  # the critical there at start does not ring
            await other.upsert_events([raise_event("dist-sw2", Severity.MAJOR)], "bridge")
            await wait_until(
                settled(pilot, lambda: any(r.cells[3] == "dist-sw2" for r in events.body.rows)),
                WAIT,
                what="the major listed",
            )
            assert events.alarms == int(rings_for_major)
            # A filter hiding it must not hide a new critical from the bell.
            await pilot.press("slash", *"host:nothing-here", "enter")
            await wait_until(settled(pilot, lambda: not events.body.rows), WAIT, what="filtered")
            await other.upsert_events([raise_event("fw-dmz", Severity.CRITICAL)], "bridge")
            await wait_until(
                settled(pilot, lambda: events.alarms == int(rings_for_major) + 1),
                WAIT,
                what="the bell",
            )
            await wait_until(
                settled(pilot, lambda: events.has_class("-alarm")), WAIT, what="the flash"
            )
            await wait_until(
                settled(pilot, lambda: not events.has_class("-alarm")), WAIT, what="flash ends"
            )
            # Repeats of the same alarm do not ring again.
            await other.upsert_events([raise_event("fw-dmz", Severity.CRITICAL, T0 + 5)], "bridge")
            await pilot.pause(0.5)
            assert events.alarms == int(rings_for_major) + 1
    finally:
        await other.close()


async def test_no_bell_when_off_or_for_the_operators_own_escalation(db: Path) -> None:
    app = bell_app(db, "off")
    other = await open_store(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await current_id(pilot)
            await other.upsert_events([raise_event("fw-dmz", Severity.CRITICAL)], "bridge")
            await wait_until(
                settled(pilot, lambda: row_of(app, 5) is not None), WAIT, what="listed"
            )
            await pilot.pause(0.3)
            assert pane(app).alarms == 0
    finally:
        await other.close()
    app = bell_app(db, "critical")
    async with app.run_test(size=SIZE) as pilot:
        await current_id(pilot)
        await pilot.press("home", "j", "j")  # a major: escalated by the operator here
        event_id = await current_id(pilot)
        assert (row_of(app, event_id) or ())[1] == "MAJOR"
        await pilot.press("e")
        await prompt(pilot, "")
        await stored(pilot, event_id, lambda e: e.severity is Severity.CRITICAL, "escalate")
        await pilot.pause(0.5)
        assert pane(app).alarms == 0


# -- w: a maintenance window for the event's host ------------------------------------------------
async def test_maintenance_window_from_an_event(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await current_id(pilot)
        await pilot.press("home", "j")  # core-sw1's uplink
        event_id = await current_id(pilot)
        await pilot.press("w")
        screen = await prompt(pilot)
        assert "maintenance window from now for core-sw1" in screen.question
        assert "MAJOR core-sw1 ifOperStatus:Gi0/1: uplink Gi0/1 down" in screen.question
        await prompt(pilot, "2h")
        screen = await prompt(pilot, "")
        assert "for 2h" in screen.question
        assert "a reason is required" in str(screen.query_one("#prompt-error", Static).content)
        await prompt(pilot, "line card swap")
        actor, note = await journalled(pilot, event_id, "maintenance")
        assert actor == "alice"
        assert note.startswith("core-sw1 until ") and note.endswith(": line card swap")
        (window,) = await app.store.maintenance_windows()
        assert (window.hosts, window.start, window.end) == (("core-sw1",), T0, T0 + 7200)
        await wait_until(
            settled(pilot, lambda: (row_of(app, event_id) or ())[STATE] == "maint"),
            WAIT,
            what="the row muted",
        )
