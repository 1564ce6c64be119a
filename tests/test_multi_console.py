"""Several consoles and processes on one store: no lost update when two operators act
at once, an ack in one console shows in another within a second, and a storm of
events is stored whole while the console stays responsive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Isolated, Processes, run_bridge, settled, wait_until
from seed import T0, make_app, seed_store

from bridge.core.actions import Action, ActionResult
from bridge.core.models import EventInput, EventState, Severity
from bridge.store import Store, open_store
from bridge.ui.app import BridgeApp
from bridge.ui.panes.events import EventsPane
from bridge.ui.screens.modals import PromptScreen
from bridge.ui.widgets.rowtable import RowTable

SIZE = (120, 40)
RACE = 2000  # events both operators ack at once


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed_store(path)
    return path


def state_cell(app: BridgeApp, event_id: int) -> str | None:
    for row in app.query_one(EventsPane).body.rows:
        if row.key == str(event_id):
            return row.cells[7]
    return None


async def ack_rows(store: Store, event_id: int) -> list[str]:
    return [j.actor for j in await store.journal(event_id) if j.action == "ack"]


# -- two operators at once -----------------------------------------------------------------------
async def test_two_connections_ack_at_once_exactly_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    alice_store, bob_store = await open_store(path), await open_store(path)
    try:
        await alice_store.upsert_events(
            [EventInput("t", f"r{i}", "c", Severity.MAJOR, "s", T0) for i in range(20)], "seed"
        )
        ids = [e.id for e in await alice_store.list_events()]
        assert len(ids) == 20
        # Every event acked by both at once, half with bob's request issued first.
        calls = []
        for n, event_id in enumerate(ids):
            alice = alice_store.act([event_id], Action.ACK, "alice", T0 + 1, note="mine")
            bob = bob_store.act([event_id], Action.ACK, "bob", T0 + 1, note="mine")
            calls += [alice, bob] if n % 2 else [bob, alice]
        results = [r for (r,) in await asyncio.gather(*calls)]
        for event_id in ids:
            mine = [r for r in results if r.event_id == event_id]
            assert len(mine) == 2
            won = [r for r in mine if r.ok]
            lost = [r for r in mine if not r.ok]
            assert len(won) == 1 and len(lost) == 1, mine
            event = await bob_store.get_event(event_id)
            assert event is not None and event.state is EventState.ACKNOWLEDGED
            assert (
                lost[0].message == f"event {event_id} is already acknowledged by {event.acked_by}"
            )
            assert await ack_rows(alice_store, event_id) == [event.acked_by]
    finally:
        await alice_store.close()
        await bob_store.close()


async def test_another_process_acks_at_once_exactly_one_wins(
    isolated: Isolated, processes: Processes
) -> None:
    """Bob's process acks every event in one command while alice, here, acks them one
    by one from the other end for as long as his process runs: each event ends with
    exactly one ack, and whoever lost was told who won."""
    path = isolated.root / "bridge.db"
    config = isolated.write_config(f'[store]\npath = "{path}"\n')
    now = time.time()
    store = await open_store(path)
    try:
        await store.upsert_events(
            [EventInput("t", f"db{i}", "lag", Severity.CRITICAL, "lag", now) for i in range(RACE)],
            "seed",
        )
        ids = sorted(e.id for e in await store.list_events(limit=RACE))
        assert len(ids) == RACE
        proc = processes.bridge(
            isolated, "--config", str(config), "--operator", "bob", "events", "ack",
            *map(str, ids),
        )  # fmt: skip
        mine: list[ActionResult] = []
        pending = list(reversed(ids))
        while pending and (proc.poll() is None or not mine):
            mine += await store.act([pending.pop(0)], Action.ACK, "alice", time.time())
        out, err = await asyncio.to_thread(proc.communicate, timeout=30)
        assert "Traceback" not in err

        alice_won = {r.event_id for r in mine if r.ok}
        for r in mine:
            assert r.ok or r.message == f"event {r.event_id} is already acknowledged by bob"
        bob_won = {int(line.rsplit(" ", 1)[1]) for line in out.splitlines()}
        assert out.splitlines() == [f"ack: event {i}" for i in sorted(bob_won)]
        assert err.splitlines() == [
            f"bridge: event {i} is already acknowledged by alice" for i in sorted(alice_won)
        ]
        assert proc.returncode == (1 if alice_won else 0)
        assert alice_won | bob_won == set(ids) and not alice_won & bob_won
        for event_id in ids:
            event = await store.get_event(event_id)
            assert event is not None and event.state is EventState.ACKNOWLEDGED
            winner = "alice" if event_id in alice_won else "bob"
            assert event.acked_by == winner
            assert await ack_rows(store, event_id) == [winner]  # exactly one ack row
    finally:
        await store.close()


# -- two consoles ------------------------------------------------------------------------------
async def test_ack_in_one_console_shows_in_another(db: Path, isolated: Isolated) -> None:
    config = isolated.write_config(f'[store]\npath = "{db}"\n')
    app1, app2 = make_app(db), make_app(db)
    async with app1.run_test(size=SIZE) as pilot1, app2.run_test(size=SIZE) as pilot2:
        rows1 = app1.query_one(EventsPane).body
        rows2 = app2.query_one(EventsPane).body
        await wait_until(settled(pilot1, lambda: len(rows1.rows) == 4), 3, what="console 1")
        await wait_until(settled(pilot2, lambda: len(rows2.rows) == 4), 3, what="console 2")
        event_id = int(rows1.rows[0].key)
        assert state_cell(app2, event_id) == "open"

        await pilot1.press("a")
        assert isinstance(app1.screen, PromptScreen)
        await pilot1.press(*"from console 1", "enter")

        async def committed() -> bool:
            await pilot1.pause()
            event = await app1.store.get_event(event_id)
            return event is not None and event.state is EventState.ACKNOWLEDGED

        await wait_until(committed, 3, what="the ack in console 1")
        took = await wait_until(
            settled(pilot2, lambda: state_cell(app2, event_id) == "ack"),
            1.0,
            what="console 2 to show the ack",
        )
        assert took < 1.0
        assert await ack_rows(app2.store, event_id) == ["alice"]

        # A script in another process raises: console 2 shows it within a second too.
        raised = await asyncio.to_thread(
            run_bridge, isolated, "--config", str(config), "events", "raise",
            "--severity", "critical", "--resource", "db9", "--check", "replication",
            "--summary", "lag 300 s",
        )  # fmt: skip
        assert raised.returncode == 0, raised.stderr
        took = await wait_until(
            settled(pilot2, lambda: any(r.cells[3] == "db9" for r in rows2.rows)),
            1.0,
            what="console 2 to show the injected event",
        )
        assert took < 1.0
        shown = next(r for r in rows2.rows if r.cells[3] == "db9")
        assert shown.cells[1] == "CRITICAL" and shown.cells[7] == "open"
        await wait_until(
            settled(pilot1, lambda: any(r.cells[3] == "db9" for r in rows1.rows)),
            1.0,
            what="console 1 as well",
        )


# -- a storm ---------------------------------------------------------------------------------
STORM = 20_000
BATCH = 1_000


def storm_event(i: int) -> EventInput:
    at = T0 + i / 1000
    return EventInput("storm", f"host{i:05d}", "ping", Severity.WARNING, f"down {i}", at)


def cursor_at(table: RowTable, index: int) -> Callable[[], bool]:
    return lambda: table.cursor == index


async def test_storm_is_stored_whole_and_the_console_stays_responsive(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        events = app.query_one(EventsPane)
        table = events.body
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 3, what="seeded rows")
        limit = app.config.events.list_limit
        other = await open_store(db)
        try:
            for start in range(0, STORM, BATCH):
                await other.upsert_events(
                    [storm_event(i) for i in range(start, start + BATCH)], "storm"
                )
                if start % (5 * BATCH) == 0:
                    # Mid-storm, a keypress still moves the cursor promptly.
                    before = table.cursor
                    target = before + 1 if before + 1 < len(table.rows) else before - 1
                    await pilot.press("j" if target > before else "k")
                    await wait_until(
                        settled(pilot, cursor_at(table, target)), 2, what="the cursor mid-storm"
                    )
            assert await other.count_events() == STORM + 4  # nothing lost
            assert len(await other.journal(limit=STORM * 2)) == STORM + 4  # a raise each
        finally:
            await other.close()

        total = STORM + 4
        await wait_until(
            settled(pilot, lambda: f"of {total}" in str(events.border_title)),
            6,  # the pane counts a large match at most every 2 s
            what="the pane title to show the new total",
        )
        # The window, and the row the cursor is on: kept listed when the storm pushed
        # it out of the window, so the operator's next key acts on the event they chose.
        assert len(table.rows) <= limit + 1
        assert limit <= len(events.events) <= limit + 1
        await pilot.press("home")
        started = time.monotonic()
        await pilot.press("j")
        await wait_until(settled(pilot, lambda: table.cursor == 1), 2, what="the cursor")
        assert time.monotonic() - started < 2
        assert table.current_key == table.rows[1].key
