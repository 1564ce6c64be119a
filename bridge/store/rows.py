"""Rows of the store's tables as the models: the column lists, their mappers and the
console's order, shared by every backend (both keep the same columns).

Apart from the stores themselves so that each backend's other query modules (the
service queries) read events without importing the store that imports them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from bridge.core.models import (
    Event,
    EventState,
    JobRun,
    JobRunStatus,
    ScheduleAction,
    ScheduleChange,
    Severity,
)
from bridge.core.outbox import OutboxItem, OutboxStatus

__all__ = [
    "CHANGE_COLUMNS",
    "EVENT_COLUMNS",
    "RUN_COLUMNS",
    "event_from_row",
    "outbox_item_from_row",
    "run_from_row",
    "schedule_change_from_row",
]

EVENT_COLUMNS = (
    "id, dedup_key, source, resource, check_name, severity, state, summary, detail, count, "
    "first_seen, last_seen, value, owner, acked_by, acked_at, resolved_at, shelved_until, seq, "
    "opened_at, suppressed_by"
)


RUN_COLUMNS = "id, job, run_id, started_at, ended_at, status, exit_code, message, output_tail, actor, duration"
CHANGE_COLUMNS = "id, job, occurrence, action, new_time, actor, reason, at"


def run_from_row(row: sqlite3.Row | tuple[Any, ...]) -> JobRun:
    return JobRun(
        id=row[0],
        job=row[1],
        run_id=row[2],
        started_at=row[3],
        ended_at=row[4],
        status=JobRunStatus(row[5]),
        exit_code=row[6],
        message=row[7] or "",
        output_tail=row[8] or "",
        actor=row[9],
        duration=row[10],
    )


def schedule_change_from_row(row: sqlite3.Row | tuple[Any, ...]) -> ScheduleChange:
    return ScheduleChange(
        id=row[0],
        job=row[1],
        occurrence=row[2],
        action=ScheduleAction(row[3]),
        new_time=row[4],
        actor=row[5],
        reason=row[6],
        at=row[7],
    )


def event_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Event:
    return Event(
        id=row[0],
        key=row[1],
        source=row[2],
        resource=row[3],
        check=row[4],
        severity=Severity(row[5]),
        state=EventState(row[6]),
        summary=row[7],
        detail=row[8],
        count=row[9],
        first_seen=row[10],
        last_seen=row[11],
        value=row[12],
        owner=row[13],
        acked_by=row[14],
        acked_at=row[15],
        resolved_at=row[16],
        shelved_until=row[17],
        seq=row[18],
        opened_at=row[19],
        suppressed_by=row[20],
    )


def outbox_item_from_row(row: sqlite3.Row | tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(
        id=row[0],
        target=row[1],
        rule=row[2],
        event_id=row[3],
        payload=row[4],
        status=OutboxStatus(row[5]),
        attempts=row[6],
        next_attempt_at=row[7],
        created_at=row[8],
        delivered_at=row[9],
        last_error=row[10],
    )


# The console's state order. Queries must spell it exactly so, or SQLite will not
# use the index built on it.
STATE_RANK = (
    "CASE state WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 WHEN 'shelved' THEN 2 "
    "WHEN 'suppressed' THEN 3 ELSE 4 END"
)
