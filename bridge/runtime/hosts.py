"""Hosts of one estate: each host's name, its collector's lease, and which is stale.

Every host runs its own `bridge collect`, holding the lease `collector:<host>`;
the estate-wide duties (the schedule engine, delivery, traps, the intake, the
devices no host was given) have one lease each, taken by whichever collector
gets there first. A collector announces itself with a `collector` snapshot
(resource = its host) so a reader can list the hosts from the store alone,
whatever the backend: heartbeats themselves are not in the change feed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bridge.config.file import Config
from bridge.core.models import LeaseInfo, Snapshot
from bridge.runtime.lease import LEASE_NAME
from bridge.store.protocol import Store

__all__ = [
    "COLLECTOR_SOURCE",
    "ESTATE_LEASES",
    "HostStatus",
    "any_collector_alive",
    "collector_lease",
    "holder_host",
    "host_name",
    "list_hosts",
    "named_explicitly",
]

# The snapshot source a collector announces itself under (resource = its host).
COLLECTOR_SOURCE = "collector"
# Estate-wide duties, each under a lease of its own name, run once for the estate.
ESTATE_LEASES = ("housekeeping", "schedule", "outbox", "traps", "intake", "snmp", "http")
MAX_HOST_NAME = 64


def host_name(config: Config | None = None, given: str | None = None) -> str:
    """This process's host: `--host`, else $BRIDGE_HOST, else `[local] host`, else the
    system's host name. Tests and containers name their host with the first three."""
    for candidate in (given, os.environ.get("BRIDGE_HOST"), config and config.local.host):
        if candidate and candidate.strip():
            return candidate.strip()
    return socket.gethostname()


def named_explicitly(config: Config | None = None, given: str | None = None) -> bool:
    """Whether this host's name was given (so there may be several hosts to tell apart)."""
    return bool(given or os.environ.get("BRIDGE_HOST") or (config and config.local.host))


def collector_lease(host: str) -> str:
    """The lease a host's collector holds: one poller per host, one per host only."""
    return f"{LEASE_NAME}:{host}"


def holder_host(holder: str) -> str:
    """The host part of a lease holder id (`HOST:PID:NONCE`)."""
    return holder.rsplit(":", 2)[0]


@dataclass(frozen=True, slots=True)
class HostStatus:
    """One host as a reader sees it: its collector's lease and its newest reading."""

    host: str
    lease: LeaseInfo | None
    last_reading: float | None  # the local collector's newest sample, if it has one
    alive: bool  # its collector's lease is held and unexpired
    stale: bool  # no live collector, or its samples are older than the stale threshold
    stale_since: float | None  # since when (the last heartbeat or sample), when stale
    duties: tuple[str, ...] = field(default=())  # estate leases it holds now

    @property
    def state(self) -> str:
        """`up`, `stale` (a live collector whose samples stopped) or `down` (no live
        lease: killed, stopped, or a store it cannot reach)."""
        if not self.alive:
            return "down"
        return "stale" if self.stale else "up"


async def list_hosts(
    store: Store,
    now: float,
    stale_after: float,
    *,
    duties: bool = True,
    local: Sequence[Snapshot] | None = None,
) -> list[HostStatus]:
    """Every host that has announced a collector or stored a local sample, by name.

    `stale_after` (seconds) is how old a live host's newest sample may be; without
    `duties` the estate leases are not read (a console's frequent look needs not);
    `local` is the local snapshots where the caller has just read them.
    """
    announced: Mapping[str, Snapshot] = {
        s.resource: s for s in await store.snapshots(COLLECTOR_SOURCE)
    }
    samples = {
        s.resource: s for s in (local if local is not None else await store.snapshots("local"))
    }
    estate: dict[str, list[str]] = {}
    for name in ESTATE_LEASES if duties else ():
        held = await store.lease(name)
        if held is not None and held.expires_at > now:
            estate.setdefault(holder_host(held.holder), []).append(name)
    hosts: list[HostStatus] = []
    for host in sorted(set(announced) | set(samples)):
        lease = await store.lease(collector_lease(host))
        alive = lease is not None and lease.expires_at > now
        sample = samples.get(host)
        last = sample.at if sample is not None else None
        late = last is not None and now - last > stale_after
        since: float | None = None
        if not alive:
            marks = [t for t in (lease.heartbeat_at if lease else None, last) if t is not None]
            seen = announced.get(host)
            if seen is not None:
                marks.append(seen.at)
            since = max(marks) if marks else None
        elif late:
            since = last
        hosts.append(
            HostStatus(
                host=host,
                lease=lease,
                last_reading=last,
                alive=alive,
                stale=not alive or late,
                stale_since=since,
                duties=tuple(estate.get(host, ())) if alive else (),
            )
        )
    return hosts


async def any_collector_alive(store: Store, now: float, host: str | None = None) -> bool:
    """Whether `host`'s collector, or any announced host's, holds a live lease: the
    wall's "someone polls", wherever it is."""
    hosts = [host or host_name()] + [s.resource for s in await store.snapshots(COLLECTOR_SOURCE)]
    for name in dict.fromkeys(hosts):
        lease = await store.lease(collector_lease(name))
        if lease is not None and lease.expires_at > now:
            return True
    return False
