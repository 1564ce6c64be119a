"""One operator's shift, end to end, on a seeded store at a fixed time.

alice is on the bridge: events arrive while her cursor is on a row; she
acknowledges that row, escalates a failing job, takes ownership of one event,
shelves another, reschedules a late job, marks another done and writes the
handover. bob accepts it in his own console, by name, and sees every item still
open. The real console is driven by Pilot; the lease holder's schedule loop runs
beside it on the same SQLite file. Every action's effect is read back from the
store: the journal, the events' states and the handover's content.

The prompts are answered as they come: the console may ask for a reason where
it asks for none today, and the shift must still go the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from conftest import settled, wait_until
from seed import HOST, T0
from textual.pilot import Pilot
from textual.widgets import Input

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.core.models import Event, EventInput, EventState, Severity
from bridge.reports.handover import HANDOVER_ACTION, build_handover, render_handover
from bridge.rules.engine import RuleEngine
from bridge.runtime.schedule_loop import ScheduleLoop
from bridge.store import open_store
from bridge.ui.app import BridgeApp, create_app
from bridge.ui.panes.events import EventsPane
from bridge.ui.panes.schedule import SchedulePane
from bridge.ui.screens.modals import ConfirmScreen, PromptScreen
from bridge.ui.screens.reports import HandoverScreen
from bridge.ui.widgets.lines import LinesView
from bridge.ui.widgets.rowtable import RowTable

SIZE = (120, 40)
WAIT = 5.0
H, M = 3600.0, 60.0
# T0 is Wed 2026-11-18 11:06:40 UTC (the tests pin TZ=UTC).
CONFIG = {
    "jobs": [
        {"name": "backup", "schedule": "0 10 * * *", "grace": 600, "owner": "dba"},
        {"name": "archive", "schedule": "0 9 * * *", "grace": 600},
        {"name": "etl", "schedule": "0 11 * * *"},
    ],
}


def config() -> Config:
    return Config.model_validate(CONFIG)


def ev(source: str, resource: str, check: str, severity: Severity, summary: str) -> EventInput:
    return EventInput(source, resource, check, severity, summary, T0 - 5 * M)


async def lease_holder_tick(path: Path, at: float, runs: Sequence[tuple[str, bool]] = ()) -> None:
    """What the lease holder does: record job signals and run the schedule loop at `at`."""
    store = await open_store(path)
    try:
        cfg = config()
        loop = ScheduleLoop(store, cfg, FixedClock(at), RuleEngine(cfg))
        await loop.tick()  # catches up with what the previous holder left
        for job, ok in runs:
            run = await store.job_start(job, "cron", at)
            await store.job_finish(job, "cron", at + 30, ok=ok, run_id=run.run_id, exit_code=3,
                                   message="exit 3")  # fmt: skip
        await loop.tick()
    finally:
        await store.close()


async def seed(path: Path) -> None:
    """At T0: backup and archive late, etl failed at 11:01, three events from devices."""
    store = await open_store(path)
    try:
        cfg = config()
        clock = FixedClock(T0 - 3 * H)
        loop = ScheduleLoop(store, cfg, clock, RuleEngine(cfg))
        await loop.tick()
        clock.set(T0 - 5 * M)
        run = await store.job_start("etl", "cron", T0 - 5 * M)
        await store.job_finish("etl", "cron", T0 - 4 * M, ok=False, run_id=run.run_id,
                               exit_code=3, message="exit 3")  # fmt: skip
        clock.set(T0)
        await loop.tick()
        await store.upsert_events(
            [
                ev("snmp", "rt1", "ifOperStatus", Severity.MAJOR, "rt1 Gi0/1 down"),
                ev("snmp", "sw1", "ifOperStatus", Severity.MINOR, "sw1 Gi0/7 down"),
                ev("http", "shop", "http", Severity.WARNING, "slow: 2.4 s (limit 1 s)"),
            ],
            actor="bridge",
        )
    finally:
        await store.close()


def console(path: Path, operator: str) -> BridgeApp:
    return create_app(
        config(), operator=operator, store_path=path, clock=FixedClock(T0), collect=False,
        hostname=HOST, feed_interval=0.05,
    )  # fmt: skip


async def find(app: BridgeApp, key: str) -> Event:
    event = await app.store.find_event(key)
    assert event is not None, key
    return event


async def cursor_to(pilot: Pilot[int], pane_key: str, row_key: str) -> None:
    """Focus a pane and put its cursor on the row `row_key`, as arrow keys would."""
    app = pilot.app
    assert isinstance(app, BridgeApp)
    await pilot.press(pane_key)
    body = (app.query_one(EventsPane) if pane_key == "1" else app.query_one(SchedulePane)).body
    assert isinstance(body, RowTable)
    await wait_until(
        settled(pilot, lambda: row_key in [r.key for r in body.rows]), WAIT, what=row_key
    )
    while body.current_key != row_key:
        keys = [r.key for r in body.rows]
        current = keys.index(body.current_key) if body.current_key in keys else 0
        await pilot.press("down" if keys.index(row_key) > current else "up")
    assert body.current_key == row_key


async def act(
    pilot: Pilot[int],
    key: str,
    answers: Sequence[str],
    done: Callable[[], Awaitable[bool]],
    what: str,
) -> list[str]:
    """Press `key`, answer each prompt that opens (the given answers in order, then
    the prefilled value), confirm any question, until `done`. Returns the prompts' questions."""
    await pilot.press(key)
    queue = list(answers)
    asked: list[str] = []

    async def step() -> bool:
        await pilot.pause()
        screen = pilot.app.screen
        if isinstance(screen, PromptScreen):
            asked.append(screen.question)
            box = screen.query_one("#prompt-input", Input)
            if queue:
                box.value = queue.pop(0)
            await pilot.press("enter")
            return False
        if isinstance(screen, ConfirmScreen):
            asked.append(screen.question)
            await pilot.press("y")
            return False
        return await done()

    await wait_until(step, WAIT, what=what)
    return asked


