"""The event lifecycle every backend shares (bridge/rules/lifecycle.py), without a database."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.core.actions import Action
from bridge.core.models import EventInput, EventState, JobSignalError, ScheduleAction, Severity
from bridge.core.text import human_utc
from bridge.rules.lifecycle import (
    MUTABLE,
    WindowMatcher,
    action_note,
    check_schedule_change,
    covers,
    fold_events,
    moot_resolve_note,
    moot_resolved,
    new_event_row,
    operator_window,
    operator_window_notes,
    schedule_change_note,
    schedule_keys,
    transition,
    window_journal,
)

T0 = 1_700_000_000.0
NO_WINDOWS = WindowMatcher([])


def obs(severity: Severity, at: float = T0, resource: str = "h1", **kw: Any) -> EventInput:
    return EventInput("local", resource, "cpu", severity, f"cpu {severity.label}", at, **kw)


def stored(e: EventInput, **columns: Any) -> dict[str, Any]:
    """A stored event's MUTABLE columns, as a backend reads them."""
    row = {c: new_event_row(e, None)[c] for c in MUTABLE}
    row.update(columns)
    return row


def test_first_raise_creates_and_journals() -> None:
    e = obs(Severity.MAJOR, evidence={"top": ["x"]})
    folded = fold_events([e], {}, NO_WINDOWS, "rules")
    assert folded.created == {e.key}
    [row] = folded.inserts
    assert row["state"] == "open" and row["severity"] == int(Severity.MAJOR) and row["count"] == 1
    assert row["evidence"] == '{"top": ["x"]}'
    assert folded.journal == [(e.key, T0, "rules", "raise", "cpu major")]
    assert folded.updates == {}


def test_clear_of_something_never_raised_is_nothing() -> None:
    folded = fold_events([obs(Severity.OK)], {}, NO_WINDOWS, "rules")
    assert folded.rows == {} and folded.journal == []


def test_a_burst_of_one_key_folds_into_one_row() -> None:
    events = [obs(Severity.WARNING, T0 + i) for i in range(1000)]
    folded = fold_events(events, {}, NO_WINDOWS, "rules")
    [row] = folded.rows.values()
    assert row["count"] == 1000 and row["last_seen"] == T0 + 999
    assert [j[3] for j in folded.journal] == ["raise"]  # repeats are not journalled


def test_severity_change_is_journalled() -> None:
    e = obs(Severity.WARNING)
    row = stored(e)
    assert transition(row, obs(Severity.CRITICAL, T0 + 1)) == ("severity", "warning -> critical")
    assert row["severity"] == int(Severity.CRITICAL) and row["count"] == 2
    assert transition(row, obs(Severity.CRITICAL, T0 + 2)) is None


def test_resolve_then_reopen() -> None:
    row = stored(obs(Severity.MAJOR), operator_severity=int(Severity.CRITICAL))
    assert transition(row, obs(Severity.OK, T0 + 5)) == ("resolve", "cpu ok")
    assert row["state"] == "resolved" and row["resolved_at"] == T0 + 5
    assert row["operator_severity"] is None  # an operator's grade ends with the event
    assert transition(row, obs(Severity.OK, T0 + 6)) is None  # a second clear: nothing
    assert transition(row, obs(Severity.WARNING, T0 + 9)) == ("reopen", "cpu warning")
    assert row["state"] == "open" and row["resolved_at"] is None and row["opened_at"] == T0 + 9
    assert row["severity"] == int(Severity.WARNING)


def test_operator_severity_is_a_floor_until_resolved() -> None:
    row = stored(
        obs(Severity.WARNING), severity=int(Severity.MAJOR), operator_severity=int(Severity.MAJOR)
    )
    assert transition(row, obs(Severity.WARNING, T0 + 1)) is None
    assert row["severity"] == int(Severity.MAJOR)  # the rules cannot lower it
    assert transition(row, obs(Severity.CRITICAL, T0 + 2)) == ("severity", "major -> critical")


def test_rise_after_ack_reopens_but_keeps_owner_and_floor() -> None:
    row = stored(
        obs(Severity.WARNING),
        state=EventState.ACKNOWLEDGED.value,
        acked_by="alice",
        acked_at=T0,
        operator_severity=int(Severity.WARNING),
    )
    assert transition(row, obs(Severity.WARNING, T0 + 1)) is None
    assert row["state"] == "acknowledged"  # the same severity again: still alice's ack
    assert transition(row, obs(Severity.MAJOR, T0 + 2)) == ("reopen", "cpu major")
    assert (row["state"], row["acked_by"], row["opened_at"]) == ("open", None, T0 + 2)
    assert row["operator_severity"] == int(Severity.WARNING)


def test_a_raise_never_unshelves() -> None:
    row = stored(obs(Severity.WARNING), state=EventState.SHELVED.value, shelved_until=T0 + 99)
    transition(row, obs(Severity.MAJOR, T0 + 1))
    assert (row["state"], row["shelved_until"]) == ("shelved", T0 + 99)


