"""The shift handover: every kind of item, accepted in the console and journalled."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from conftest import Isolated, run_bridge, seeded_config, wait_until
from seed import T0, make_app, seed_store
from textual.pilot import Pilot
from textual.widgets import Input, Static

from bridge.config.file import parse_config
from bridge.core.actions import Action
from bridge.core.models import EventInput, ScheduleAction, Severity
from bridge.reports.handover import (
    HANDOVER_ACTION,
    NOTE_ACTION,
    accept_handover,
    build_handover,
    handover_json,
    render_handover,
)
from bridge.store import Store, open_store
from bridge.ui.app import BridgeApp
from bridge.ui.screens.modals import ConfirmScreen, PromptScreen
from bridge.ui.screens.reports import HandoverScreen, ReportsScreen
from bridge.ui.widgets.lines import LinesView

H = 3600.0
CONFIG = """
[store]
path = "{db}"

[[jobs]]
name = "backup"
schedule = "0 * * * *"
grace = 300
"""


async def seed(store: Store) -> None:
    now = T0
    await store.upsert_events(
        [
            EventInput("snmp", "sw1", "reachability", Severity.MAJOR, "sw1 unreachable", now - 2 * H),
            EventInput("local", "db1", "disk:/", Severity.CRITICAL, "/ is 97% full", now - 3 * H),
        ],
        "bridge",
    )  # fmt: skip
    disk = await store.find_event("local|db1|disk:/")
    assert disk is not None
    await store.act([disk.id], Action.ACK, "alice", now - 2.5 * H, note="cleaning logs")
    await store.act([disk.id], Action.NOTE, "alice", now - 2 * H, note="volume grow at 06:00")
    await store.record("bob", "sign-on", "took the bridge from alice", now - H)
    run = await store.job_start("backup", "cron", now - 1.5 * H)
    await store.job_finish(
        "backup", "cron", now - 1.4 * H, ok=False, run_id=run.run_id, exit_code=3, message="disk"
    )
    await store.change_schedule(
        "backup", ScheduleAction.HOLD, now + H - (now % H), "bob", "storage work", now - H
    )


async def seed_shift(store: Store) -> None:
    """The seed, and the rest of a shift: shelved, owned and escalated events, a job
    failing every few minutes, a reschedule and a note for the next shift."""
    await seed(store)
    now = T0
    await store.upsert_events(
        [
            EventInput("snmp", "ap1", "reachability", Severity.MINOR, "ap1 flapping", now - 3 * H),
            EventInput("http", "shop", "http", Severity.MINOR, "slow: 2.4 s", now - 2 * H),
            EventInput("schedule", "etl", "failed", Severity.MAJOR, "etl failed", now - 2 * H),
        ],
        "bridge",
    )  # fmt: skip
    ap1, shop, etl = [await store.find_event(k) for k in
                      ("snmp|ap1|reachability", "http|shop|http", "schedule|etl|failed")]  # fmt: skip
    assert ap1 is not None and shop is not None and etl is not None
    await store.act([ap1.id], Action.SHELVE, "alice", now - 2 * H, until=now + 2 * H,
                    note="lobby AP works, vendor ticket 4411")  # fmt: skip
    await store.act([shop.id], Action.OWN, "bob", now - 1.5 * H, note="mine")
    await store.act([etl.id], Action.ESCALATE, "bob", now - 1.2 * H, note="finance waiting")
    for i in range(12):  # etl fails every 5 minutes: one line, not twelve
        at = now - 2 * H + i * 300
        run = await store.job_start("etl", "cron", at)
        await store.job_finish(
            "etl", "cron", at + 20, ok=False, run_id=run.run_id, exit_code=3, message="exit 3"
        )
    await store.change_schedule(
        "report", ScheduleAction.RESCHEDULE, now + H - (now % H), "bob", "after the ETL fix",
        now - 0.5 * H, new_time=now + 3 * H - (now % H),
    )  # fmt: skip
    await store.record("bob", "handover note", "etl rerun at 06:00; watch ap1", now - 0.2 * H)


SHIFT_CONFIG = (
    CONFIG
    + """
[[jobs]]
name = "etl"
schedule = "*/5 * * * *"

