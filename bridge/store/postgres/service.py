"""SQL for service levels, handover and the notification outbox, on PostgreSQL.

A mixin of `PostgresStore`, as `bridge.store.sqlite.service` is of the SQLite store.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bridge.core.models import Event, JournalEntry
from bridge.core.outbox import OutboxItem, OutboxNew, OutboxStatus
from bridge.store.rows import EVENT_COLUMNS, event_from_row, outbox_item_from_row

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.rows import TupleRow

__all__ = ["JOURNAL_COLUMNS", "PgServiceQueries"]

_OUTBOX_COLUMNS = (
    "id, target, rule, event_id, payload, status, attempts, next_attempt_at, created_at, "
    "delivered_at, last_error"
)
JOURNAL_COLUMNS = "id, event_id, at, actor, action, note"  # JournalEntry's fields, in order
MAX_ERROR = 300


class PgServiceQueries:
    def _tx(
        self, at: float, kind: str, ref: str = "", *, fenced: bool = False
    ) -> AbstractAsyncContextManager[tuple[AsyncConnection[TupleRow], int]]:
        raise NotImplementedError  # pragma: no cover - PostgresStore provides it

    async def _rows(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> list[TupleRow]:
        raise NotImplementedError  # pragma: no cover - PostgresStore provides it

    async def journal_between(
        self,
        start: float,
        end: float,
        *,
        actions: Sequence[str] | None = None,
        limit: int = 200_000,
    ) -> list[JournalEntry]:
        """Journal entries in [start, end), oldest first (the order they happened)."""
        sql = f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE at >= %s AND at < %s"
        args: list[Any] = [start, end]
        if actions:
            sql += " AND action = ANY(%s)"
            args.append(list(actions))
        rows = await self._rows(sql + " ORDER BY at, id LIMIT %s", (*args, limit))
        return [JournalEntry(*row) for row in rows]

    async def journal_after(
        self, after_id: int | None, *, actions: Sequence[str], limit: int = 1000
    ) -> tuple[list[JournalEntry], int]:
        """Entries with these actions after entry `after_id`, oldest first, and the id to
        continue after. Journal ids follow commit order here too: every write that adds
        a line holds the store's advisory lock (see PostgresStore._tx) while it does."""
        rows = await self._rows("SELECT COALESCE(MAX(id), 0) FROM journal")
        top = int(rows[0][0]) if rows else 0
        if after_id is None or not actions:
            return [], top
        found = await self._rows(
            f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE id > %s AND id <= %s "
            "AND action = ANY(%s) ORDER BY id LIMIT %s",
            (after_id, top, list(actions), limit),
        )
        entries = [JournalEntry(*row) for row in found]
        return entries, entries[-1].id if len(entries) == limit else top

    async def events_by_id(self, ids: Sequence[int]) -> dict[int, Event]:
        """Many events in one read (a report may name tens of thousands)."""
        rows = await self._rows(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ANY(%s)", (sorted(set(ids)),)
        )
        return {event.id: event for event in map(event_from_row, rows)}

    async def event_ids(self, keys: Sequence[str]) -> dict[str, int]:
        """The ids of events by dedup key, in one read (the intake answers with them)."""
        rows = await self._rows(
            "SELECT dedup_key, id FROM events WHERE dedup_key = ANY(%s)", (sorted(set(keys)),)
        )
        return {str(key): int(event_id) for key, event_id in rows}

    async def first_runs(self) -> dict[str, float]:
        rows = await self._rows(
            "SELECT name, first_run FROM collector_health WHERE first_run IS NOT NULL"
        )
        return {name: first for name, first in rows}

    async def last_journal(self, action: str) -> JournalEntry | None:
        rows = await self._rows(
            f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE action = %s "
            "ORDER BY at DESC, id DESC LIMIT 1",
            (action,),
        )
        return JournalEntry(*rows[0]) if rows else None

    # -- the outbox ----------------------------------------------------------------
    async def outbox_enqueue(self, items: Sequence[OutboxNew], now: float) -> int:
        """Add notifications; one already queued for the same event, rule and target is
        ignored. Returns how many were new."""
        if not items:
            return 0
        async with self._tx(now, "outbox") as (conn, _):
            cur = await conn.execute(
                "INSERT INTO outbox(target, rule, event_id, payload, status, next_attempt_at, "
                "created_at) SELECT t, r, e, p, 'pending', %s, %s "
                "FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[]) AS u(t, r, e, p) "
                "ON CONFLICT (target, rule, event_id) DO NOTHING",
                (now, now, [i.target for i in items], [i.rule for i in items],
                 [i.event_id for i in items], [i.payload for i in items]),
            )  # fmt: skip
            return max(cur.rowcount, 0)

    async def outbox_claim(self, now: float, limit: int) -> list[OutboxItem]:
        """Due items, marked `sending` in one transaction so no other sender takes them."""
        async with self._tx(now, "outbox", fenced=True) as (conn, _):
            cur = await conn.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' "
                "AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s",
                (now, limit),
            )
            rows = [outbox_item_from_row(r) for r in await cur.fetchall()]
            if rows:
                await conn.execute(
                    "UPDATE outbox SET status = 'sending', attempts = attempts + 1 "
                    "WHERE id = ANY(%s)",
                    ([r.id for r in rows],),
                )
        return [replace(r, status=OutboxStatus.SENDING, attempts=r.attempts + 1) for r in rows]

    async def outbox_settle(
        self, item_id: int, now: float, *, error: str | None, retry_at: float | None
    ) -> None:
        """After an attempt: delivered (no error), pending again at `retry_at`, or failed."""
        args: tuple[Any, ...]
        if error is None:
            sql, args = (
                "UPDATE outbox SET status = 'delivered', delivered_at = %s, last_error = NULL "
                "WHERE id = %s",
                (now, item_id),
            )
        elif retry_at is not None:
            sql, args = (
                "UPDATE outbox SET status = 'pending', next_attempt_at = %s, last_error = %s "
                "WHERE id = %s",
                (retry_at, error[:MAX_ERROR], item_id),
            )
        else:
            sql, args = (
                "UPDATE outbox SET status = 'failed', last_error = %s WHERE id = %s",
                (error[:MAX_ERROR], item_id),
            )
        async with self._tx(now, "outbox", fenced=True) as (conn, _):
            await conn.execute(sql, args)

    async def outbox_recover(self, now: float) -> int:
        """Items a dead sender left `sending`: failed rather than sent again (at most once)."""
        async with self._tx(now, "outbox", fenced=True) as (conn, _):
            cur = await conn.execute(
                "UPDATE outbox SET status = 'failed', last_error = "
                "'interrupted while sending; not retried, it may have been delivered' "
                "WHERE status = 'sending'"
            )
            return max(cur.rowcount, 0)

    async def outbox_items(self, limit: int = 200) -> list[OutboxItem]:
        """Newest first."""
        rows = await self._rows(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox ORDER BY created_at DESC, id DESC LIMIT %s",
            (limit,),
        )
        return [outbox_item_from_row(r) for r in rows]

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._rows("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        found = {str(r[0]): int(r[1]) for r in rows}
        return {s.value: found.get(s.value, 0) for s in OutboxStatus}