async def test_a_shift_from_first_ack_to_an_accepted_handover(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed(db)
    app = console(db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        events = app.query_one(EventsPane)
        rt1 = await find(app, "snmp|rt1|ifOperStatus")
        await cursor_to(pilot, "1", str(rt1.id))

        # Events arrive while alice's cursor is on rt1: a critical above it, a repeat.
        store = await open_store(db)
        try:
            await store.upsert_events(
                [EventInput("snmp", "fw-dmz", "reachability", Severity.CRITICAL,
                            "fw-dmz unreachable: timeout", T0),
                 ev("snmp", "sw1", "ifOperStatus", Severity.MINOR, "sw1 Gi0/7 down")],
                actor="bridge",
            )  # fmt: skip
        finally:
            await store.close()
        fw = await find(app, "snmp|fw-dmz|reachability")
        await wait_until(
            settled(pilot, lambda: str(fw.id) in [r.key for r in events.body.rows]),
            WAIT,
            what="the new critical on screen",
        )
        assert events.body.current_key == str(rt1.id)  # the cursor kept its event

        async def acked() -> bool:
            return (await find(app, rt1.key)).state is EventState.ACKNOWLEDGED

        await act(pilot, "a", ["carrier ticket 7781"], acked, "rt1 acknowledged")

        # Escalate the failing job's event; its next failure must not undo it.
        etl = await find(app, "schedule|etl|failed")
        await cursor_to(pilot, "1", str(etl.id))

        async def escalated() -> bool:
            return (await find(app, etl.key)).severity is Severity.CRITICAL

        await act(pilot, "e", ["finance is waiting"], escalated, "etl escalated")
        await lease_holder_tick(db, T0 + 30, runs=[("etl", False)])
        assert (await find(app, etl.key)).severity is Severity.CRITICAL

        shop = await find(app, "http|shop|http")
        await cursor_to(pilot, "1", str(shop.id))

        async def owned() -> bool:
            return (await find(app, shop.key)).owner == "alice"

        await act(pilot, "o", ["looking at the CDN"], owned, "shop owned")

        sw1 = await find(app, "snmp|sw1|ifOperStatus")
        await cursor_to(pilot, "1", str(sw1.id))

        async def noted() -> bool:
            return any(j.action == "note" for j in await app.store.journal(sw1.id))

        await act(pilot, "n", ["carrier work until 14:00"], noted, "sw1 noted")

        async def shelved() -> bool:
            return (await find(app, sw1.key)).state is EventState.SHELVED

        await act(pilot, "s", ["2h", "carrier work until 14:00"], shelved, "sw1 shelved")

        # The schedule: backup is late (moved to 13:06), archive late (done by hand).
        await cursor_to(pilot, "2", "backup")

        async def moved() -> bool:
            return bool(await app.store.schedule_changes("backup"))

        asked = await act(pilot, "r", ["+2h", "db freeze"], moved, "backup rescheduled")
        assert any("to 13:06" in q for q in asked), asked
        await cursor_to(pilot, "2", "archive")

        async def marked() -> bool:
            return bool(await app.store.schedule_changes("archive"))

        await act(pilot, "m", ["ran it by hand"], marked, "archive marked done")
        await lease_holder_tick(db, T0 + 60)

        # alice writes the handover.
        await pilot.press("O")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, HandoverScreen)), WAIT, what="handover"
        )

        async def written() -> bool:
            return any(j.action == "handover note" for j in await app.store.journal())

        await act(pilot, "w", ["etl reruns after 14:00; sw1 shelved for carrier"], written,
                  "the handover note")  # fmt: skip
        await pilot.press("escape")

    # What the store says alice's shift did.
    store = await open_store(db)
    try:
        journal = [(j.actor, j.action, j.event_id) for j in reversed(await store.journal())]
        by_key = {e.key: e for e in await store.list_events(include_resolved=True)}
        handover = await build_handover(store, config(), T0 + 90)
    finally:
        await store.close()
    alice = [(action, eid) for actor, action, eid in journal if actor == "alice"]
    assert alice == [
        ("ack", rt1.id),
        ("escalate", etl.id),
        ("own", shop.id),
        ("note", sw1.id),
        ("shelve", sw1.id),
        ("job reschedule", None),
        ("resolve", by_key["schedule|backup|late"].id),
        ("job done", None),
        ("resolve", by_key["schedule|archive|late"].id),
        ("handover note", None),
    ]
    assert not any(a == "severity" for _, a, eid in journal if eid == etl.id)
    assert by_key[rt1.key].state is EventState.ACKNOWLEDGED and by_key[rt1.key].acked_by == "alice"
    assert by_key[fw.key].state is EventState.OPEN  # the new critical: not acked by mistake
    assert by_key[etl.key].severity is Severity.CRITICAL  # after its second failure too
    assert by_key[shop.key].owner == "alice"
    assert by_key[sw1.key].state is EventState.SHELVED
    assert by_key[sw1.key].shelved_until == T0 + 2 * H
    assert by_key["schedule|backup|late"].state is EventState.RESOLVED
    assert by_key["schedule|archive|late"].state is EventState.RESOLVED
    assert not any(k.endswith(":flapping") for k in by_key)
    assert handover.outgoing == "alice"

    # bob takes over in his own console, by name, and sees every open item.
    app = console(db, "bob")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("O")
        view_text = ""

        async def shown() -> bool:
            nonlocal view_text
            await pilot.pause()
            screen = app.screen
            if not isinstance(screen, HandoverScreen) or screen.handover is None:
                return False
            view = screen.query_one(LinesView)
            view_text = "\n".join("".join(t for t, _ in line) for line in view.lines)
            return True

        await wait_until(shown, WAIT, what="the handover")
        for item in (
            "Handed over by alice.",
            "etl reruns after 14:00; sw1 shelved for carrier",  # alice's note
            "fw-dmz unreachable: timeout",  # open, unacknowledged
            "carrier ticket 7781",  # rt1, acknowledged with its note
            "carrier work until 14:00",  # sw1: shelved, and why
            "slow: 2.4 s",  # shop: owned by alice
            "major -> critical",  # etl: the escalation still standing
            "db freeze",  # backup: the reschedule in force
        ):
            assert item in view_text, item
        for title in ("Shelved", "Owned", "Escalated", "Holds and reschedules in force"):
            assert f"\n{title}\n" in view_text, title
        screen = app.screen
        assert isinstance(screen, HandoverScreen) and screen.handover is not None
        h = screen.handover
        assert [s.event.key for s in h.shelved] == [sw1.key]
        assert [(e.key, e.owner) for e in h.owned] == [(shop.key, "alice")]
        assert [x.event.key for x in h.escalated] == [etl.key]
        assert [(f.job, f.state) for f in h.in_force] == [("backup", "rescheduled")]
        [etl_x] = [x for x in h.exceptions if x.job == "etl"]
        assert (etl_x.count, etl_x.detail) == (2, "exit 3")

        async def accepted() -> bool:
            return await app.store.last_journal(HANDOVER_ACTION) is not None

        asked = await act(pilot, "a", [], accepted, "bob accepts")
        assert asked[0] == "Who is taking over from alice? (your name)"
        assert asked[1].startswith("bob takes over from alice: ")
        entry = await app.store.last_journal(HANDOVER_ACTION)
        assert entry is not None and entry.actor == "bob"
        assert entry.note.startswith("from alice to bob: accepted the handover of ")
        assert "1 shelved, 1 owned, 1 escalated" in entry.note
    text = render_handover(h)
    assert "Shelved" in text and "Holds and reschedules in force" in text