[[jobs]]
name = "report"
schedule = "0 */6 * * *"
"""
)


async def test_handover_carries_the_whole_shift(tmp_path: Path) -> None:
    config = parse_config(SHIFT_CONFIG.format(db=tmp_path / "b.db"), "t.toml")
    store = await open_store(tmp_path / "b.db")
    try:
        await seed_shift(store)
        h = await build_handover(store, config, T0)
    finally:
        await store.close()
    [shelved] = h.shelved
    assert shelved.event.resource == "ap1" and shelved.until == T0 + 2 * H
    assert (shelved.by, shelved.why) == ("alice", "lobby AP works, vendor ticket 4411")
    assert [(e.resource, e.owner) for e in h.owned] == [("shop", "bob")]
    [up] = h.escalated
    assert (up.event.resource, up.by, up.note) == (
        "etl",
        "bob",
        "major -> critical: finance waiting",
    )
    [etl] = [x for x in h.exceptions if x.job == "etl"]
    assert (etl.count, etl.at, etl.last) == (12, T0 - 2 * H, T0 - 2 * H + 11 * 300)
    assert etl.detail == "exit 3"  # said once, not "exit 3: exit 3"
    assert {(f.job, f.state, f.actor, f.reason) for f in h.in_force} == {
        ("backup", "held", "bob", "storage work"),
        ("report", "rescheduled", "bob", "after the ETL fix"),
    }
    assert h.outgoing == "bob" and [j.note for j in h.written] == ["etl rerun at 06:00; watch ap1"]
    text = render_handover(h)
    for title in ("From the outgoing shift", "Shelved", "Owned", "Escalated",
                  "Holds and reschedules in force"):  # fmt: skip
        assert f"\n{title}" in text, title
    assert "vendor ticket 4411" in text and "finance waiting" in text
    assert "Handed over by bob." in text
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith("etl ")) == 1
    md = render_handover(h, markdown=True)
    assert "## Shelved" in md and "## Holds and reschedules in force" in md
    data = handover_json(h)
    assert data["outgoing"] == "bob"
    assert data["shelved"][0]["why"] == "lobby AP works, vendor ticket 4411"
    assert data["owned"][0]["owner"] == "bob"
    assert data["escalated"][0]["escalated_by"] == "bob"
    [etl_json] = [x for x in data["schedule_exceptions"] if x["job"] == "etl"]
    assert (etl_json["count"], etl_json["first"], etl_json["last"]) == (
        12, T0 - 2 * H, T0 - 2 * H + 11 * 300,
    )  # fmt: skip
    assert {f["job"] for f in data["in_force"]} == {"backup", "report"}


async def test_handover_has_every_kind_of_item_and_acceptance_starts_the_next(
    tmp_path: Path,
) -> None:
    config = parse_config(CONFIG.format(db=tmp_path / "b.db"), "t.toml")
    store = await open_store(tmp_path / "b.db")
    try:
        await seed(store)
        h = await build_handover(store, config, T0)
        assert h.start == T0 - 12 * H and h.previous is None  # no handover yet: 12 h
        assert [e.resource for e in h.unacknowledged] == ["sw1"]
        [(disk, notes)] = h.acknowledged
        assert disk.resource == "db1"
        assert [n.note for n in notes] == ["cleaning logs", "volume grow at 06:00"]
        assert ("backup", "failed") in [(x.job, x.state) for x in h.exceptions]
        assert [(c.action.value, c.reason) for c in h.changes] == [("hold", "storage work")]
        assert {n.note for n in h.notes} >= {"volume grow at 06:00", "took the bridge from alice"}
        assert dict(h.on_bridge) == {"alice": 2, "bob": 2}  # 'bridge' itself is not a person
        text = render_handover(h)
        for title in ("Unacknowledged (open or resolved)", "Acknowledged, not resolved", "Schedule exceptions",
                      "Reschedules and holds", "Operator notes", "On the bridge"):  # fmt: skip
            assert title in text
        assert "cleaning logs" in text
        await accept_handover(store, h, "carol", T0 + 60)
        nxt = await build_handover(store, config, T0 + 120)
        assert nxt.previous is not None and nxt.previous.actor == "carol"
        assert nxt.start == T0 + 60
        assert nxt.changes == [] and dict(nxt.on_bridge) == {"carol": 1}
        assert [e.resource for e in nxt.unacknowledged] == ["sw1"]  # still open: still listed
    finally:
        await store.close()


@pytest.fixture
def seeded(isolated: Isolated) -> Path:
    return seeded_config(isolated, seed, CONFIG)


def test_cli_handover(isolated: Isolated, seeded: Path) -> None:
    # The seed is at T0 (2026-11-19): a long --since reaches it from the real now.
    out = run_bridge(isolated, "--config", str(seeded), "handover", "--since", "90d", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [e["resource"] for e in data["unacknowledged"]] == ["sw1"]
    assert data["acknowledged_unresolved"][0]["notes"][0]["note"] == "cleaning logs"
    assert data["schedule_changes"][0]["reason"] == "storage work"
    assert data["on_bridge"] == {"alice": 2, "bob": 2}
    # The events are the same objects `bridge events --json` writes: one serializer.
    listed = run_bridge(isolated, "--config", str(seeded), "events", "--json")
    assert listed.returncode == 0, listed.stderr
    by_id = {e["id"]: e for e in json.loads(listed.stdout)}
    [unacked] = data["unacknowledged"]
    assert unacked == by_id[unacked["id"]]
    acked = dict(data["acknowledged_unresolved"][0])
    assert acked.pop("notes") and acked == by_id[acked["id"]]
    assert {"detail", "count", "last_seen", "acked_at", "owner"} <= set(unacked)
    md = run_bridge(isolated, "--config", str(seeded), "handover", "--since", "90d", "--markdown")
    assert md.stdout.startswith("# Shift handover") and "## Operator notes" in md.stdout
    bad = run_bridge(isolated, "--config", str(seeded), "handover", "--since", "later")
    assert bad.returncode == 2 and bad.stderr.startswith("bridge: --since")


def lines_text(view: LinesView) -> str:
    return "\n".join("".join(t for t, _ in line) for line in view.lines)


def settled(pilot: Pilot[int], screen_type: type, text: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        await pilot.pause()
        screen = pilot.app.screen
        return isinstance(screen, screen_type) and text in lines_text(screen.query_one(LinesView))

    return check


async def test_console_views_and_accepting_the_handover(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("R")
        await wait_until(settled(pilot, ReportsScreen, "Notifications outbox"), 5, what="reports")
        text = lines_text(app.screen.query_one(LinesView))
        assert "Response by severity" in text and "critical" in text
        await pilot.press("p")
        await wait_until(settled(pilot, ReportsScreen, "last 7 days"), 5, what="a week")
        await pilot.press("escape", "O")
        await wait_until(settled(pilot, HandoverScreen, "uplink Gi0/1 down"), 5, what="handover")
        assert "[bold red]pwned[/]" in lines_text(app.screen.query_one(LinesView))  # literal
        await pilot.press("a")
        assert isinstance(app, BridgeApp)
        await wait_until(on_screen(pilot, PromptScreen), 5, what="who takes over")
        await pilot.press("enter")  # prefilled: alice
        await wait_until(on_screen(pilot, ConfirmScreen), 5, what="the confirmation")
        await pilot.press("y")

        async def journalled() -> bool:
            await pilot.pause()
            entry = await app.store.last_journal(HANDOVER_ACTION)
            return entry is not None and entry.actor == "alice"

        await wait_until(journalled, 5, what="the handover in the journal")
        assert not isinstance(app.screen, HandoverScreen)


def on_screen(pilot: Pilot[int], screen_type: type) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        await pilot.pause()
        return isinstance(pilot.app.screen, screen_type)

    return check


def question(app: BridgeApp) -> str:
    screen = app.screen
    if isinstance(screen, PromptScreen):
        return str(screen.query_one("#prompt-question", Static).content)
    assert isinstance(screen, ConfirmScreen), screen
    return screen.question


async def test_accepting_asks_who_takes_over_and_journals_both_names(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("O")
        await wait_until(settled(pilot, HandoverScreen, "uplink Gi0/1 down"), 5, what="handover")
        await pilot.press("w")  # alice, going off shift, writes the handover
        await wait_until(on_screen(pilot, PromptScreen), 5, what="the note prompt")
        app.screen.query_one(Input).value = "core-sw1 uplink: carrier ticket 7781"
        await pilot.press("enter")
        await wait_until(
            settled(pilot, HandoverScreen, "carrier ticket 7781"), 5, what="the note shown"
        )
        assert "Handed over by alice." in lines_text(app.screen.query_one(LinesView))
        # The prompt is prefilled with this console's operator: alice, the outgoing one.
        await pilot.press("a")
        await wait_until(on_screen(pilot, PromptScreen), 5, what="who takes over")
        assert app.screen.query_one(Input).value == "alice"
        assert "Who is taking over from alice?" in question(app)
        await pilot.press("enter")
        await wait_until(on_screen(pilot, ConfirmScreen), 5, what="the confirmation")
        assert "alice is also the outgoing operator" in question(app)
        await pilot.press("n")
        await wait_until(on_screen(pilot, HandoverScreen), 5, what="back at the handover")
        assert await app.store.last_journal(HANDOVER_ACTION) is None
        await pilot.press("a")
        await wait_until(on_screen(pilot, PromptScreen), 5, what="who takes over")
        app.screen.query_one(Input).value = "carol"
        await pilot.press("enter")
        await wait_until(on_screen(pilot, ConfirmScreen), 5, what="the confirmation")
        assert question(app).startswith("carol takes over from alice: ")
        await pilot.press("y")

        async def journalled() -> bool:
            await pilot.pause()
            return await app.store.last_journal(HANDOVER_ACTION) is not None

        await wait_until(journalled, 5, what="the handover in the journal")
        entry = await app.store.last_journal(HANDOVER_ACTION)
        assert entry is not None and entry.actor == "carol"
        assert entry.note.startswith("from alice to carol: accepted the handover of ")

        # carol is at this keyboard now: what she does next is in her name.
        async def signed_on() -> bool:
            await pilot.pause()
            return await app.store.last_journal("sign-on") is not None

        await wait_until(signed_on, 5, what="carol signed on")
        assert app.operator == "carol"
        sign_on = await app.store.last_journal("sign-on")
        assert sign_on is not None and sign_on.actor == "carol"
        assert sign_on.note == "took the bridge from alice"


async def test_a_handover_note_being_saved_is_counted_and_quitting_asks(tmp_path: Path) -> None:
    """The note goes up to the app, which saves it as it saves an ack: while another
    writer holds the store's lock, Ctrl+Q asks first; then the note is stored."""
    db = tmp_path / "bridge.db"
    await seed_store(db)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("O")
        await wait_until(settled(pilot, HandoverScreen, "uplink Gi0/1 down"), 5, what="handover")
        await pilot.press("w")
        await wait_until(on_screen(pilot, PromptScreen), 5, what="the note prompt")
        app.screen.query_one(Input).value = "core-sw1 uplink: carrier ticket 7781"
        other = sqlite3.connect(db, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # within the store's busy timeout (5 s)
            await pilot.press("enter")
            await wait_until(on_screen(pilot, HandoverScreen), 5, what="back at the handover")

            async def saving() -> bool:
                await pilot.pause()
                return app.in_flight == 1

            await wait_until(saving, 3, what="the note being saved")
            await pilot.press("ctrl+q")
            await wait_until(on_screen(pilot, ConfirmScreen), 5, what="the quit question")
            assert question(app) == "1 action(s) still being saved. Quit anyway?"
            await pilot.press("n")
            assert app.is_running
        finally:
            other.execute("ROLLBACK")
            other.close()
        await wait_until(
            settled(pilot, HandoverScreen, "carrier ticket 7781"), 5, what="the note shown"
        )
        assert app.in_flight == 0


async def test_a_note_is_saved_though_the_handover_view_closed_meanwhile(tmp_path: Path) -> None:
    """Esc while the note waits for the store's lock: the view is gone, the note is
    saved all the same, and the console carries on."""
    db = tmp_path / "bridge.db"
    await seed_store(db)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("O")
        await wait_until(settled(pilot, HandoverScreen, "uplink Gi0/1 down"), 5, what="handover")
        await pilot.press("w")
        await wait_until(on_screen(pilot, PromptScreen), 5, what="the note prompt")
        app.screen.query_one(Input).value = "written, then the view closed"
        other = sqlite3.connect(db, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # within the store's busy timeout (5 s)
            await pilot.press("enter")
            await wait_until(on_screen(pilot, HandoverScreen), 5, what="back at the handover")

            async def saving() -> bool:
                await pilot.pause()
                return app.in_flight == 1

            await wait_until(saving, 3, what="the note being saved")
            await pilot.press("escape")

            async def closed() -> bool:
                await pilot.pause()
                return not isinstance(app.screen, HandoverScreen)

            await wait_until(closed, 5, what="the view closed")
        finally:
            other.execute("ROLLBACK")
            other.close()

        async def stored() -> bool:
            await pilot.pause()
            entry = await app.store.last_journal(NOTE_ACTION)
            return entry is not None and entry.note == "written, then the view closed"

        await wait_until(stored, 5, what="the note in the journal")
        await pilot.pause()
        assert app.is_running and app.in_flight == 0


async def test_handover_lines_follow_the_view_width(tmp_path: Path) -> None:
    """When the view's width changes after its lines came (a terminal resized, or the
    80-column breakpoint applying after a fast load, as in the demo), the lines are
    drawn to the new width: the handover's summaries were cut at column 60."""
    db = tmp_path / "bridge.db"
    await seed_store(db)
    app = make_app(db)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("O")
        await wait_until(settled(pilot, HandoverScreen, "uplink Gi0/1 down"), 5, what="handover")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        view = app.screen.query_one(LinesView)
        assert view.size.width == 76
        assert view.virtual_size.width == view.size.width, (view.virtual_size, view.size)


def test_cli_handover_carries_the_whole_shift(isolated: Isolated) -> None:
    """`bridge handover` in text, Markdown and JSON, at the real time (a long --since)."""
    config = seeded_config(isolated, seed_shift, SHIFT_CONFIG)
    args = ("--config", str(config), "handover", "--since", "90d")
    text = run_bridge(isolated, *args)
    assert text.returncode == 0, text.stderr
    for title in ("From the outgoing shift", "Shelved", "Owned", "Escalated",
                  "Holds and reschedules in force"):  # fmt: skip
        assert f"\n{title}\n" in text.stdout, title
    assert "vendor ticket 4411" in text.stdout and "Handed over by bob." in text.stdout
    etl_lines = [ln for ln in text.stdout.splitlines() if ln.lstrip().startswith("etl ")]
    assert len(etl_lines) == 1 and " 12 " in etl_lines[0], etl_lines
    md = run_bridge(isolated, *args, "--markdown")
    assert "## Shelved" in md.stdout and "## Escalated" in md.stdout
    data = json.loads(run_bridge(isolated, *args, "--json").stdout)
    assert data["outgoing"] == "bob"
    assert [e["resource"] for e in data["shelved"]] == ["ap1"]
    assert [(e["resource"], e["owner"]) for e in data["owned"]] == [("shop", "bob")]
    assert [e["resource"] for e in data["escalated"]] == ["etl"]
    # Run at the real time, weeks after T0: the seed's hold and reschedule have passed.
    assert data["in_force"] == []


async def test_the_reasons_of_every_operator_action_are_in_the_handover(tmp_path: Path) -> None:
    """Assigning, releasing, unshelving and resolving by hand carry a reason the next
    shift needs as much as an ack's note."""
    config = parse_config(CONFIG.format(db=tmp_path / "b.db"), "t.toml")
    store = await open_store(tmp_path / "b.db")
    try:
        await seed(store)
        sw1 = await store.find_event("snmp|sw1|reachability")
        assert sw1 is not None
        await store.act(
            [sw1.id], Action.ASSIGN, "alice", T0 - H, to="carol", note="carol has the keys"
        )
        await store.act([sw1.id], Action.DISOWN, "carol", T0 - 0.8 * H, note="handed to networks")
        await store.act(
            [sw1.id], Action.RESOLVE, "alice", T0 - 0.5 * H, note="trap, cleared by hand"
        )
        h = await build_handover(store, config, T0)
        notes = " | ".join(n.note for n in h.notes)
        for reason in ("to carol: carol has the keys", "handed to networks", "cleared by hand"):
            assert reason in notes, notes
    finally:
        await store.close()
