"""Events and journal entries as JSON objects: one shape for every script.

`bridge events --json` and `bridge handover --json` both write events; a
script that reads one must be able to read the other, so both use these.
"""

from __future__ import annotations

from typing import Any

from bridge.core.models import Event, JournalEntry

__all__ = ["event_json", "journal_json"]


def event_json(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "source": e.source,
        "resource": e.resource,
        "check": e.check,
        "severity": e.severity.label,
        "state": e.state.value,
        "summary": e.summary,
        "detail": e.detail,
        "count": e.count,
        "first_seen": e.first_seen,
        "last_seen": e.last_seen,
        "value": e.value,
        "owner": e.owner,
        "acked_by": e.acked_by,
        "acked_at": e.acked_at,
        "resolved_at": e.resolved_at,
        "shelved_until": e.shelved_until,
        "suppressed_by": e.suppressed_by,  # a maintenance window's name: stored, not alerting
    }


def journal_json(j: JournalEntry) -> dict[str, Any]:
    return {
        "at": j.at,
        "actor": j.actor,
        "action": j.action,
        "event_id": j.event_id,
        "note": j.note,
    }