def test_reopen_takes_new_evidence_a_regrade_does_not() -> None:
    e = obs(Severity.WARNING)
    resolved = stored(e, state="resolved", resolved_at=T0)
    folded = fold_events(
        [obs(Severity.MAJOR, T0 + 1, evidence={"n": 1})], {e.key: resolved}, NO_WINDOWS, "r"
    )
    assert folded.evidence == {e.key: '{"n": 1}'}
    folded = fold_events(
        [obs(Severity.CRITICAL, T0 + 2, evidence={"n": 2})], {e.key: stored(e)}, NO_WINDOWS, "r"
    )
    assert folded.evidence == {}


def test_maintenance_suppresses_raises_not_clears() -> None:
    windows = WindowMatcher([("job:backup", ["db-*"]), ("other", ["*"])])
    assert windows("db-1") == "job:backup" and windows("web") == "other"
    folded = fold_events([obs(Severity.MAJOR, resource="db-1")], {}, windows, "r")
    [row] = folded.inserts
    assert row["suppressed_by"] == "job:backup"
    e = obs(Severity.MAJOR, resource="db-1")
    muted = stored(e, suppressed_by="job:backup")
    fold_events([obs(Severity.OK, T0 + 1, resource="db-1")], {e.key: muted}, NO_WINDOWS, "r")
    assert muted["suppressed_by"] == "job:backup"  # a resolved event keeps the mark
    fold_events([obs(Severity.MAJOR, T0 + 2, resource="db-1")], {e.key: muted}, NO_WINDOWS, "r")
    assert muted["suppressed_by"] is None  # raised again with no window open: it alerts


def test_host_globs_are_case_sensitive_and_operator_windows_literal() -> None:
    assert covers(["db-*"], "db-1") and not covers(["db-*"], "DB-1")
    name, globs = operator_window("web[1]")
    assert name == "operator:web[1]"
    assert covers(globs, "web[1]") and not covers(globs, "web1")
    note, own = operator_window_notes(name, "web[1]", T0, "disk swap")
    assert note == f"web[1] until {human_utc(T0)}: disk swap"
    assert own == f"operator:web[1] until {human_utc(T0)}: disk swap"


def test_window_journal_names_each_window_once() -> None:
    assert window_journal({"b", "a"}, {"c"}) == [
        ("maintenance opened", "a"),
        ("maintenance opened", "b"),
        ("maintenance closed", "c"),
    ]


@pytest.mark.parametrize(
    ("action", "row", "updates", "kw", "expected"),
    [
        (Action.ACK, {}, {}, {}, "seen"),
        (Action.SHELVE, {}, {}, {"until": T0}, f"until {human_utc(T0)}: seen"),
        (
            Action.ESCALATE,
            {"severity": int(Severity.MINOR)},
            {"severity": int(Severity.MAJOR)},
            {},
            "minor -> major: seen",
        ),
        (Action.DISOWN, {"owner": "bob"}, {}, {}, "from bob: seen"),
        (Action.OWN, {"owner": "bob"}, {}, {}, "from bob: seen"),
        (Action.OWN, {"owner": None}, {}, {}, "seen"),
        (Action.ASSIGN, {"owner": None}, {}, {"to": "carol"}, "to carol: seen"),
    ],
)
def test_action_notes(
    action: Action, row: dict[str, Any], updates: dict[str, Any], kw: Any, expected: str
) -> None:
    assert action_note(action, row, updates, "seen", **kw) == expected


def test_action_note_without_an_operator_note() -> None:
    assert action_note(Action.ASSIGN, {"owner": None}, {}, "", to="carol") == "to carol"


def test_schedule_change_checks_and_notes() -> None:
    assert check_schedule_change(ScheduleAction.HOLD, "  disk full ", None, T0) == "disk full"
    for action, reason, new_time, message in [
        (ScheduleAction.HOLD, " ", None, "a reason is required"),
        (ScheduleAction.HOLD, "x" * 2001, None, "at most 2000"),
        (ScheduleAction.RESCHEDULE, "r", None, "needs a new time"),
        (ScheduleAction.RESCHEDULE, "r", T0 - 1, "in the past"),
        (ScheduleAction.DONE, "r", T0 + 60, "takes no new time"),
    ]:
        with pytest.raises(JobSignalError, match=message):
            check_schedule_change(action, reason, new_time, T0)
    assert schedule_change_note("backup", T0, None, "why") == (
        f"job backup occurrence {human_utc(T0)}: why"
    )
    assert schedule_change_note("backup", T0, T0 + 60, "why") == (
        f"job backup occurrence {human_utc(T0)} -> {human_utc(T0 + 60)}: why"
    )
    assert schedule_keys("backup", ["late"]) == ["schedule|backup|late"]
    assert moot_resolve_note(ScheduleAction.DONE, "ran by hand") == "marked done: ran by hand"
    assert moot_resolved(T0)["state"] == "resolved"
