"""What the wall screen shows, read from the store in one pass (no UI imports).

Each part is one small function so it can be rewired when the store grows
(the schedule's job_status table, device health from the Health pane's work):
`schedule_exceptions`, `device_tiles`, `severity_counts`, `newest_serious`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from bridge.config.file import Config
from bridge.core.models import Event, EventState, Severity, is_stale
from bridge.core.query import EventQuery
from bridge.core.store_url import parse_store_url
from bridge.rules.engine import FLAPPING
from bridge.runtime.hosts import any_collector_alive, host_name
from bridge.store import StoreError, open_store
from bridge.store.protocol import Store

__all__ = [
    "COUNTED",
    "DeviceStatus",
    "DeviceTile",
    "JobException",
    "WallData",
    "device_tiles",
    "newest_serious",
    "open_wall_store",
    "read_wall",
    "schedule_exceptions",
    "severity_counts",
]

# The severities the wall counts, worst first.
COUNTED: tuple[Severity, ...] = (
    Severity.CRITICAL,
    Severity.MAJOR,
    Severity.MINOR,
    Severity.WARNING,
    Severity.INFO,
)
_ACTIVE = frozenset({EventState.OPEN, EventState.ACKNOWLEDGED})
_SERIOUS = frozenset({Severity.CRITICAL, Severity.MAJOR})


class DeviceStatus(enum.StrEnum):
    DOWN = "down"
    FLAPPING = "flapping"
    ALARM = "alarm"  # answers, but has an open major or critical event
    UP = "up"
    STALE = "stale"  # no poll result for a while
    UNKNOWN = "unknown"  # never polled yet


@dataclass(frozen=True, slots=True)
class DeviceTile:
    name: str
    status: DeviceStatus
    note: str = ""


@dataclass(frozen=True, slots=True)
class JobException:
    job: str
    state: str
    due: float | None


@dataclass(frozen=True, slots=True)
class WallData:
    read_at: float
    counts: dict[Severity, int]
    unacked: dict[Severity, int]
    serious: list[Event]
    exceptions: list[JobException]
    devices: list[DeviceTile]
    newest_sample_at: float | None  # the local collector's newest reading
    poller_alive: bool


async def severity_counts(store: Store) -> tuple[dict[Severity, int], dict[Severity, int]]:
    """Active (open or acknowledged) events per severity, and how many of them are unacked."""
    counts: dict[Severity, int] = {}
    unacked: dict[Severity, int] = {}
    for sev in COUNTED:
        counts[sev] = await store.count_events(
            include_resolved=False, query=EventQuery(severities=frozenset({sev}), states=_ACTIVE)
        )
        unacked[sev] = await store.count_events(
            include_resolved=False,
            query=EventQuery(severities=frozenset({sev}), states=frozenset({EventState.OPEN})),
        )
    return counts, unacked


async def newest_serious(store: Store, limit: int = 30) -> list[Event]:
    """Open or acknowledged critical and major events, newest first."""
    events = await store.list_events(
        limit=500, query=EventQuery(severities=_SERIOUS, states=_ACTIVE)
    )
    events.sort(key=lambda e: e.opened_at or e.first_seen, reverse=True)
    return events[:limit]


async def schedule_exceptions(store: Store, config: Config, now: float) -> list[JobException]:
    """Jobs whose current occurrence is failed, late, overrunning, missed or blocked,
    as the lease holder's schedule engine last stored them (the console's source too)."""
    configured = {job.name for job in config.jobs}
    out = []
    for record in await store.job_statuses():
        if record.exception and record.job in configured:
            current = record.data.get("current") or {}
            due = current.get("due", record.data.get("next_due"))
            out.append(JobException(record.job, record.state, due))
    return sorted(out, key=lambda j: (j.due is None, j.due or 0.0, j.job))


async def device_tiles(store: Store, config: Config, now: float) -> list[DeviceTile]:
    """Each configured device's status from its reachability events and last poll.

    The one place the wall decides a device's status; rewire it when the Health
    pane's device view has its own.
    """
    snaps = {s.resource: s for s in await store.snapshots("snmp")}
    tiles: list[DeviceTile] = []
    # One read of the active SNMP events for every tile, not two lookups a device.
    active = await store.list_events(
        limit=100_000, query=EventQuery(states=_ACTIVE, source=("snmp",))
    )
    by_key = {(e.resource, e.check): e for e in active}
    serious = {
        e.resource
        for e in active
        if e.severity in _SERIOUS and not e.check.startswith("reachability")
    }
    # The same setting as the Health pane's device table and `bridge devices`.
    stale_after = config.network.stale_after_intervals
    for device in config.devices:
        flap = by_key.get((device.name, "reachability" + FLAPPING))
        down = by_key.get((device.name, "reachability"))
        snap = snaps.get(device.name)
        if flap is not None and flap.state in _ACTIVE:
            tiles.append(DeviceTile(device.name, DeviceStatus.FLAPPING, flap.summary))
        elif down is not None and down.state in _ACTIVE and down.severity >= Severity.MINOR:
            tiles.append(DeviceTile(device.name, DeviceStatus.DOWN, down.summary))
        elif snap is None:
            tiles.append(DeviceTile(device.name, DeviceStatus.UNKNOWN, "not polled yet"))
        elif is_stale(snap.at, now, device.interval, stale_after):
            tiles.append(DeviceTile(device.name, DeviceStatus.STALE, "no recent poll"))
        elif device.name in serious:
            tiles.append(DeviceTile(device.name, DeviceStatus.ALARM, "open major/critical event"))
        else:
            tiles.append(DeviceTile(device.name, DeviceStatus.UP))
    return tiles


async def open_wall_store(target: str | Path, *, allow_writable: bool = False) -> Store:
    """The wall's store: opened read-only, and refused (StoreError) if its credentials
    could write anyway, unless `allow_writable`. Read-only mode is a session setting a
    server's role could turn off; a role without write grants is what keeps the wall
    from ever acting."""
    store = await open_store(target, read_only=True)
    try:
        if not allow_writable and await store.can_write():
            raise StoreError(
                f"{store_shown(target)}: the wall's database role can write to the store; "
                "give it a read-only role (bridge store grant-readonly ROLE) "
                "or start it with --allow-writable"
            )
    except BaseException:
        await store.close()
        raise
    return store


async def read_wall(store: Store, config: Config, now: float) -> WallData:
    counts, unacked = await severity_counts(store)
    local = [s for s in await store.snapshots("local")]
    return WallData(
        read_at=now,
        counts=counts,
        unacked=unacked,
        serious=await newest_serious(store),
        exceptions=await schedule_exceptions(store, config, now),
        devices=await device_tiles(store, config, now),
        newest_sample_at=max((s.at for s in local), default=None),
        poller_alive=await any_collector_alive(store, now, host_name(config)),
    )


def store_shown(target: str | Path) -> str:
    """A store URL as it may be shown: never a user or password."""
    if isinstance(target, Path):
        return str(target)
    try:
        return parse_store_url(target).redacted
    except ValueError:
        return "the store"
