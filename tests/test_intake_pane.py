"""The Health pane's intake section, from a real intake serving on the same store:
where it listens, requests/s, refusals by kind and the last request per token
name, driven with real curl and read from the real console under Pilot."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import settled, wait_until
from seed import HOST, T0, seed_store
from test_intake import API, CURL, PING, event, free_port, http

from bridge.config.file import Config
from bridge.core.clock import FixedClock
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.intake import Intake, run_intake
from bridge.runtime.runner import CollectorRunner
from bridge.store import open_store
from bridge.ui.app import create_app
from bridge.ui.panes.health import HealthPane
from bridge.ui.widgets.lines import LinesView

pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed")

UNUSED = "unused-token-SECRET-0123456789"


def shown(view: LinesView) -> str:
    return "\n".join("".join(text for text, _ in line) for line in view.lines)


async def test_the_health_pane_shows_the_intake_section(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    raw: dict[str, Any] = {
        "jobs": [{"name": "backup", "schedule": "0 2 * * *"}],
        "intake": {
            "enabled": True,
            "port": free_port(),
            "tokens": [
                {"name": "backup-hosts", "token": PING, "allow": ["ping"]},
                {"name": "scripts", "token": API, "allow": ["events"]},
                {"name": "alertmanager-eu", "token": UNUSED, "allow": ["alertmanager"]},
            ],
        },
    }
    config = Config.model_validate(raw)
    store = await open_store(db)
    runner = CollectorRunner(store, [], FixedClock(T0), LevelTracker({}), RuleEngine(config))
    up: asyncio.Future[Intake] = asyncio.get_running_loop().create_future()
    # The requests come 90 s before the console's now: they show as 1m30s ago.
    clock = FixedClock(T0 - 90)
    serving = asyncio.create_task(
        run_intake(config, store, runner, clock, ready=up.set_result, every=0.1)
    )
    try:
        intake = await asyncio.wait_for(up, 10)
        assert intake.address is not None
        url = f"http://127.0.0.1:{intake.address[1]}"
        assert (await http(f"{url}/ping/{PING}/backup"))[0] == 200
        assert (await http(f"{url}/ping/wrong-token-0123456789/backup"))[0] == 403
        body = json.dumps(event()).encode()
        assert (await http(f"{url}/api/v1/events", "POST", body, API))[0] == 200
        assert (await http(f"{url}/api/v1/events", "POST", b"{", API))[0] == 400
        clock.set(T0)  # the counters written from now on are fresh

        # The console reads the store; it does not serve (no lease, no intake of its own).
        app_config = Config.model_validate({**raw, "intake": {**raw["intake"], "enabled": False}})
        app = create_app(app_config, operator="alice", store_path=db, clock=FixedClock(T0),
                         collect=False, hostname=HOST, feed_interval=0.05)  # fmt: skip
        async with app.run_test(size=(120, 40)) as pilot:
            view = app.query_one(HealthPane).host_view

            def complete() -> bool:
                text = shown(view)
                fresh = "as of" not in text
                return fresh and "bad-request 1" in text and "scripts 1m30s ago" in text

            await wait_until(settled(pilot, complete), 15, what="the intake section")
            lines = shown(view).splitlines()
            start = next(i for i, ln in enumerate(lines) if ln.startswith("intake "))
            end = start + 1
            while end < len(lines) and lines[end].startswith("  "):
                end += 1
            section = lines[start:end]
            assert all(len(line) <= view.size.width for line in section)  # wrapped, not cut
            text = " ".join(line.strip() for line in section)
            assert text.startswith(f"intake {url} · ") and " req/s " in text
            assert "4 requests" in text and "2 refused: " in text
            assert "wrong-token 1" in text and "bad-request 1" in text
            assert "last request " in text
            assert "backup-hosts 1m30s ago" in text and "scripts 1m30s ago" in text
            assert "alertmanager-eu never" in text
            for secret in (PING, API, UNUSED):
                assert secret not in "\n".join(lines)
                assert secret not in app.export_screenshot()
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await store.close()


def test_the_section_is_literal_bounded_and_dated() -> None:
    from bridge.runtime.intake_stats import intake_lines

    data = {"address": "http://[::1]:8765", "rate": 2.5, "requests": 10,
            "errors": {"[b]x[/b]": 2}, "tokens": {"ops\x1b[31m": T0 - 5}}  # fmt: skip
    full = intake_lines(data, T0 - 100, T0, ["ops\x1b[31m", "idle"])
    text = ["".join(piece for piece, _ in line) for line in full]
    assert text[0] == ("intake http://[::1]:8765 · 2.5 req/s · 10 requests · as of 1m40s ago"
                       " · 2 refused: [b]x[/b] 2")  # fmt: skip
    assert "\x1b" not in text[1] and "5s ago" in text[1] and "idle never" in text[1]
    data["tokens"] = {"ops": T0 - 5}
    narrow = ["".join(p for p, _ in line) for line in intake_lines(data, T0, T0, [], width=30)]
    assert narrow[0] == "intake http://[::1]:8765"
    assert narrow[1].startswith("  2.5 req/s · 10 requests")
    assert all(len(line) <= 30 for line in narrow[1:])
    (compact,) = intake_lines(data, T0, T0, [], compact=True)
    assert "as of" not in "".join(piece for piece, _ in compact)
    # A snapshot of another shape (an older or newer writer) is drawn, not raised.
    assert intake_lines({"errors": "x", "tokens": 3, "rate": None}, T0, T0, [])
