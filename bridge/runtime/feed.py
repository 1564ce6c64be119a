"""The change feed: how a process learns of any process's commits without re-reading tables."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bridge.core.models import Change
from bridge.store.protocol import ChangeFeedStore

__all__ = ["ChangeFeed"]

log = logging.getLogger(__name__)

CHANGES_PAGE = 1000


class ChangeFeed:
    """Asks the store for the changes after the last sequence number it saw, every
    `interval` and when poked; the store makes an idle check cheap (SQLite: one
    `PRAGMA data_version`), so this knows no backend."""

    def __init__(
        self,
        store: ChangeFeedStore,
        on_changes: Callable[[list[Change]], None],
        interval: float = 0.25,
    ) -> None:
        self.store = store
        self.interval = interval
        self.seq = 0
        self._on_changes = on_changes
        self._lock = asyncio.Lock()  # poll() may be poked while the loop is polling
        self._pokes: set[asyncio.Task[list[Change]]] = set()
        self._stopped = False
        self._started = False

    async def start(self) -> None:
        """Deliver only what is committed from now on."""
        self.seq = await self.store.last_seq()
        self._started = True

    async def poll(self) -> list[Change]:
        """Check once; deliver and return whatever changed since the last check."""
        async with self._lock:
            return await self._poll()

    def poke(self) -> None:
        """Poll now rather than at the next interval: this process just wrote."""
        if self._stopped:  # the store may be closing: a last write's poke is moot
            return
        task = asyncio.get_running_loop().create_task(self.poll())
        self._pokes.add(task)
        task.add_done_callback(self._pokes.discard)

    async def _poll(self) -> list[Change]:
        delivered: list[Change] = []
        while True:
            batch = await self.store.wait_for_changes(self.seq, 0, limit=CHANGES_PAGE)
            if batch:
                self.seq = batch[-1].seq
                delivered.extend(batch)
            if len(batch) < CHANGES_PAGE:  # the last page: no query to find it empty
                break
        if delivered:
            self._on_changes(delivered)
        return delivered

    async def run(self) -> None:
        # Started already (the console reads its panes in between): starting again
        # would skip whatever was committed since, such as the poller's first sample.
        if not self._started:
            await self.start()
        try:
            while True:
                await asyncio.sleep(self.interval)
                try:
                    await self.poll()
                except Exception as exc:
                    log.warning("change feed poll failed: %s", exc)
        finally:
            self._stopped = True
            for task in list(self._pokes):
                task.cancel()
