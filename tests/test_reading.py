"""Text an operator must read is never lost: at 80x24 the whole of a 400-character
trap summary, an operator's reason, a job run's message and its output can be read
in the details, the handover and `bridge handover`; long text wraps, and a cut (in
a live pane's fixed column) shows its `…`.

Driven by Pilot on the real console (a real SQLite store, a fixed clock) and by
the real CLI; what is checked is what the widgets draw (`render_line`).
"""

from __future__ import annotations

from pathlib import Path

from conftest import Isolated, run_bridge, seeded_config, settled, wait_until
from seed import T0, seed_store
from textual.widget import Widget

from bridge.config.file import Config
from bridge.core.actions import Action
from bridge.core.clock import FixedClock
from bridge.core.models import EventInput, ScheduleAction, Severity
from bridge.core.wrap import cell_width, clip, table_text, wrap_text
from bridge.store import Store, open_store
from bridge.ui.app import BridgeApp, create_app
from bridge.ui.panes.events import EventDetailsScreen, EventsPane
from bridge.ui.screens.modals import DetailsScreen, HelpScreen
from bridge.ui.screens.reports import HandoverScreen
from bridge.ui.widgets.lines import LinesView

NARROW = (80, 24)
WAIT = 5.0

# Numbered words: a word cut at the screen's edge, or one dropped, is seen.
SUMMARY = "linkDown trap from edge-rt9: " + " ".join(f"s{i:03d}" for i in range(74)) + " s-end"
REASON = "vendor ticket 4411: " + " ".join(f"r{i:03d}" for i in range(60)) + " r-end"
WHY = "after the warehouse fix: " + " ".join(f"y{i:03d}" for i in range(40)) + " y-end"
MESSAGE = "load step 3 failed: " + " ".join(f"m{i:03d}" for i in range(40)) + " m-end"
# 50 lines of output (what `bridge job run` keeps), some longer than the screen.
OUTPUT = "\n".join(f"out{i:02d} " + " ".join(f"o{i:02d}w{k}" for k in range(15)) for i in range(50))
TRAP = EventInput("snmp", "edge-rt9", "trap:linkDown", Severity.CRITICAL, SUMMARY, T0 - 5)
JOB: dict[str, object] = {"name": "etl-load", "schedule": "*/5 * * * *", "owner": "data-eng"}


def drawn(widget: Widget) -> list[str]:
    """Each line as the widget draws it (its whole height: details views size to it)."""
    return [widget.render_line(y).text for y in range(widget.size.height)]


def words(lines: list[str]) -> list[str]:
    return " ".join(lines).split()


def contains_in_order(haystack: list[str], text: str) -> bool:
    """`text`'s words appear whole, one after another, among `haystack`."""
    needle = text.split()
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack)))


def app_on(db: Path, jobs: list[dict[str, object]] | None = None) -> BridgeApp:
    config = Config.model_validate({"jobs": jobs or []})
    return create_app(
        config, operator="alice", store_path=db, clock=FixedClock(T0), collect=False,
        hostname="bridge-test", feed_interval=0.05,
    )  # fmt: skip


async def seed_trap(db: Path) -> int:
    await seed_store(db)
    store = await open_store(db)
    try:
        await store.upsert_events([TRAP], "bridge")
        trap = await store.find_event("snmp|edge-rt9|trap:linkDown")
        assert trap is not None
        await store.act([trap.id], Action.NOTE, "bob", T0 - 2, note=REASON)
        return trap.id
    finally:
        await store.close()


async def test_event_details_at_80x24_show_the_whole_summary_and_reason(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    trap_id = await seed_trap(db)
    app = app_on(db)
    async with app.run_test(size=NARROW) as pilot:
        pane = app.query_one(EventsPane)
        await wait_until(settled(pilot, lambda: bool(pane.body.rows)), WAIT, what="rows")
        assert pane.body.current_key == str(trap_id)  # the newest critical first
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        view = screen.query_one("#event-lines", LinesView)
        await wait_until(
            settled(pilot, lambda: "JOURNAL" in " ".join(drawn(view))), WAIT, what="details"
        )
        lines = drawn(view)
        assert all(cell_width(line.rstrip()) <= view.size.width for line in lines)
        shown = words(lines)
        assert contains_in_order(shown, SUMMARY), "the summary is cut"
        assert contains_in_order(shown, REASON), "the operator's note is cut"
        # Continuation lines start under the value, not under the label.
        first = next(i for i, line in enumerate(lines) if line.startswith("summary"))
        value_at = lines[first].index("linkDown")
        assert lines[first + 1][:value_at].strip() == ""
        # `c` copies the text as it is, unwrapped.
        assert SUMMARY in screen.details_text()


async def test_job_details_at_80x24_show_the_whole_message_and_output(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    store = await open_store(db)
    try:
        run = await store.job_start("etl-load", "cron", T0 - 120)
        await store.job_finish(
            "etl-load", "cron", T0 - 60, ok=False, run_id=run.run_id, exit_code=3,
            message=MESSAGE, output_tail=OUTPUT,
        )  # fmt: skip
    finally:
        await store.close()
    app = app_on(db, [JOB])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("2")
        await pilot.press("enter")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, DetailsScreen)), WAIT, what="details"
        )
        view = app.screen.query_one("#details-lines", LinesView)
        await wait_until(settled(pilot, lambda: bool(drawn(view))), WAIT, what="drawn")
        lines = drawn(view)
        shown = words(lines)
        assert contains_in_order(shown, MESSAGE), "the run's message is cut"
        for line in OUTPUT.splitlines():  # every stored line, each whole
            assert contains_in_order(shown, line), line


