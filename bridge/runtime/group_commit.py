"""Group commits: the events of many concurrent requests in one store transaction.

A transaction costs about the same for one event as for a hundred (SQLite's commit
and the change record dominate), so the intake's throughput is bounded by how many
transactions it makes, not by how many events. Requests that arrive while a commit
runs wait in a queue and go together in the next one; a request alone is committed
at once, with no timer to wait out, so a quiet intake answers as fast as before.

Each request is answered only once its batch has committed; a batch that fails fails
every request in it (one transaction: nothing of any of them is stored), and the
next batch is tried afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["BatchFailed", "GroupCommit"]

T = TypeVar("T")
R = TypeVar("R")

# A batch stops taking requests past this many items: one transaction stays short
# enough that the requests behind it are not held long, and memory stays bounded.
MAX_ITEMS = 5000


class BatchFailed(Exception):
    """The transaction a request's items went into failed: none of them is stored."""


class GroupCommit(Generic[T, R]):
    """Queues items from many callers and hands them to `commit` in batches.

    `commit` receives every item of the requests queued since the previous call
    began, in arrival order, and must apply them in one transaction; what it
    returns is handed to every request of the batch (the intake: the events' ids).
    """

    def __init__(
        self, commit: Callable[[list[T]], Awaitable[R]], *, max_items: int = MAX_ITEMS
    ) -> None:
        self._commit = commit
        self.max_items = max_items
        self._queue: list[tuple[Sequence[T], asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None
        self.commits = 0  # transactions made (committed or failed)
        self.requests = 0  # requests taken into them
        self.failed = 0  # transactions that failed

    @property
    def waiting(self) -> int:
        """Requests queued for the next commit (the one running excluded)."""
        return len(self._queue)

    async def submit(self, items: Sequence[T]) -> R:
        """Returns once `items` are committed; raises BatchFailed if their batch failed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        # Its failure is read here even when the caller has gone, so that asyncio
        # never reports it as an exception nobody retrieved.
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queue.append((items, done))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain(), name="intake:group-commit")
        # Shielded: a caller that goes away (a client hanging up) leaves its batch be.
        return await asyncio.shield(done)

    async def close(self) -> None:
        """Stop the worker; requests still queued fail."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._fail(self._take_all(), BatchFailed("the intake is stopping"))

    def _take(self) -> list[tuple[Sequence[T], asyncio.Future[R]]]:
        taken, count = 0, 0
        for items, _ in self._queue:
            if taken and count + len(items) > self.max_items:
                break
            taken += 1
            count += len(items)
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch

    def _take_all(self) -> list[tuple[Sequence[T], asyncio.Future[R]]]:
        batch, self._queue = self._queue, []
        return batch

    @staticmethod
    def _fail(batch: list[tuple[Sequence[T], asyncio.Future[R]]], exc: Exception) -> None:
        for _, done in batch:
            if not done.done():
                done.set_exception(exc)

    async def _drain(self) -> None:
        batch: list[tuple[Sequence[T], asyncio.Future[R]]] = []
        try:
            while self._queue:
                batch = self._take()
                self.commits += 1
                self.requests += len(batch)
                try:
                    result = await self._commit([item for items, _ in batch for item in items])
                except Exception as exc:
                    self.failed += 1
                    failure = BatchFailed(str(exc))
                    failure.__cause__ = exc
                    self._fail(batch, failure)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(result)
                batch = []
        finally:
            self._worker = None
            if batch:  # cancelled mid-commit
                self._fail(batch, BatchFailed("the intake is stopping"))
