"""Escalation and webhook delivery through an outbox in the store.

The lease holder decides what to escalate ("critical not acknowledged within
15 minutes") and writes a notification row per event, rule and target; the
row's uniqueness is what makes delivery at most once. A sender then posts due
rows with httpx, retrying with exponential backoff. All state (pending,
sending, delivered, failed; attempts, next attempt, last error) lives in the
store, so a restart — even after kill -9 — carries on where the last one
stopped. A row a dead sender left `sending` may have reached its target, so it
is failed, not sent again. Alertmanager silences for shelved Alertmanager
events go through the same outbox (`bridge.runtime.silences` decides them).

Nothing here may hold up the bridge: requests have timeouts, at most
`MAX_CONCURRENT` run at once, and the sender is its own task.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bridge.config.file import Config
from bridge.config.service import EscalationConfig, WebhookConfig
from bridge.core.clock import Clock
from bridge.core.models import Event, EventState, Severity
from bridge.core.outbox import OutboxItem, OutboxNew
from bridge.core.query import EventQuery
from bridge.runtime.silences import SILENCE_TARGET, SilenceWriter
from bridge.store.protocol import Store

if TYPE_CHECKING:
    import httpx

__all__ = [
    "OutboxSender",
    "enqueue_escalations",
    "may_escalate",
    "payload_for",
    "retry_delay",
]

log = logging.getLogger(__name__)

ESCALATE_EVERY_S = 5.0
SEND_EVERY_S = 1.0
MAX_CONCURRENT = 4
BATCH = 16
MAX_BACKOFF_S = 3600.0
CANDIDATE_LIMIT = 10_000


def may_escalate(event: Event) -> bool:
    """THE one place that decides whether an event may be escalated at all.

    Only open events nobody has acknowledged: not acknowledged, shelved or
    resolved ones, and not those raised inside a maintenance window (stored,
    but not alerting).
    """
    return event.state is EventState.OPEN and event.acked_by is None and not event.suppressed


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions; these three are its escapes.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload_for(event: Event, rule: EscalationConfig, hook: WebhookConfig, now: float) -> str:
    since = event.opened_at if event.opened_at is not None else event.first_seen
    minutes = max(0, int((now - since) // 60))
    text = (
        f"[{event.severity.label.upper()}] {event.resource} {event.check}: {event.summary} "
        f"(unacknowledged for {minutes} min; event {event.id}, rule {rule.name})"
    )
    body: dict[str, Any]
    if hook.format == "slack":
        body = {"text": _slack_escape(text)}
    else:
        body = {
            "bridge": socket.gethostname(),
            "rule": rule.name,
            "text": text,
            "unacknowledged_s": now - since,
            "event": {
                "id": event.id,
                "severity": event.severity.label,
                "state": event.state.value,
                "source": event.source,
                "resource": event.resource,
                "check": event.check,
                "summary": event.summary,
                "first_seen": event.first_seen,
                "opened_at": since,
                "count": event.count,
            },
        }
    return json.dumps(body, separators=(",", ":"))


async def enqueue_escalations(store: Store, config: Config, now: float) -> int:
    """Queue a notification for each event a rule says is overdue; returns how many were new."""
    hooks = {h.name: h for h in config.webhooks}
    items: list[OutboxNew] = []
    for rule in config.escalations:
        floor = Severity.parse(rule.severity)
        events = await store.list_events(
            query=EventQuery(
                severities=frozenset(s for s in Severity if s >= floor),
                states=frozenset({EventState.OPEN}),
            ),
            limit=CANDIDATE_LIMIT,
            keep_unacked_resolved=False,
        )
        for event in events:
            since = event.opened_at if event.opened_at is not None else event.first_seen
            if not may_escalate(event) or since > now - rule.after_seconds:
                continue
            items.extend(
                OutboxNew(name, rule.name, event.id, payload_for(event, rule, hooks[name], now))
                for name in rule.targets
                if name in hooks
            )
    return await store.outbox_enqueue(items, now)


def retry_delay(hook: WebhookConfig, attempts: int) -> float:
    """Exponential backoff: `backoff`, twice that, four times ..., at most an hour."""
    return float(min(hook.backoff * 2 ** max(0, attempts - 1), MAX_BACKOFF_S))


class OutboxSender:
    """The lease holder's notification loop: escalate, then deliver what is due."""

    def __init__(
        self, store: Store, config: Config, clock: Clock, client: httpx.AsyncClient | None = None
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.hooks = {h.name: h for h in config.webhooks}
        self._client = client
        self.silences: SilenceWriter | None = None
        if config.alertmanager.url is not None:
            self.silences = SilenceWriter(store, config.alertmanager, clock)
        self._limit = asyncio.Semaphore(MAX_CONCURRENT)

    async def run(self) -> None:
        import httpx

        recovered = await self.store.outbox_recover(self.clock.now())
        if recovered:
            log.warning(
                "outbox: %d notification(s) were interrupted mid-send; not resent", recovered
            )
        own = self._client is None
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        # Each delivery is its own task and only free slots are claimed, so a hung
        # target holds one slot for at most its timeout and never the others.
        in_flight: set[asyncio.Task[None]] = set()
        try:
            last_escalation = -float("inf")
            while True:
                now = self.clock.now()
                if now - last_escalation >= ESCALATE_EVERY_S:
                    last_escalation = now
                    try:
                        await enqueue_escalations(self.store, self.config, now)
                    except Exception as exc:
                        log.warning("outbox: escalation check failed: %s", exc)
                if self.silences is not None:
                    try:
                        await self.silences.enqueue(now)
                    except Exception as exc:
                        log.warning("outbox: following shelves for Alertmanager failed: %s", exc)
                free = MAX_CONCURRENT - len(in_flight)
                if free > 0:
                    try:
                        items = await self.store.outbox_claim(now, free)
                    except Exception as exc:
                        log.warning("outbox: reading the outbox failed: %s", exc)
                        items = []
                    for item in items:
                        task = asyncio.create_task(self._deliver_logged(item))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                await asyncio.sleep(SEND_EVERY_S)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            if own:
                await self._client.aclose()

    async def _deliver_logged(self, item: OutboxItem) -> None:
        try:
            await self._deliver(item)
        except Exception as exc:
            log.warning("outbox: delivering notification %d failed: %s", item.id, exc)

    async def pump(self) -> list[OutboxItem]:
        """Claim what is due and try each once, concurrently; returns what was tried."""
        items = await self.store.outbox_claim(self.clock.now(), BATCH)
        if items:
            await asyncio.gather(*(self._deliver(item) for item in items))
        return items

    async def _deliver(self, item: OutboxItem) -> None:
        if item.target == SILENCE_TARGET:
            if self.silences is None:
                await self.store.outbox_settle(
                    item.id, self.clock.now(), error="not sent: no [alertmanager] url",
                    retry_at=None,
                )  # fmt: skip
                return
            assert self._client is not None, "run() or the caller provides the client"
            await self.silences.deliver(item, self._client)
            return
        hook = self.hooks.get(item.target)
        if hook is None:
            await self.store.outbox_settle(
                item.id, self.clock.now(), error=f"no webhook named {item.target!r}", retry_at=None
            )
            return
        # An ack or a resolve since this was queued (retries back off up to an
        # hour) settles it: nobody is paged for what someone already took.
        found = await self.store.events_by_id([item.event_id])
        event = found.get(item.event_id)
        if event is None or not may_escalate(event):
            state = "gone" if event is None else event.state.value
            await self.store.outbox_settle(
                item.id, self.clock.now(), error=f"not sent: the event is {state}", retry_at=None
            )
            return
        error = await self._post(hook, item)
        now = self.clock.now()
        retry_at = None
        if error is not None and item.attempts < hook.max_attempts:
            retry_at = now + retry_delay(hook, item.attempts)
        if error is not None:
            log.warning(
                "outbox: %s to %s, attempt %d: %s", item.rule, hook.name, item.attempts, error
            )
        await self.store.outbox_settle(item.id, now, error=error, retry_at=retry_at)

    async def _post(self, hook: WebhookConfig, item: OutboxItem) -> str | None:
        """None when delivered, else why not (for `last_error`)."""
        import httpx

        assert self._client is not None, "run() or the caller provides the client"
        headers = {
            "Content-Type": "application/json",
            # The same key on every retry, so a receiver can drop a repeat of a
            # request whose answer was lost (a timeout after it arrived).
            "Idempotency-Key": f"bridge-outbox-{item.id}",
            "User-Agent": "bridge-outbox",
        }
        async with self._limit:
            try:
                response = await asyncio.wait_for(
                    self._client.post(
                        hook.url, content=item.payload.encode(), headers=headers,
                        timeout=hook.timeout,
                    ),
                    hook.timeout + 1,
                )  # fmt: skip
            except (TimeoutError, httpx.TimeoutException):
                return f"timed out after {hook.timeout:g} s"
            except Exception as exc:  # any failure is this attempt's, never a stuck row
                return f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def outbox_lines(items: Sequence[OutboxItem]) -> list[str]:
    """For `bridge outbox`: one line per notification."""
    from bridge.core.text import safe_text

    out = []
    for i in items:
        out.append(
            f"{i.id:>6}  {i.status.value:<9}  {i.attempts:>3}  {safe_text(i.target, limit=20):<20}  "
            f"{safe_text(i.rule, limit=20):<20}  {i.event_id:>6}  "
            f"{safe_text(i.last_error or '', limit=60)}"
        )
    return out
