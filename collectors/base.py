"""The contract between a collector and whoever runs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Collector", "Reading"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One poll of one resource.

    `metrics` are the numbers kept as time series (sparklines, reports);
    `detail` is the full JSON-able picture shown in the health pane.
    """

    source: str
    resource: str
    at: float
    metrics: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


class Collector(Protocol):
    name: str
    interval: float
    # The (source, resource) whose reachability this collector's success or
    # failure tells, e.g. ("snmp", "core-sw1"); None where failure is not about
    # a remote thing being down (the local host).
    reachability: tuple[str, str] | None
    # Runs start on whole multiples of the interval in wall-clock time (the local
    # host, shown beside the screen's clock), rather than an interval after the
    # previous run ended (remote devices: their polls stay spread out).
    on_the_clock: bool

    async def collect(self) -> list[Reading]:
        """Poll once. Raise on failure: the runner records it and tries again later."""
        ...

    async def close(self) -> None: ...
