"""`[ui] time`: every time on screen and in reports in one zone, named once in the header.

The host's zone is Asia/Tokyo here (no daylight saving, nine hours from UTC),
so a time in the wrong zone cannot pass for the right one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Isolated, config_errors, run_bridge, settled, wait_until
from seed import HOST, T0, seed_store

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.core.timefmt import same_day, show_time, use_display_zone
from bridge.store import open_store
from bridge.ui.app import create_app
from bridge.ui.panes.events import EventDetailsScreen, EventsPane
from bridge.ui.widgets.header import BridgeHeader, header_text
from bridge.ui.widgets.lines import LinesView

DISK_SEEN = T0 - 600  # the seeded disk event: 10:56:40 UTC, 19:56:40 in Tokyo


@pytest.fixture
def tokyo() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed_store(path)
    return path


def test_the_choice_is_checked(isolated: Isolated) -> None:
    assert Config.model_validate({"ui": {"time": "utc"}}).ui.time == "utc"
    assert Config().ui.time == "local"
    assert config_errors(isolated, '[ui]\ntime = "gmt"\n') == [
        "ui.time: expected 'local' or 'utc', got 'gmt'"
    ]


def test_one_function_formats_in_the_chosen_zone(tokyo: None) -> None:
    use_display_zone("utc")
    assert show_time(DISK_SEEN, "second", label=True) == "2026-11-18 10:56:40 UTC"
    assert show_time(None) == "—"
    use_display_zone("local")
    assert show_time(DISK_SEEN, "second", label=True) == "2026-11-18 19:56:40 JST"
    # 20:00 UTC and 02:00 UTC the next day: one day in Tokyo (05:00 and 11:00), two in UTC.
    evening = 1_795_032_000.0 - 1_795_032_000.0 % 86400 + 20 * 3600
    assert same_day(evening, evening + 6 * 3600)
    use_display_zone("utc")
    assert not same_day(evening, evening + 6 * 3600)


@pytest.mark.parametrize(("zone", "name", "hour"), [("utc", "UTC", "10:56:40"),
                                                    ("local", "JST", "19:56:40")])  # fmt: skip
async def test_the_console_shows_every_time_in_the_zone_its_header_names(
    db: Path, tokyo: None, zone: str, name: str, hour: str
) -> None:
    config = Config.model_validate({"ui": {"time": zone}})
    app = create_app(config, operator="alice", store_path=db, collect=False, clock=FixedClock(T0))
    async with app.run_test(size=(120, 40)) as pilot:
        header = app.query_one(BridgeHeader)
        await wait_until(settled(pilot, lambda: name in header_text(header)), 3, what="clock")
        assert header_text(header).count(name) == 1
        events = app.query_one(EventsPane)
        await wait_until(settled(pilot, lambda: len(events.body.rows) >= 4), 3, what="events")
        await pilot.press("home", "enter")  # the newest critical: the disk event
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        view = screen.query_one("#event-lines", LinesView)
        await wait_until(settled(pilot, lambda: bool(view.lines)), 3, what="details")
        text = "\n".join("".join(t for t, _ in line) for line in view.lines)
        assert "disk:/var" in text
        assert f"2026-11-18 {hour}" in text, text
        assert name not in text  # the header named the zone; not again on every line


async def _note(db: Path) -> int:
    store = await open_store(db)
    try:
        event = await store.find_event(f"local|{HOST}|disk:/var")
        assert event is not None
        return event.id
    finally:
        await store.close()


@pytest.mark.parametrize(("zone", "shown"), [("utc", "10:56:40 UTC"), ("local", "19:56:40 JST")])
async def test_the_cli_reports_times_in_the_chosen_zone(
    db: Path, isolated: Isolated, zone: str, shown: str
) -> None:
    event_id = await _note(db)
    path = isolated.write_config(f'[store]\npath = "{db}"\n[ui]\ntime = "{zone}"\n')
    env = {**isolated.env, "TZ": "Asia/Tokyo"}
    show = run_bridge(isolated, "--config", str(path), "events", "show", str(event_id), env=env)
    assert show.returncode == 0, show.stderr
    assert f"2026-11-18 {shown}" in show.stdout
    other = "JST" if zone == "utc" else "UTC"
    handover = run_bridge(isolated, "--config", str(path), "handover", "--since", "1h", env=env)
    assert handover.returncode == 0, handover.stderr
    heading = handover.stdout.splitlines()[0]
    assert heading.startswith("Shift handover ") and shown[-3:] in heading, heading
    for result in (show, handover):
        assert other not in result.stdout


@pytest.mark.parametrize(("zone", "utc_hour"), [("utc", 9), ("local", 0)])
def test_a_reports_from_and_to_are_read_in_the_zone_it_shows(
    tokyo: None, zone: str, utc_hour: int
) -> None:
    from datetime import UTC, datetime

    from bridge.reports.levels import parse_period

    use_display_zone(zone)  # type: ignore[arg-type]
    period = parse_period(None, "2026-11-18T09:00", "2026-11-18T10:00+00:00", T0)
    assert period.start == datetime(2026, 11, 18, utc_hour, tzinfo=UTC).timestamp()
    assert period.end == datetime(2026, 11, 18, 10, tzinfo=UTC).timestamp()  # a zone given
