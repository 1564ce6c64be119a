"""Alertmanager silences written back when an operator shelves an Alertmanager event.

A shelve in bridge means "I know; stop telling me until then". For an event that
came from Alertmanager's webhook, the same decision belongs in Alertmanager, or
it keeps paging everyone else it routes the alert to. So the lease holder
follows the journal: a shelve of such an event queues a silence in the store's
outbox (`POST /api/v2/silences`: the alert's labels as equality matchers, the
operator as `createdBy`, the note as `comment`, ending with the shelve); whatever
ends the shelve early (unshelve, ack, resolve) queues its expiry
(`DELETE /api/v2/silence/{id}`). The silence id, and a failure to write it, are
lines in the event's journal: that is where an operator looks.

Following the journal, rather than hooking the store's `act`, is what makes a
shelve from any process count (a console without the lease, `bridge events
shelve`): they all write the journal, and only the lease holder talks to
Alertmanager. Nothing here is on the operator's key: the shelve is committed
before Alertmanager hears of it, and a dead Alertmanager costs retries, not time.

Each outbox row only says "look at this event": what is sent is decided when it
is sent, from the event as it is then (a silence for a shelve that has ended is
not created; an expiry for an event shelved again is not sent), so rows that
wait out an Alertmanager outage in any order still leave the right silences.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from bridge.config.service import AlertmanagerConfig
from bridge.core.clock import Clock
from bridge.core.models import Event, EventInput, EventState, JournalEntry, Severity
from bridge.core.outbox import OutboxItem, OutboxNew
from bridge.core.text import human_utc
from bridge.store.protocol import Store

if TYPE_CHECKING:
    import httpx

__all__ = [
    "SILENCED",
    "SILENCE_ERROR",
    "SILENCE_TARGET",
    "UNSILENCED",
    "SilenceWriter",
    "matchers_for",
]

log = logging.getLogger(__name__)

# The outbox target of silences: not a name a [[webhooks]] entry is likely to take.
SILENCE_TARGET = "[alertmanager]"
SOURCE = "alertmanager"  # the source of the intake's Alertmanager events
ACTOR = "bridge"
# The journal's words for what the writer did (the details show them as actions).
SILENCED = "silenced"
UNSILENCED = "unsilenced"
SILENCE_ERROR = "silence-error"
WATCHED = ("shelve", "unshelve", "ack", "resolve")
ENDS = frozenset({"unshelve", "ack", "resolve"})  # each ends a shelve, if there is one
LOOKBACK_S = 86_400.0  # at start: shelves this recent are caught up with
BATCH = 1000
MAX_BACKOFF_S = 300.0
MAX_ERROR = 300
_SILENCE_LINE = re.compile(r"Alertmanager silence (\S+)")


def matchers_for(evidence: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The alert's labels as Alertmanager matchers (equal, not regex), or None when
    the event carries no label set to match (an event sent with source
    `alertmanager` through the events API, say)."""
    labels = (evidence or {}).get("labels")
    if not isinstance(labels, dict) or not labels:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in labels.items()):
        return None
    return [
        {"name": name, "value": value, "isRegex": False, "isEqual": True}
        for name, value in sorted(labels.items())
    ]


def _iso(t: float) -> str:
    """RFC 3339 in UTC, as Alertmanager's API takes a time."""
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _comment(entry: JournalEntry, until: float, event_id: int) -> str:
    # The store journals a shelve as "until <time>[: <note>]"; the note is what the
    # operator wrote, and Alertmanager wants a comment either way.
    prefix = f"until {human_utc(until)}"
    note = entry.note
    if note.startswith(prefix):
        note = note[len(prefix) :].removeprefix(":").strip()
    return note or f"shelved in bridge (event {event_id})"


