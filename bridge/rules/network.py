"""What an SNMP device reading means as events: link down, error rates, agent restarts.

The poller reports what it saw; this turns each reading into observations for
the rule engine, OK ones included, so a recovery resolves its event. An
interface's resource is "<device>/<ifName>" and its link check is `oper-status`:
a trap-raised link-down uses the same key, so the poll that sees the interface
up again resolves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.config.local import Threshold
from bridge.config.network import NetworkConfig
from bridge.core.models import Severity
from bridge.core.text import safe_text
from bridge.rules.engine import Observation
from bridge.rules.thresholds import LevelTracker

__all__ = [
    "ERROR_RATE",
    "OPER_STATUS",
    "RESTART",
    "NetworkRules",
    "interface_resource",
    "is_link_down",
]

OPER_STATUS = "oper-status"
ERROR_RATE = "errors"
RESTART = "restart"
SOURCE = "snmp"

# ifOperStatus values that mean "the link is not carrying traffic" (RFC 2863).
_DOWN = frozenset({"down", "lowerLayerDown", "notPresent"})


def interface_resource(device: str, if_name: str) -> str:
    return f"{device}/{if_name}"


def is_link_down(admin: str | None, oper: str | None) -> bool:
    """Down while an operator wants it up; an admin-down port is not a fault."""
    return admin == "up" and oper in _DOWN


class NetworkRules:
    """Per lease holder: remembers error-rate levels for hysteresis across polls."""

    def __init__(self, config: NetworkConfig) -> None:
        self.config = config
        rate = config.error_rate
        self._levels = LevelTracker(
            {
                ERROR_RATE: Threshold(
                    warning=rate.warning, critical=rate.critical, hysteresis=rate.hysteresis
                )
            }
        )

    def observations(self, device: str, at: float, detail: Mapping[str, Any]) -> list[Observation]:
        out: list[Observation] = []
        restarted = bool(detail.get("restarted"))
        uptime = detail.get("sysUpTime")
        out.append(
            Observation(
                SOURCE,
                device,
                RESTART,
                Severity.parse(self.config.restart) if restarted else Severity.OK,
                (
                    f"{device}: agent restarted (up {uptime:.0f} s)"
                    if restarted and isinstance(uptime, int | float)
                    else f"{device}: agent restarted"
                    if restarted
                    else f"{device}: agent running"
                ),
                at,
            )
        )
        link_down = Severity.parse(self.config.link_down)
        rates: dict[str, float] = {}
        names: dict[str, dict[str, Any]] = {}
        for row in detail.get("interfaces") or []:
            name = str(row.get("name") or row.get("index"))
            resource = interface_resource(device, name)
            admin, oper = row.get("admin"), row.get("oper")
            down = is_link_down(admin, oper)
            alias = safe_text(str(row.get("alias") or ""), limit=60)
            label = f"{device} {safe_text(name, limit=40)}" + (f" ({alias})" if alias else "")
            out.append(
                Observation(
                    SOURCE,
                    resource,
                    OPER_STATUS,
                    link_down if down else Severity.OK,
                    f"{label} is {oper}, admin {admin}" if down else f"{label} is {oper}",
                    at,
                )
            )
            errors = [row.get("in_errors"), row.get("out_errors")]
            known = [e for e in errors if isinstance(e, int | float)]
            if known:
                key = f"{ERROR_RATE}:{resource}"
                rates[key] = float(sum(known))
                names[key] = {"resource": resource, "label": label}
        threshold = self._levels.thresholds[ERROR_RATE]
        for key, level in self._levels.evaluate(device, rates).items():
            value = rates[key]
            label = names[key]["label"]
            summary = (
                f"{label}: {value:.1f} errors/s "
                f"(warning {threshold.warning:g}, critical {threshold.critical:g})"
                if level is not Severity.OK
                else f"{label}: {value:.1f} errors/s, back under {threshold.warning:g}"
            )
            out.append(
                Observation(
                    SOURCE, names[key]["resource"], ERROR_RATE, level, summary, at, value=value
                )
            )
        return out