async def shelve_with_reason(store: Store) -> None:
    await store.upsert_events([TRAP], "bridge")
    trap = await store.find_event("snmp|edge-rt9|trap:linkDown")
    assert trap is not None
    # A word longer than any line (a URL, a path) is split, and its pieces fill lines
    # to the last cell: the line ends clear of the scrollbar, or not.
    note = f"{REASON} https://tickets.example/{'x' * 150}"
    await store.act([trap.id], Action.SHELVE, "bob", T0 - 60, until=T0 + 7200, note=note)
    hour = T0 + 3600 - T0 % 3600
    await store.change_schedule(
        "etl-load", ScheduleAction.RESCHEDULE, hour, "bob", WHY, T0 - 30, new_time=hour + 7200
    )


async def test_the_handover_view_at_80x24_wraps_summaries_and_reasons(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    store = await open_store(db)
    try:
        await shelve_with_reason(store)
    finally:
        await store.close()
    app = app_on(db)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("O")

        def loaded() -> bool:
            screen = app.screen
            return isinstance(screen, HandoverScreen) and screen.handover is not None

        await wait_until(settled(pilot, loaded), WAIT, what="the handover")
        await pilot.pause()
        view = app.screen.query_one(LinesView)
        lines = ["".join(text for text, _ in line) for line in view.lines]  # all, scrolled or not
        # Clear of the scrollbar, which is drawn over the view's last column.
        width = view.scrollable_content_region.width
        assert view.show_vertical_scrollbar and width < view.size.width
        assert lines and all(cell_width(line) <= width for line in lines), max(
            lines, key=cell_width
        )
        # In a table the words of a cell share their lines with the other columns:
        # each word is there, whole.
        shown = set(words(lines))
        assert set(SUMMARY.split()) <= shown and set(REASON.split()) <= shown
        assert "s-end" in shown and "r-end" in shown


def test_cli_handover_and_report_wrap_to_the_terminal_and_keep_rows_whole_in_a_pipe(
    isolated: Isolated,
) -> None:
    config = seeded_config(isolated, shelve_with_reason, '[store]\npath = "{db}"\n')
    args = ("--config", str(config), "handover", "--since", "90d")
    narrow = run_bridge(isolated, *args, env={**isolated.env, "COLUMNS": "80"})
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    assert all(cell_width(line) <= 80 for line in lines), max(lines, key=len)
    shown = set(narrow.stdout.split())
    assert set(SUMMARY.split()) <= shown and set(REASON.split()) <= shown
    report = run_bridge(isolated, "--config", str(config), "report", "--since", "90d",
                        env={**isolated.env, "COLUMNS": "80"})  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert all(cell_width(line) <= 80 for line in report.stdout.splitlines())
    assert set(WHY.split()) <= set(report.stdout.split())
    piped = run_bridge(
        isolated, *args, env={k: v for k, v in isolated.env.items() if k != "COLUMNS"}
    )
    assert piped.returncode == 0, piped.stderr
    assert SUMMARY in piped.stdout and REASON in piped.stdout  # each on its row, whole
    assert WHY in piped.stdout


async def test_help_wraps_at_80x24(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    app = app_on(db)
    async with app.run_test(size=(60, 24)) as pilot:
        await pilot.press("question_mark")
        await wait_until(settled(pilot, lambda: isinstance(app.screen, HelpScreen)), WAIT)
        view = app.screen.query_one(LinesView)
        shown = words(drawn(view))
        assert contains_in_order(shown, "mark rows; actions then apply to every marked row")


def test_wrapping_keeps_every_word_and_splits_only_what_is_wider_than_a_line() -> None:
    text = "a " + "x" * 30 + " b c"
    assert wrap_text(text, 12) == ["a", "x" * 12, "x" * 12, "x" * 6 + " b c"]
    assert wrap_text("日本語のテキスト", 6) == ["日本語", "のテキ", "スト"]  # two cells each
    assert wrap_text("value wraps here", 12, indent=4) == ["value wraps", "    here"]
    assert clip("core-switch-1", 8) == "core-sw…" and clip("sw1", 8) == "sw1"
    lines = table_text(("id", "why"), [("7", "because " * 10)], 30)
    assert lines[0].split() == ["id", "why"] and all(len(line) <= 30 for line in lines)
    assert " ".join(lines[1:]).split()[1:] == ["because"] * 10


async def test_a_table_with_a_scrollbar_keeps_its_last_column_clear(tmp_path: Path) -> None:
    """The scrollbar is drawn over a view's last column: a full-width state ("shelvd")
    lost its last letter under it. The columns share the width the bar leaves."""
    db = tmp_path / "bridge.db"
    store = await open_store(db)
    try:
        await store.upsert_events(
            [
                EventInput("http", f"svc{i:02d}", "http", Severity.WARNING, f"slow {i}", T0 - i)
                for i in range(30)
            ],
            "bridge",
        )
        last = await store.find_event("http|svc29|http")
        assert last is not None
        await store.act([last.id], Action.SHELVE, "bob", T0 - 1, until=T0 + 3600)
    finally:
        await store.close()
    app = app_on(db)
    async with app.run_test(size=NARROW) as pilot:
        table = app.query_one(EventsPane).body
        await wait_until(settled(pilot, lambda: len(table.rows) == 30), WAIT, what="rows")
        await pilot.press("end")
        await pilot.pause()
        assert table.show_vertical_scrollbar
        clear = table.scrollable_content_region.width
        shown = [line[:clear].rstrip() for line in drawn(table)]
        assert any(line.endswith(" shelvd") for line in shown), shown
