"""Threshold levels with hysteresis: raise at the line, clear only below it by the margin."""

from __future__ import annotations

import pytest

from bridge.config.local import DEFAULT_THRESHOLDS, Threshold
from bridge.core.models import EventInput, Severity
from bridge.rules.thresholds import LevelTracker, level_for
from bridge.store import Store

T = Threshold(warning=80, critical=90, hysteresis=5)
OK, WARNING, CRITICAL = Severity.OK, Severity.WARNING, Severity.CRITICAL


@pytest.mark.parametrize(
    ("value", "previous", "expected"),
    [
        (79.9, OK, OK),
        (80.0, OK, WARNING),  # raised exactly at the line
        (89.9, OK, WARNING),
        (90.0, OK, CRITICAL),
        (150.0, OK, CRITICAL),
        # Held warning stays until below warning - hysteresis (75).
        (79.0, WARNING, WARNING),
        (75.0, WARNING, WARNING),
        (74.9, WARNING, OK),
        # A warning does not become critical early because of the margin.
        (86.0, WARNING, WARNING),
        # Held critical stays until below critical - hysteresis (85), then is warning.
        (85.0, CRITICAL, CRITICAL),
        (84.9, CRITICAL, WARNING),
        (76.0, CRITICAL, WARNING),  # still within the warning margin
        (74.9, CRITICAL, OK),
    ],
)
def test_level_for(value: float, previous: Severity, expected: Severity) -> None:
    assert level_for(T, value, previous) is expected


def test_no_hysteresis_clears_at_the_line() -> None:
    t = Threshold(warning=10, critical=20)
    assert level_for(t, 10, OK) is WARNING
    assert level_for(t, 9.99, WARNING) is OK


def test_a_hovering_value_does_not_flap() -> None:
    tracker = LevelTracker({"cpu": T})
    values = [70, 81, 79, 78, 80.5, 77, 76, 74, 79, 81]
    levels = [tracker.evaluate("h", {"cpu": v})["cpu"] for v in values]
    assert levels == [OK, WARNING, WARNING, WARNING, WARNING, WARNING, WARNING, OK, OK, WARNING]


def test_tracker_maps_metrics_by_prefix() -> None:
    disk = Threshold(warning=85, critical=95, hysteresis=2)
    tracker = LevelTracker({"disk": disk, "cpu": T})
    assert tracker.threshold("disk:/var") is disk
    assert tracker.threshold("disk") is disk
    assert tracker.threshold("cpu") is T
    assert tracker.threshold("net_rx") is None
    assert tracker.threshold("diskette") is None

    levels = tracker.evaluate("h", {"disk:/var": 96.0, "disk:/": 50.0, "net_rx": 1e9})
    assert levels == {"disk:/var": CRITICAL, "disk:/": OK}  # no threshold: no level


def test_tracker_remembers_per_resource_and_metric() -> None:
    tracker = LevelTracker({"disk": Threshold(warning=85, critical=95, hysteresis=2)})
    assert tracker.evaluate("a", {"disk:/var": 86.0}) == {"disk:/var": WARNING}
    # 84 is within the margin for a's /var (held), but not for b's or for a's /home.
    assert tracker.evaluate("a", {"disk:/var": 84.0, "disk:/home": 84.0}) == {
        "disk:/var": WARNING,
        "disk:/home": OK,
    }
    assert tracker.evaluate("b", {"disk:/var": 84.0}) == {"disk:/var": OK}


def test_default_thresholds_are_ordered() -> None:
    for name, t in DEFAULT_THRESHOLDS.items():
        assert t.warning <= t.critical, name
        assert t.hysteresis < t.warning, name


async def test_levels_resume_from_open_events_after_a_restart(store: Store) -> None:
    # cpu: warning 85, hysteresis 5. Before the restart the host was at warning;
    # 82 % is inside the band, so it stays warning rather than resolving the
    # event, only to raise it again at 85.
    await store.upsert_events(
        [
            EventInput("local", "h1", "cpu", Severity.WARNING, "cpu 86%", 1000.0, value=86.0),
            EventInput("local", "h1", "disk:/var", Severity.MAJOR, "/var 97%", 1000.0),
            EventInput("local", "h2", "cpu", Severity.WARNING, "cpu 90%", 1000.0, value=90.0),
            EventInput("local", "h2", "cpu", Severity.OK, "cpu 10%", 1001.0, value=10.0),
            EventInput("snmp", "sw1", "oper-status", Severity.MAJOR, "down", 1000.0),
        ],
        actor="test",
    )
    fresh = LevelTracker(DEFAULT_THRESHOLDS)
    restored = LevelTracker(DEFAULT_THRESHOLDS)
    restored.restore(await store.list_events(limit=100, keep_unacked_resolved=False))
    metrics = {"cpu": 82.0, "disk:/var": 94.0}
    assert fresh.evaluate("h1", metrics) == {"cpu": Severity.OK, "disk:/var": Severity.WARNING}
    # A renamed severity (a [[rules]] override to major) is held as warning, not
    # critical: 94 % is inside critical's band (95 - 2) and must not read critical.
    assert restored.evaluate("h1", metrics) == {
        "cpu": Severity.WARNING,
        "disk:/var": Severity.WARNING,
    }
    assert restored.evaluate("h2", {"cpu": 82.0}) == {"cpu": Severity.OK}  # resolved: not held
