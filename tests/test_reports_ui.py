"""The Reports and Handover views compute off the event loop.

Each computation is held at a gate (a threading.Event) the test opens: that is
how a long month is made without seeding one, and it proves the console still
takes keys while a computation is under way.
"""

from __future__ import annotations

import threading
from pathlib import Path

from conftest import settled, wait_until
from seed import make_app, seed_store

from bridge.config.file import Config
from bridge.reports.handover import Handover, HandoverData, compute_handover
from bridge.reports.levels import Period, Report, ReportData, compute_report
from bridge.ui.screens.reports import HandoverScreen, ReportsScreen
from bridge.ui.widgets.lines import LinesView

DAY = 86400.0
WITHIN = 10.0


def text(screen: ReportsScreen | HandoverScreen) -> str:
    return "\n".join("".join(t for t, _ in line) for line in screen.query_one(LinesView).lines)


class Gates:
    """One gate per report period: each computation waits until its own is opened."""

    def __init__(self) -> None:
        self.started: dict[float, threading.Event] = {}
        self.release: dict[float, threading.Event] = {}
        self.finished: dict[float, threading.Event] = {}
        self.superseded: dict[float, bool] = {}

    def events(self, span: float) -> tuple[threading.Event, threading.Event, threading.Event]:
        for table in (self.started, self.release, self.finished):
            table.setdefault(span, threading.Event())
        return self.started[span], self.release[span], self.finished[span]

    def compute(
        self, data: ReportData, config: Config, period: Period, now: float, stop: threading.Event
    ) -> Report:
        started, release, finished = self.events(round(period.end - period.start))
        started.set()
        try:
            assert release.wait(WITHIN), "the test never opened the gate"
            self.superseded[round(period.end - period.start)] = stop.is_set()
            return compute_report(data, config, period, now, stop)
        finally:
            finished.set()


async def test_reports_compute_off_the_loop_and_a_newer_period_wins(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    app = make_app(db)
    gates = Gates()
    day_started, day_release, day_finished = gates.events(round(DAY))
    week_started, week_release, _ = gates.events(round(7 * DAY))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = ReportsScreen(app.context, compute=gates.compute)
        await app.push_screen(screen)
        await wait_until(settled(pilot, day_started.is_set), WITHIN, what="the day's computation")
        assert screen.computing and "computing…" in text(screen)
        # The day is held in its thread; the console still takes a key: `p` for a week.
        await pilot.press("p")
        await wait_until(
            settled(pilot, lambda: "computing… (last 7 days)" in text(screen)),
            WITHIN,
            what="the period key handled while the day computes",
        )
        await wait_until(settled(pilot, week_started.is_set), WITHIN, what="the week's computation")
        week_release.set()
        await wait_until(
            settled(pilot, lambda: "Service report" in text(screen)), WITHIN, what="the week"
        )
        assert "(last 7 days)" in text(screen) and "Notifications outbox" in text(screen)
        assert not screen.computing
        # The superseded day finishes late: it was told to stop, and it is not drawn.
        day_release.set()
        await wait_until(settled(pilot, day_finished.is_set), WITHIN, what="the day to end")
        await pilot.pause()
        assert gates.superseded[round(DAY)] is True
        assert "(last 7 days)" in text(screen) and "(last 24 h)" not in text(screen)


async def test_closing_the_handover_while_it_computes(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    app = make_app(db)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def gated(data: HandoverData, config: Config, now: float) -> Handover:
        started.set()
        try:
            assert release.wait(WITHIN), "the test never opened the gate"
            return compute_handover(data, config, now)
        finally:
            finished.set()

    async with app.run_test(size=(120, 40)) as pilot:
        screen = HandoverScreen(app.context, compute=gated)
        await app.push_screen(screen)
        await wait_until(settled(pilot, started.is_set), WITHIN, what="the handover computation")
        assert "computing…" in text(screen)
        await pilot.press("a")  # nothing to accept yet: no effect, no error
        await pilot.press("escape")
        await wait_until(
            settled(pilot, lambda: not isinstance(app.screen, HandoverScreen)),
            WITHIN,
            what="Esc handled while the handover computes",
        )
        release.set()
        await wait_until(settled(pilot, finished.is_set), WITHIN, what="the computation to end")
        await pilot.pause()
        assert screen.handover is None  # the closed view drew nothing
        # Opening it again computes for real.
        await pilot.press("O")
        await wait_until(
            settled(pilot, lambda: isinstance(app.screen, HandoverScreen)
                    and "Shift handover" in text(app.screen)),
            WITHIN,
            what="the handover",
        )  # fmt: skip
