"""Rules: observations in, events out.

A condition must hold for `for` seconds before it raises; a recovery resolves
its event; a check that changes state too often in a window becomes one
"flapping" event instead of a stream of raises and clears.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.config.file import Config, RuleConfig
from bridge.config.local import Threshold
from bridge.core.models import Event, EventInput, EventState, Severity

__all__ = ["FLAPPING", "Observation", "RuleEngine", "threshold_observations"]

FLAPPING = ":flapping"  # the suffix of the one event that stands for a flapping check


@dataclass(frozen=True, slots=True)
class Observation:
    """What a source saw: one check on one resource at one moment, with its severity."""

    source: str
    resource: str
    check: str
    severity: Severity
    summary: str
    at: float
    value: float | None = None
    detail: str = ""
    evidence: dict[str, Any] | None = None
    # False for a check whose every change is news (a job's occurrences: each late
    # one is its own trouble), so that no flapping event stands in for it.
    flaps: bool = True
    # False for a check whose event must follow every change even while a flapping
    # event stands (reachability: the device table shows each poll's answer, and the
    # event and availability must agree with it).
    held_while_flapping: bool = True

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.resource, self.check)


@dataclass
class _State:
    """What the rules remember of one dedup key between observations: the level
    last seen, the level last raised, and recent changes (for flapping)."""

    level: Severity = Severity.OK  # what the source last said
    raised: Severity = Severity.OK  # what we last told the store
    pending_since: float | None = None
    changes: deque[float] = field(default_factory=deque)
    flapping: bool = False


class RuleEngine:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._states: dict[tuple[str, str, str], _State] = {}

    def restore(self, events: Iterable[Event]) -> None:
        """Take up where the previous lease holder stopped.

        Rule state lives in memory; without this, an event raised before a poller
        restart would never resolve on recovery, and a flapping event never clear.
        """
        for e in events:
            if e.state is EventState.RESOLVED:
                continue
            if e.check.endswith(FLAPPING):
                base = (e.source, e.resource, e.check.removesuffix(FLAPPING))
                self._states.setdefault(base, _State()).flapping = True
                continue
            st = self._states.setdefault((e.source, e.resource, e.check), _State())
            st.raised = st.level = e.severity
            st.pending_since = e.first_seen

    def _rule(self, obs: Observation) -> RuleConfig:
        return self.config.rule_for(obs.source, obs.resource, obs.check)

    def process(self, observations: Iterable[Observation]) -> list[EventInput]:
        out: list[EventInput] = []
        for obs in observations:
            out.extend(self._one(obs))
        return out

    def _one(self, obs: Observation) -> list[EventInput]:
        rule = self._rule(obs)
        st = self._states.setdefault(obs.key, _State())
        out: list[EventInput] = []
        if obs.severity != st.level:
            st.level = obs.severity
            if obs.flaps:
                st.changes.append(obs.at)
        while st.changes and st.changes[0] < obs.at - rule.flap_window:
            st.changes.popleft()
        flap_check = obs.check + FLAPPING
        if not st.flapping and len(st.changes) >= rule.flap_changes:
            st.flapping = True
            out.append(
                EventInput(
                    obs.source, obs.resource, flap_check, Severity.WARNING,
                    f"{obs.check} is flapping: {len(st.changes)} state changes in "
                    f"{rule.flap_window:g} s",
                    obs.at,
                )
            )  # fmt: skip
        elif st.flapping and len(st.changes) <= rule.flap_changes // 2:
            st.flapping = False
            out.append(
                EventInput(
                    obs.source,
                    obs.resource,
                    flap_check,
                    Severity.OK,
                    f"{obs.check} is steady again",
                    obs.at,
                )
            )
        # Track how long the condition has held even while flapping, so `for` counts
        # from its last return to a problem, not from before the flap.
        if obs.severity is Severity.OK:
            st.pending_since = None
        elif st.pending_since is None:
            st.pending_since = obs.at
        if st.flapping and obs.held_while_flapping:
            return out  # the flapping event stands for the check until it settles
        if obs.severity is Severity.OK:
            if st.raised is not Severity.OK:
                st.raised = Severity.OK
                out.append(self._event(obs, Severity.OK))
            return out
        if st.pending_since is not None and obs.at - st.pending_since >= rule.for_:
            severity = Severity.parse(rule.severity) if rule.severity else obs.severity
            st.raised = severity
            out.append(self._event(obs, severity))
        return out

    @staticmethod
    def _event(obs: Observation, severity: Severity) -> EventInput:
        return EventInput(
            source=obs.source,
            resource=obs.resource,
            check=obs.check,
            severity=severity,
            summary=obs.summary,
            at=obs.at,
            detail=obs.detail,
            value=obs.value,
            evidence=obs.evidence,
        )


_UNITS = {"load": " per core"}


def threshold_observations(
    source: str,
    resource: str,
    at: float,
    metrics: Mapping[str, float],
    levels: Mapping[str, Severity],
    thresholds: Mapping[str, Threshold],
    evidence: dict[str, Any] | None = None,
) -> list[Observation]:
    """One observation per thresholded metric, OK ones included so recoveries resolve."""
    out = []
    for metric, level in levels.items():
        value = metrics[metric]
        kind = metric.split(":", 1)[0]
        t = thresholds[kind]
        unit = _UNITS.get(kind, "%")
        what = metric.replace(":", " ", 1)
        summary = (
            f"{what} {value:.1f}{unit} (warning {t.warning:g}, critical {t.critical:g})"
            if level is not Severity.OK
            else f"{what} {value:.1f}{unit}, back under {t.warning:g}"
        )
        out.append(
            Observation(
                source, resource, metric, level, summary, at, value=value, evidence=evidence
            )
        )
    return out
