"""SQL for service levels, handover and the notification outbox.

A mixin of `SqliteStore`, kept in its own module so the reports and the outbox
grow without touching the event core.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

import aiosqlite

from bridge.core.models import Event, JournalEntry
from bridge.core.outbox import OutboxItem, OutboxNew, OutboxStatus
from bridge.store.rows import EVENT_COLUMNS, event_from_row, outbox_item_from_row

__all__ = ["ServiceQueries"]

_OUTBOX_COLUMNS = (
    "id, target, rule, event_id, payload, status, attempts, next_attempt_at, created_at, "
    "delivered_at, last_error"
)
JOURNAL_COLUMNS = "id, event_id, at, actor, action, note"  # JournalEntry's fields, in order
MAX_ERROR = 300
BIG_READ = 5000  # rows; more are turned into models off the event loop


class ServiceQueries:
    _db: aiosqlite.Connection

    def _tx(self, at: float, kind: str, ref: str = "") -> AbstractAsyncContextManager[int]:
        raise NotImplementedError  # pragma: no cover - SqliteStore provides it

    def _writable(self) -> None:
        raise NotImplementedError  # pragma: no cover - SqliteStore provides it

    # -- the journal over a period ------------------------------------------------
    async def journal_between(
        self,
        start: float,
        end: float,
        *,
        actions: Sequence[str] | None = None,
        limit: int = 200_000,
    ) -> list[JournalEntry]:
        """Journal entries in [start, end), oldest first (the order they happened)."""
        sql = f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE at >= ? AND at < ?"
        args: list[Any] = [start, end]
        if actions:
            sql += f" AND action IN ({','.join('?' * len(actions))})"
            args.extend(actions)
        async with self._db.execute(sql + " ORDER BY at, id LIMIT ?", (*args, limit)) as cur:
            rows = list(await cur.fetchall())
        if len(rows) < BIG_READ:
            return [JournalEntry(*row) for row in rows]
        # A month of a busy store is 100 000s of rows: made into entries on the
        # loop, that stalls the console (keys, clock) for a noticeable time.
        return await asyncio.to_thread(lambda: [JournalEntry(*row) for row in rows])

    async def journal_after(
        self, after_id: int | None, *, actions: Sequence[str], limit: int = 1000
    ) -> tuple[list[JournalEntry], int]:
        """Entries with these actions written after entry `after_id`, in the order they
        were written, and the id to continue after: a follower (the silence writer)
        keeps its place by id, and past entries of other actions too, so a storm of
        raises is not read again on every call. `after_id` None: no entries, only
        where the journal ends now."""
        async with self._db.execute("SELECT COALESCE(MAX(id), 0) FROM journal") as cur:
            row = await cur.fetchone()
        top = int(row[0]) if row else 0
        if after_id is None or not actions:
            return [], top
        marks = ",".join("?" * len(actions))
        async with self._db.execute(
            f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE id > ? AND id <= ? "
            f"AND action IN ({marks}) ORDER BY id LIMIT ?",
            (after_id, top, *actions, limit),
        ) as cur:
            entries = [JournalEntry(*row) for row in await cur.fetchall()]
        # Read whole up to `top` unless the limit cut it short.
        return entries, entries[-1].id if len(entries) == limit else top

    async def events_by_id(self, ids: Sequence[int]) -> dict[int, Event]:
        """Many events in a few reads (a report may name tens of thousands)."""
        out: dict[int, Event] = {}
        unique = sorted(set(ids))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            async with self._db.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ) as cur:
                for row in await cur.fetchall():
                    event = event_from_row(row)
                    out[event.id] = event
        return out

    async def first_runs(self) -> dict[str, float]:
        """When each collector first ran (by collector name; 0: since before this was kept)."""
        async with self._db.execute(
            "SELECT name, first_run FROM collector_health WHERE first_run IS NOT NULL"
        ) as cur:
            return {name: first for name, first in await cur.fetchall()}

    async def last_journal(self, action: str) -> JournalEntry | None:
        async with self._db.execute(
            f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE action = ? "
            "ORDER BY at DESC, id DESC LIMIT 1",
            (action,),
        ) as cur:
            row = await cur.fetchone()
        return JournalEntry(*row) if row else None

    # -- the outbox ----------------------------------------------------------------
    async def outbox_enqueue(self, items: Sequence[OutboxNew], now: float) -> int:
        """Add notifications; one already queued for the same event, rule and target is
        ignored. Returns how many were new."""
        self._writable()
        if not items:
            return 0
        async with self._tx(now, "outbox"):
            before = self._db.total_changes
            await self._db.executemany(
                "INSERT OR IGNORE INTO outbox(target, rule, event_id, payload, status, "
                "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                [(i.target, i.rule, i.event_id, i.payload, now, now) for i in items],
            )
            # total_changes also counts the change-feed row written by _tx.
            return self._db.total_changes - before

    async def outbox_claim(self, now: float, limit: int) -> list[OutboxItem]:
        """Due items, marked `sending` in one transaction so no other sender takes them."""
        async with self._tx(now, "outbox"):
            async with self._db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' "
                "AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
                (now, limit),
            ) as cur:
                rows = [outbox_item_from_row(r) for r in await cur.fetchall()]
            if rows:
                await self._db.executemany(
                    "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                    [(r.id,) for r in rows],
                )
        return [replace(r, status=OutboxStatus.SENDING, attempts=r.attempts + 1) for r in rows]

    async def outbox_settle(
        self, item_id: int, now: float, *, error: str | None, retry_at: float | None
    ) -> None:
        """After an attempt: delivered (no error), pending again at `retry_at`, or failed."""
        args: tuple[Any, ...]
        if error is None:
            sql, args = (
                "UPDATE outbox SET status = 'delivered', delivered_at = ?, last_error = NULL "
                "WHERE id = ?",
                (now, item_id),
            )
        elif retry_at is not None:
            sql, args = (
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ? "
                "WHERE id = ?",
                (retry_at, error[:MAX_ERROR], item_id),
            )
        else:
            sql, args = (
                "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?",
                (error[:MAX_ERROR], item_id),
            )
        async with self._tx(now, "outbox"):
            await self._db.execute(sql, args)

    async def outbox_recover(self, now: float) -> int:
        """Items a dead sender left `sending`: the request may have reached the target,
        so they are failed rather than sent again (at most once)."""
        async with self._tx(now, "outbox"):
            cur = await self._db.execute(
                "UPDATE outbox SET status = 'failed', last_error = "
                "'interrupted while sending; not retried, it may have been delivered' "
                "WHERE status = 'sending'"
            )
            return cur.rowcount

    async def outbox_items(self, limit: int = 200) -> list[OutboxItem]:
        """Newest first."""
        async with self._db.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox ORDER BY created_at DESC, id DESC LIMIT ?",
            (limit,),
        ) as cur:
            return [outbox_item_from_row(r) for r in await cur.fetchall()]

    async def outbox_counts(self) -> dict[str, int]:
        async with self._db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status") as cur:
            found = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
        return {s.value: found.get(s.value, 0) for s in OutboxStatus}
