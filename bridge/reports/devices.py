"""Each configured SNMP device as consoles and scripts see it: status, health, totals.

Built from the store only (the latest snapshot, the poller's self-health and the
trap receiver's counters), so any process can show it without polling; the
config says which devices exist.
Nothing here carries a credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from bridge.config.file import Config
from bridge.config.network import DeviceConfig
from bridge.core.models import CollectorHealth, Snapshot, is_stale
from bridge.store.protocol import Store

__all__ = [
    "NEVER_POLLED",
    "UNREACHABLE",
    "UP",
    "DeviceStatus",
    "device_statuses",
    "load_device_statuses",
]

UP = "up"
UNREACHABLE = "unreachable"
NEVER_POLLED = "never polled"


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    name: str
    address: str
    status: str  # up, unreachable, never polled
    stale: bool  # no successful poll for several intervals: the figures are old
    last_success: float | None
    last_poll: float | None
    sys_name: str
    sys_descr: str
    sys_uptime: float | None  # seconds
    cpu: float | None  # percent, the mean of hrProcessorLoad
    if_up: int | None
    if_down: int | None  # admin up but not oper up
    in_bps: float | None
    out_bps: float | None
    errors: float | None  # per second, in + out, all interfaces
    latency_ms: float | None
    timeouts: int
    consecutive_failures: int
    backoff: float
    last_error: str | None
    tags: tuple[str, ...] = ()
    # Datagrams from its address on the trap port that did not decode, or were refused
    # (an unknown community, not a notification): a misconfigured or hostile sender.
    traps_malformed: int = 0
    traps_refused: int = 0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["tags"] = list(self.tags)
        return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _status(device: DeviceConfig, snap: Snapshot | None, health: CollectorHealth | None,
            now: float, stale_after: float) -> DeviceStatus:  # fmt: skip
    data = snap.data if snap is not None else {}
    interfaces = data.get("interfaces") or []
    rates = [r for r in interfaces if r.get("in_bps") is not None or r.get("out_bps") is not None]

    def total(key: str) -> float | None:
        values = [r[key] for r in interfaces if isinstance(r.get(key), int | float)]
        return float(sum(values)) if values else None

    errors: float | None = None
    if rates:
        errors = sum(
            float(r.get(k) or 0.0) for r in interfaces for k in ("in_errors", "out_errors")
        )
    if health is None or health.last_run is None:
        status = UP if snap is not None else NEVER_POLLED
    elif health.consecutive_failures > 0:
        status = UNREACHABLE
    else:
        status = UP
    last_success = health.last_success if health is not None else (snap.at if snap else None)
    if health is not None:
        stale = health.stale(now, stale_after)  # at the interval the collector ran with
    else:
        stale = is_stale(last_success, now, device.interval, stale_after)
    cpu = data.get("cpu") or {}
    return DeviceStatus(
        name=device.name,
        address=f"{device.address}:{device.port}",
        status=status,
        stale=stale,
        last_success=last_success,
        last_poll=health.last_run if health is not None else None,
        sys_name=str(data.get("sysName") or ""),
        sys_descr=str(data.get("sysDescr") or ""),
        sys_uptime=_number(data.get("sysUpTime")),
        cpu=_number(cpu.get("load")),
        if_up=sum(1 for r in interfaces if r.get("oper") == "up") if snap else None,
        if_down=(
            sum(1 for r in interfaces if r.get("admin") == "up" and r.get("oper") != "up")
            if snap
            else None
        ),
        in_bps=total("in_bps"),
        out_bps=total("out_bps"),
        errors=errors,
        latency_ms=health.latency_ms if health is not None else None,
        timeouts=health.timeouts if health is not None else 0,
        consecutive_failures=health.consecutive_failures if health is not None else 0,
        backoff=health.backoff if health is not None else 1.0,
        last_error=health.last_error if health is not None else None,
        tags=tuple(device.tags),
    )


def _trap_counts(traps: Snapshot | None, address: str) -> tuple[int, int] | None:
    """(malformed, refused) datagrams from `address` on the trap port."""
    senders = traps.data.get("senders") if traps is not None else None
    counts = senders.get(address) if isinstance(senders, dict) else None
    if not isinstance(counts, dict):
        return None
    return int(counts.get("malformed") or 0), int(counts.get("rejected") or 0)


def device_statuses(
    config: Config,
    snapshots: Sequence[Snapshot],
    health: Sequence[CollectorHealth],
    now: float,
    traps: Snapshot | None = None,
) -> list[DeviceStatus]:
    """One status per configured device, in config order; `traps` is the receiver's
    counters snapshot (bridge.runtime.trap_service), matched to devices by address."""
    snaps = {s.resource: s for s in snapshots if s.source == "snmp"}
    by_name = {h.name: h for h in health}
    stale_after = config.network.stale_after_intervals
    out = []
    for d in config.devices:
        status = _status(d, snaps.get(d.name), by_name.get(f"snmp:{d.name}"), now, stale_after)
        counts = _trap_counts(traps, d.address)
        if counts is not None:
            status = replace(status, traps_malformed=counts[0], traps_refused=counts[1])
        out.append(status)
    return out


async def load_device_statuses(store: Store, config: Config, now: float) -> list[DeviceStatus]:
    traps = await store.snapshot("traps", "receiver") if config.traps.enabled else None
    return device_statuses(
        config, await store.snapshots("snmp"), await store.collector_health(), now, traps
    )
