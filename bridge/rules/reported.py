"""Observations a collector judged itself (an HTTP check's down, slow, cert expiring).

A collector cannot import the rules, so it lists them in its reading's detail
under "observations" as plain data; this turns them into `Observation`s that go
through the same rules (for, flapping, dedup) as threshold crossings.
"""

from __future__ import annotations

from bridge.core.models import Severity
from bridge.rules.engine import Observation
from collectors.base import Reading

__all__ = ["reported_observations"]


def reported_observations(reading: Reading) -> list[Observation]:
    out: list[Observation] = []
    for item in reading.detail.get("observations") or []:
        try:
            severity = Severity.parse(str(item["severity"]))
            value = item.get("value")
            out.append(
                Observation(
                    reading.source,
                    reading.resource,
                    str(item["check"]),
                    severity,
                    str(item["summary"])[:500],
                    reading.at,
                    value=float(value) if isinstance(value, int | float) else None,
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # a malformed entry is dropped, never fatal to the collector
    return out