class SilenceWriter:
    """Queues silences for shelves of Alertmanager events and delivers them.

    Run by the lease holder's outbox sender: `enqueue` on each of its turns,
    `deliver` for each claimed row whose target is SILENCE_TARGET.
    """

    def __init__(self, store: Store, settings: AlertmanagerConfig, clock: Clock) -> None:
        assert settings.url is not None, "only built when [alertmanager] url is set"
        self.store = store
        self.settings = settings
        self.clock = clock
        self.base = settings.url.rstrip("/")
        self.cursor: int | None = None
        # One request at a time per event, so its create and its expiry never race;
        # different events go out side by side, as the sender's slots allow.
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    # -- following the journal ---------------------------------------------------------
    async def enqueue(self, now: float) -> int:
        """Queue what the journal's new shelves and their ends ask of Alertmanager;
        returns how many rows were new."""
        if self.cursor is None:
            # A first turn catches up with a day (the lease holder may have been away);
            # rows already queued are not queued again (the outbox's uniqueness).
            _, top = await self.store.journal_after(None, actions=WATCHED)
            recent = await self.store.journal_between(
                now - LOOKBACK_S, now + LOOKBACK_S, actions=WATCHED
            )
            entries = sorted((j for j in recent if j.id <= top), key=lambda j: j.id)
        else:
            entries, top = await self.store.journal_after(self.cursor, actions=WATCHED, limit=BATCH)
        items = await self._plan(entries) if entries else []
        new = await self.store.outbox_enqueue(items, now)
        self.cursor = top
        return new

    async def _plan(self, entries: list[JournalEntry]) -> list[OutboxNew]:
        by_event: dict[int, list[JournalEntry]] = {}
        for entry in entries:
            if entry.event_id is not None:
                by_event.setdefault(entry.event_id, []).append(entry)
        events = await self.store.events_by_id(list(by_event))
        items: list[OutboxNew] = []
        for event_id, mine in by_event.items():
            event = events.get(event_id)
            if event is None or event.source != SOURCE:
                continue
            ends = [j for j in mine if j.action in ENDS]
            if ends and await self._action_before(event_id, mine[0].id) == "shelve":
                # A shelve from before these entries may have its silence: the first
                # end expires it (a later shelve here updates it instead, see _create).
                items.append(OutboxNew(SILENCE_TARGET, f"expire:{ends[0].id}", event_id,
                                       json.dumps({"op": "expire"})))  # fmt: skip
            last = mine[-1]
            if last.action == "shelve" and event.state is EventState.SHELVED:
                item = await self._create_item(event, last)
                if item is not None:
                    items.append(item)
        return items

    async def _action_before(self, event_id: int, before_id: int) -> str | None:
        """The event's last shelve or end before entry `before_id`."""
        for entry in await self.store.journal(event_id, limit=500):
            if entry.id < before_id and entry.action in WATCHED:
                return entry.action
        return None

    async def _create_item(self, event: Event, entry: JournalEntry) -> OutboxNew | None:
        until = event.shelved_until
        assert until is not None, "a shelved event has its end"
        matchers = matchers_for(await self.store.evidence(event.id))
        if matchers is None:
            await self._journal(event.id, SILENCE_ERROR,
                                "no Alertmanager silence: the event has no alert labels to match")  # fmt: skip
            return None
        payload = {
            "op": "create",
            "until": until,
            "createdBy": entry.actor,
            "comment": _comment(entry, until, event.id),
            "matchers": matchers,
        }
        return OutboxNew(SILENCE_TARGET, f"silence:{entry.id}", event.id, json.dumps(payload))

    # -- delivering --------------------------------------------------------------------
    async def deliver(self, item: OutboxItem, client: httpx.AsyncClient) -> None:
        """Try one row once and settle it: delivered, retried later, or failed."""
        lock, users = self._locks.get(item.event_id, (asyncio.Lock(), 0))
        self._locks[item.event_id] = (lock, users + 1)
        try:
            async with lock:
                payload = json.loads(item.payload)
                event = (await self.store.events_by_id([item.event_id])).get(item.event_id)
                if payload.get("op") == "create":
                    await self._create(item, payload, event, client)
                else:
                    await self._expire(item, event, client)
        finally:
            lock, users = self._locks[item.event_id]
            if users > 1:
                self._locks[item.event_id] = (lock, users - 1)
            else:
                del self._locks[item.event_id]

    async def _create(
        self,
        item: OutboxItem,
        payload: dict[str, Any],
        event: Event | None,
        client: httpx.AsyncClient,
    ) -> None:
        until = float(payload["until"])
        if not _in_shelve(event, until):
            await self._settle(item, "not sent: the shelve it was for has ended")
            return
        active = await self.active_silence(item.event_id)
        body: dict[str, Any] = {
            "matchers": payload["matchers"],
            "startsAt": _iso(self.clock.now()),
            "endsAt": _iso(until),
            "createdBy": payload["createdBy"],
            "comment": payload["comment"],
        }
        if active is not None:
            body["id"] = active  # a shelve extended: Alertmanager updates (or replaces) it
        status, answer, error = await self._send(client, "POST", "/api/v2/silences", body)
        if status == 404 and active is not None:  # that silence is gone: a new one
            del body["id"]
            status, answer, error = await self._send(client, "POST", "/api/v2/silences", body)
        silence = answer.get("silenceID") if isinstance(answer, dict) else None
        if error is None and not isinstance(silence, str):
            error = "Alertmanager's answer has no silenceID"
        if error is not None or not isinstance(silence, str):
            await self._failed(item, "silence not created", error or "no silence id")
            return
        tries = f" (after {item.attempts} attempts)" if item.attempts > 1 else ""
        await self._journal(item.event_id, SILENCED,
                            f"Alertmanager silence {silence} until {human_utc(until)}{tries}")  # fmt: skip
        await self._settle(item, None)
        # Unshelved while the request was out: its expiry found nothing to expire yet.
        now_event = (await self.store.events_by_id([item.event_id])).get(item.event_id)
        if not _in_shelve(now_event, until):
            await self._delete(client, item.event_id, silence)

    async def _expire(
        self, item: OutboxItem, event: Event | None, client: httpx.AsyncClient
    ) -> None:
        if event is not None and event.state is EventState.SHELVED:
            await self._settle(item, "not sent: shelved again (the new shelve updates the silence)")
            return
        line = await self._silenced_line(item.event_id)
        silence = _silence_of(line)
        if line is None or silence is None:
            await self._settle(item, "not sent: no silence was created for it")
            return
        error = await self._delete(client, item.event_id, silence)
        if error is None:
            try:  # before settling: a settled row is the whole of its work done
                await self._resolved_meanwhile(client, event, line.at)
            except Exception as exc:
                log.warning("alertmanager: event %d: asking for its alert failed: %s",
                            item.event_id, exc)  # fmt: skip
            await self._settle(item, None)
        else:
            await self._failed(item, f"silence {silence} not expired", error)

    async def _delete(self, client: httpx.AsyncClient, event_id: int, silence: str) -> str | None:
        """Expire `silence`; None when it is expired (or was already)."""
        status, answer, error = await self._send(client, "DELETE", f"/api/v2/silence/{silence}")
        # Gone, or ended on its own at the shelve's end (Alertmanager: "already expired").
        gone = status == 404 or (status == 500 and "already expired" in str(answer))
        if error is not None and not gone:
            return error
        await self._journal(event_id, UNSILENCED, f"Alertmanager silence {silence} expired")
        return None

    async def _resolved_meanwhile(
        self, client: httpx.AsyncClient, event: Event | None, since: float
    ) -> None:
        """Clear the event if its alert resolved while silenced (silenced at `since`).

        Alertmanager mutes a silenced alert's resolution as it mutes its firing,
        and does not send it once the silence is gone: without asking, the event
        would stay open for an alert that ended. Only an Alertmanager up since the
        silence began can tell: one restarted meanwhile has forgotten its alerts
        until Prometheus sends them again, and absent would not mean ended. Asking
        fails quietly (the event stays as it is, as it would have without a
        silence)."""
        if event is None or event.state is EventState.RESOLVED:
            return
        _, status, error = await self._send(client, "GET", "/api/v2/status")
        started = _parse_time(status.get("uptime")) if isinstance(status, dict) else None
        if error is not None or started is None or started > since:
            log.info("alertmanager: event %d: not asked for its alert (restarted since "
                     "it was silenced, or no answer: %s)", event.id, error)  # fmt: skip
            return
        labels = (await self.store.evidence(event.id) or {}).get("labels")
        if matchers_for({"labels": labels}) is None or not isinstance(labels, dict):
            return
        name = json.dumps(str(labels.get("alertname", "")))
        _, answer, error = await self._send(
            client, "GET", "/api/v2/alerts", params={"filter": f"alertname={name}"}
        )
        if error is not None or not isinstance(answer, list):
            log.info("alertmanager: event %d: could not ask for its alert: %s", event.id, error)
            return
        # Resolved alerts are not listed: absent is ended.
        if any(isinstance(a, dict) and a.get("labels") == labels for a in answer):
            return
        now = self.clock.now()
        cleared = EventInput(event.source, event.resource, event.check, Severity.OK,
                             "resolved in Alertmanager while silenced", now)  # fmt: skip
        await self.store.upsert_events([cleared], ACTOR)

    async def active_silence(self, event_id: int) -> str | None:
        """The silence bridge created for this event and has not expired, from its journal."""
        return _silence_of(await self._silenced_line(event_id))

    async def _silenced_line(self, event_id: int) -> JournalEntry | None:
        """The journal line of the event's silence that has not been expired."""
        for entry in await self.store.journal(event_id, limit=500):
            if entry.action == UNSILENCED:
                return None
            if entry.action == SILENCED:
                return entry
        return None

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int | None, Any, str | None]:
        """(status, parsed answer, None) or, for anything but a 2xx, the error too."""
        import httpx

        headers = {"User-Agent": "bridge-silences"}
        if self.settings.token is not None:
            headers["Authorization"] = f"Bearer {self.settings.token.get_secret_value()}"
        timeout = self.settings.timeout
        try:
            response = await asyncio.wait_for(
                client.request(method, self.base + path, json=body, params=params,
                               headers=headers, timeout=timeout),
                timeout + 1,
            )  # fmt: skip
        except (TimeoutError, httpx.TimeoutException):
            return None, None, f"timed out after {timeout:g} s"
        except Exception as exc:  # any failure is this attempt's, never a stuck row
            return None, None, (f"{type(exc).__name__}: {exc}"[:MAX_ERROR] or type(exc).__name__)
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text[:200]
        if 200 <= response.status_code < 300:
            return response.status_code, answer, None
        said = answer if isinstance(answer, str) else json.dumps(answer)
        error = f"HTTP {response.status_code} {response.reason_phrase}: {said}".strip()
        return response.status_code, answer, error[:MAX_ERROR]

    async def _failed(self, item: OutboxItem, what: str, error: str) -> None:
        now = self.clock.now()
        retry_at = None
        if item.attempts < self.settings.max_attempts:
            delay = min(self.settings.backoff * 2 ** max(0, item.attempts - 1), MAX_BACKOFF_S)
            retry_at = now + delay
        log.warning("alertmanager: event %d, %s, attempt %d: %s",
                    item.event_id, what, item.attempts, error)  # fmt: skip
        # The first failure and the last word go on the event; the attempts between
        # are counted in the outbox (`bridge outbox`), not a journal line each.
        if item.attempts == 1 or retry_at is None:
            then = (
                f"retrying in {retry_at - now:g} s" if retry_at is not None
                else f"gave up after {item.attempts} attempts"
            )  # fmt: skip
            await self._journal(
                item.event_id, SILENCE_ERROR, f"Alertmanager {what}: {error}; {then}"
            )
        await self.store.outbox_settle(item.id, now, error=error, retry_at=retry_at)

    async def _settle(self, item: OutboxItem, error: str | None) -> None:
        await self.store.outbox_settle(item.id, self.clock.now(), error=error, retry_at=None)

    async def _journal(self, event_id: int, action: str, note: str) -> None:
        await self.store.record(ACTOR, action, note, self.clock.now(), event_id=event_id)


def _silence_of(line: JournalEntry | None) -> str | None:
    found = _SILENCE_LINE.match(line.note) if line is not None else None
    return found.group(1) if found else None


def _parse_time(value: Any) -> float | None:
    """An RFC 3339 time from Alertmanager (Go gives nanoseconds: cut to micro)."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _in_shelve(event: Event | None, until: float) -> bool:
    """The event is still in the shelve that ends at `until`."""
    return (
        event is not None
        and event.state is EventState.SHELVED
        and event.shelved_until is not None
        and abs(event.shelved_until - until) < 1e-3
    )
