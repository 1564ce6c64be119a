"""The outbox's records: what is queued for delivery (escalations, webhooks) and its state.

Shared by the store, which keeps them, and the runtime's delivery, which sends them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["OutboxItem", "OutboxNew", "OutboxStatus"]


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxNew:
    """A notification to enqueue; (target, rule, event_id) is unique, so at most once."""

    target: str
    rule: str
    event_id: int
    payload: str


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notification queued in the store, so it survives a restart and goes out
    at most once per event, rule and target."""

    id: int
    target: str
    rule: str
    event_id: int
    payload: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: float
    created_at: float
    delivered_at: float | None
    last_error: str | None
