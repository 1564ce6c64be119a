"""The narrow interface every part of bridge uses to reach its data.

SQLite is the first backend; a second (one server for many hosts and bridges)
must be possible without touching the UI or the collectors, so nothing outside
`bridge.store` sees SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bridge.models import Change, CollectorHealth, Event, EventInput, LeaseInfo, Snapshot
from collectors.base import Reading

__all__ = ["Store", "StoreError"]


class StoreError(Exception):
    """The store cannot be opened or used; the message is for the operator."""


class Store(Protocol):
    async def close(self) -> None: ...

    # -- change feed ---------------------------------------------------------
    async def data_version(self) -> int:
        """A number that changes whenever another connection commits: cheap to poll."""
        ...

    async def last_seq(self) -> int: ...

    async def changes_since(self, seq: int, limit: int = 1000) -> list[Change]: ...

    # -- readings ------------------------------------------------------------
    async def write_reading(self, reading: Reading, levels: dict[str, str]) -> None: ...

    async def snapshots(self, source: str | None = None) -> list[Snapshot]: ...

    async def series(
        self, source: str, resource: str, metric: str, since: float
    ) -> list[tuple[float, float]]: ...

    async def prune(self, now: float, sample_retention_s: float = 86400.0) -> int: ...

    # -- collector self-health -----------------------------------------------
    async def record_health(self, health: CollectorHealth) -> None: ...

    async def collector_health(self) -> list[CollectorHealth]: ...

    # -- events ----------------------------------------------------------------
    async def upsert_events(self, events: Sequence[EventInput], actor: str) -> None: ...

    async def list_events(
        self, *, include_resolved: bool = False, limit: int = 500
    ) -> list[Event]: ...

    async def count_events(self) -> int: ...

    # -- the collector lease ---------------------------------------------------
    async def try_lease(self, name: str, holder: str, ttl: float, now: float) -> bool:
        """Take or renew `name` for `holder`; False while someone else holds it."""
        ...

    async def release_lease(self, name: str, holder: str) -> None: ...

    async def lease(self, name: str) -> LeaseInfo | None: ...
