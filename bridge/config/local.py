"""Config for the local host: `[local]` (what the host collector polls) and its thresholds.

Thresholds are data, a table of metric name to levels, so the rules read them
and never hold numbers of their own."""

from __future__ import annotations

from bridge.config.records import Field, Model, PositiveSeconds


class Threshold(Model):
    """Two levels with hysteresis: raise at a level, clear only `hysteresis` below it."""

    warning: float = Field(ge=0)
    critical: float = Field(ge=0)
    hysteresis: float = Field(default=0.0, ge=0)

    def _check(self) -> None:
        if self.critical < self.warning:
            raise ValueError(f"critical ({self.critical}) must be >= warning ({self.warning})")


# Thresholds are data: metric name -> levels. Load is per core, the rest percent.
DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "cpu": Threshold(warning=85, critical=95, hysteresis=5),
    "memory": Threshold(warning=85, critical=95, hysteresis=3),
    "swap": Threshold(warning=50, critical=80, hysteresis=5),
    "disk": Threshold(warning=85, critical=95, hysteresis=2),
    "load": Threshold(warning=1.5, critical=3.0, hysteresis=0.25),
}


class Thresholds(Model):
    cpu: Threshold = DEFAULT_THRESHOLDS["cpu"]
    memory: Threshold = DEFAULT_THRESHOLDS["memory"]
    swap: Threshold = DEFAULT_THRESHOLDS["swap"]
    disk: Threshold = DEFAULT_THRESHOLDS["disk"]
    load: Threshold = DEFAULT_THRESHOLDS["load"]

    def as_table(self) -> dict[str, Threshold]:
        return {name: getattr(self, name) for name in DEFAULT_THRESHOLDS}


class LocalConfig(Model):
    enabled: bool = True
    # This host's name in a store shared by several hosts (default: $BRIDGE_HOST, then
    # the system's host name): its collector lease, its health, its job reports.
    host: str | None = Field(default=None, min_length=1, max_length=64)
    interval: PositiveSeconds = 2.0
    # process_iter is ~95 % of a sample's cost, so the process table refreshes less often.
    process_interval: PositiveSeconds = 10.0
    top_processes: int = Field(default=8, ge=0, le=100)
    thresholds: Thresholds = Thresholds()
