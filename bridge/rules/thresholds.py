"""Threshold levels with hysteresis, so a value hovering at a line does not flap."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bridge.config.local import Threshold
from bridge.core.models import Event, EventState, Severity

__all__ = ["LevelTracker", "level_for"]


def level_for(threshold: Threshold, value: float, previous: Severity) -> Severity:
    """The highest level whose line `value` reaches.

    A level already held is kept until the value falls `hysteresis` below its line,
    so the raise line and the clear line differ.
    """
    for level, line in (
        (Severity.CRITICAL, threshold.critical),
        (Severity.WARNING, threshold.warning),
    ):
        margin = threshold.hysteresis if previous >= level else 0.0
        if value >= line - margin:
            return level
    return Severity.OK


class LevelTracker:
    """Remembers each metric's last level; metric names map to thresholds by prefix.

    A metric named `disk:/var` uses the `disk` threshold, so one threshold serves
    every mount, interface or core of its kind.
    """

    def __init__(self, thresholds: Mapping[str, Threshold]) -> None:
        self.thresholds = dict(thresholds)
        self._levels: dict[tuple[str, str], Severity] = {}

    def restore(self, events: Iterable[Event]) -> None:
        """Start from the levels the open threshold events say were held.

        From OK, a value inside a level's hysteresis band would read OK after
        a poller restart and resolve the event, only to raise it again at the
        line: a flap made by the restart.
        """
        for e in events:
            if e.state is EventState.RESOLVED or self.threshold(e.check) is None:
                continue
            # A [[rules]] override may have renamed the severity; the level is
            # still one of the two a threshold has.
            level = Severity.CRITICAL if e.severity >= Severity.CRITICAL else Severity.WARNING
            self._levels[(e.resource, e.check)] = level

    def threshold(self, metric: str) -> Threshold | None:
        return self.thresholds.get(metric.split(":", 1)[0])

    def evaluate(self, resource: str, metrics: Mapping[str, float]) -> dict[str, Severity]:
        out: dict[str, Severity] = {}
        for metric, value in metrics.items():
            threshold = self.threshold(metric)
            if threshold is None:
                continue
            key = (resource, metric)
            level = level_for(threshold, value, self._levels.get(key, Severity.OK))
            self._levels[key] = level
            out[metric] = level
        return out
