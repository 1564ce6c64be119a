"""The event lifecycle through the store, on a real SQLite file: dedup, resolve,
acknowledge, re-open, and every operator action journalled with its actor."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.core.actions import MAX_NOTE, Action, ActionError, ActionRefused, apply_action
from bridge.core.models import Event, EventInput, EventState, JournalEntry, Severity
from bridge.store import Store

T0 = 1_800_000_000.0
KEY = "local|web1|cpu"


def ev(
    severity: Severity,
    at: float,
    *,
    check: str = "cpu",
    value: float | None = None,
    summary: str | None = None,
) -> EventInput:
    return EventInput(
        "local", "web1", check, severity, summary or f"cpu {severity.label}", at, value=value
    )


async def raised(store: Store, severity: Severity = Severity.MAJOR, check: str = "cpu") -> Event:
    await store.upsert_events([ev(severity, T0, check=check)], "rules")
    event = await store.find_event(f"local|web1|{check}")
    assert event is not None
    return event


async def get(store: Store, event_id: int) -> Event:
    event = await store.get_event(event_id)
    assert event is not None
    return event


async def last(store: Store, event_id: int) -> JournalEntry:
    return (await store.journal(event_id))[0]


# -- dedup and resolve -------------------------------------------------------------------------
async def test_repeat_updates_count_last_seen_and_value_of_one_row(store: Store) -> None:
    await store.upsert_events([ev(Severity.WARNING, T0, value=86.0)], "rules")
    await store.upsert_events([ev(Severity.WARNING, T0 + 5, value=88.0)], "rules")
    await store.upsert_events(
        [ev(Severity.WARNING, T0 + 9, value=87.0, summary="cpu 87%")], "rules"
    )
    assert await store.count_events() == 1
    (event,) = await store.list_events()
    assert (event.count, event.first_seen, event.last_seen) == (3, T0, T0 + 9)
    assert (event.value, event.summary) == (87.0, "cpu 87%")
    assert event.state is EventState.OPEN
    # A repeat at the same severity is not journalled again.
    assert [j.action for j in await store.journal(event.id)] == ["raise"]


async def test_ok_resolves_and_resolved_unacked_stays_listed_until_acked(store: Store) -> None:
    event = await raised(store)
    await store.upsert_events([ev(Severity.OK, T0 + 30, summary="cpu back to 20%")], "rules")
    resolved = await get(store, event.id)
    assert resolved.state is EventState.RESOLVED
    assert resolved.resolved_at == T0 + 30
    assert resolved.acked_by is None and resolved.needs_ack
    assert (await last(store, event.id)).action == "resolve"
    # Nobody saw it: listed by default, hidden when the config says not to keep it.
    assert [e.id for e in await store.list_events()] == [event.id]
    assert await store.list_events(keep_unacked_resolved=False) == []

    (result,) = await store.act([event.id], Action.ACK, "alice", T0 + 40, note="seen")
    assert result.ok
    seen = await get(store, event.id)
    assert seen.state is EventState.RESOLVED  # still resolved; now seen
    assert (seen.acked_by, seen.acked_at) == ("alice", T0 + 40)
    assert not seen.needs_ack
    assert await store.list_events() == []
    assert [e.id for e in await store.list_events(include_resolved=True)] == [event.id]

    # A second ack of a resolved, acknowledged event is refused; nothing changes.
    journal = await store.journal(event.id)
    (again,) = await store.act([event.id], Action.ACK, "bob", T0 + 50)
    assert not again.ok and not again.unknown
    assert "resolved and was acknowledged by alice" in again.message
    assert await get(store, event.id) == seen
    assert await store.journal(event.id) == journal


async def test_severity_rise_after_ack_reopens_and_clears_ack(store: Store) -> None:
    event = await raised(store, Severity.WARNING)
    await store.act([event.id], Action.ACK, "alice", T0 + 1)
    await store.upsert_events([ev(Severity.WARNING, T0 + 2)], "rules")
    same = await get(store, event.id)
    assert same.state is EventState.ACKNOWLEDGED and same.acked_by == "alice"  # a repeat
    await store.upsert_events([ev(Severity.CRITICAL, T0 + 3)], "rules")
    worse = await get(store, event.id)
    assert worse.state is EventState.OPEN
    assert worse.severity is Severity.CRITICAL
    assert (worse.acked_by, worse.acked_at) == (None, None)
    assert worse.opened_at == T0 + 3
    assert worse.count == 3
    assert (await last(store, event.id)).action == "reopen"


async def test_raise_after_resolve_reopens(store: Store) -> None:
    event = await raised(store)
    await store.act([event.id], Action.ACK, "alice", T0 + 1)
    await store.upsert_events([ev(Severity.OK, T0 + 2)], "rules")
    await store.upsert_events([ev(Severity.MINOR, T0 + 3)], "rules")
    again = await get(store, event.id)
    assert again.state is EventState.OPEN and again.acked_by is None
    assert again.resolved_at is None and again.severity is Severity.MINOR
    assert await store.count_events() == 1


# -- operator actions, each journalled ----------------------------------------------------------
async def test_every_action_is_journalled_with_actor_and_note(store: Store) -> None:
    event = await raised(store, Severity.MAJOR)
    eid = event.id
    steps: list[tuple[Action, str, str, dict[str, Any]]] = [
        (Action.ACK, "alice", "on it", {}),
        (Action.UNACK, "bob", "not really", {}),
        (Action.NOTE, "carol", "cable replaced", {}),
        (Action.SHELVE, "alice", "maintenance", {"until": T0 + 3600}),
        (Action.UNSHELVE, "bob", "back", {}),
        (Action.ESCALATE, "carol", "customers affected", {}),
        (Action.OWN, "dave", "mine", {}),
    ]
    for i, (action, actor, note, extra) in enumerate(steps, start=1):
        (result,) = await store.act([eid], action, actor, T0 + i, note=note, **extra)
        assert result.ok, (action, result.message)
        entry = await last(store, eid)
        assert (entry.action, entry.actor, entry.at) == (action.value, actor, T0 + i)
        assert note in entry.note, (action, entry.note)
        state = await get(store, eid)
        if action is Action.ACK:
            assert state.state is EventState.ACKNOWLEDGED and state.acked_by == "alice"
        elif action is Action.UNACK:
            assert state.state is EventState.OPEN and state.acked_by is None
        elif action is Action.SHELVE:
            assert state.state is EventState.SHELVED and state.shelved_until == T0 + 3600
            assert entry.note.startswith("until ") and "UTC" in entry.note
        elif action is Action.UNSHELVE:
            assert state.state is EventState.OPEN and state.shelved_until is None
        elif action is Action.ESCALATE:
            assert state.severity is Severity.CRITICAL
            assert entry.note == "major -> critical: customers affected"
        elif action is Action.OWN:
            assert state.owner == "dave"
    actions = [j.action for j in reversed(await store.journal(eid))]
    assert actions == ["raise", *(a.value for a, _, _, _ in steps)]


async def test_unshelve_restores_acknowledged(store: Store) -> None:
    event = await raised(store)
    await store.act([event.id], Action.ACK, "alice", T0 + 1)
    await store.act([event.id], Action.SHELVE, "alice", T0 + 2, until=T0 + 60)
    await store.act([event.id], Action.UNSHELVE, "bob", T0 + 3)
    back = await get(store, event.id)
    assert back.state is EventState.ACKNOWLEDGED and back.acked_by == "alice"


async def test_escalate_an_acknowledged_event_reopens_it(store: Store) -> None:
    event = await raised(store, Severity.MINOR)
    await store.act([event.id], Action.ACK, "alice", T0 + 1)
    (result,) = await store.act([event.id], Action.ESCALATE, "bob", T0 + 2)
    assert result.ok
    up = await get(store, event.id)
    assert up.severity is Severity.MAJOR and up.state is EventState.OPEN
    assert up.opened_at == T0 + 2


async def test_refusals_change_nothing(store: Store) -> None:
    event = await raised(store, Severity.CRITICAL)
    await store.act([event.id], Action.OWN, "alice", T0 + 1)
    before = await get(store, event.id)
    journal = await store.journal(event.id)
    for action, message in (
        (Action.ESCALATE, "already critical"),
        (Action.UNACK, "not acknowledged"),
        (Action.UNSHELVE, "not shelved"),
        (Action.OWN, "already yours"),
    ):
        (result,) = await store.act([event.id], action, "alice", T0 + 2)
        assert not result.ok and message in result.message, (action, result.message)
    assert await get(store, event.id) == before
    assert await store.journal(event.id) == journal
    (taken,) = await store.act([event.id], Action.OWN, "bob", T0 + 3, note="swap")
    assert taken.ok
    assert (await last(store, event.id)).note == "from alice: swap"


async def test_ack_twice_names_who_acknowledged(store: Store) -> None:
    event = await raised(store)
    (first,) = await store.act([event.id], Action.ACK, "alice", T0 + 1)
    (second,) = await store.act([event.id], Action.ACK, "bob", T0 + 2)
    assert first.ok and not second.ok
    assert second.message == f"event {event.id} is already acknowledged by alice"
    assert (await get(store, event.id)).acked_at == T0 + 1


# -- bad requests: ActionError, and nothing changed --------------------------------------------
async def _unchanged(store: Store, event: Event, seq: int, journal: list[JournalEntry]) -> None:
    assert await get(store, event.id) == event
    assert await store.journal(event.id) == journal
    assert await store.last_seq() == seq  # not even a change-feed entry


@pytest.mark.parametrize("until_offset", [-60.0, 0.0])
async def test_shelve_into_the_past_is_an_error(store: Store, until_offset: float) -> None:
    event = await raised(store)
    seq, journal = await store.last_seq(), await store.journal(event.id)
    now = T0 + 100
    with pytest.raises(ActionError, match="future"):
        await store.act([event.id], Action.SHELVE, "alice", now, until=now + until_offset)
    with pytest.raises(ActionError, match="future"):
        await store.act([event.id], Action.SHELVE, "alice", now)  # no time at all
    await _unchanged(store, event, seq, journal)


@pytest.mark.parametrize(
    ("action", "note", "match"),
    [
        (Action.NOTE, "", "empty"),
        (Action.NOTE, "   \n ", "empty"),
        (Action.NOTE, "x" * (MAX_NOTE + 1), "at most 2000"),
        (Action.ACK, "x" * (MAX_NOTE + 1), "at most 2000"),
        (Action.SHELVE, "y" * 5000, "at most 2000"),
    ],
)
async def test_bad_notes_are_errors(store: Store, action: Action, note: str, match: str) -> None:
    event = await raised(store)
    seq, journal = await store.last_seq(), await store.journal(event.id)
    with pytest.raises(ActionError, match=match):
        await store.act([event.id], action, "alice", T0 + 1, note=note, until=T0 + 600)
    await _unchanged(store, event, seq, journal)


async def test_note_at_the_limit_is_kept_stripped(store: Store) -> None:
    event = await raised(store)
    note = "n" * MAX_NOTE
    (result,) = await store.act([event.id], Action.NOTE, "alice", T0 + 1, note=f"  {note}\n")
    assert result.ok
    assert (await last(store, event.id)).note == note
    # An ack's note is optional.
    (ack,) = await store.act([event.id], Action.ACK, "alice", T0 + 2, note="  ")
    assert ack.ok and (await last(store, event.id)).note == ""


async def test_act_on_unknown_id(store: Store) -> None:
    event = await raised(store)
    results = await store.act([999, event.id, 999], Action.ACK, "alice", T0 + 1)
    assert [(r.event_id, r.ok, r.unknown) for r in results] == [
        (999, False, True),
        (event.id, True, False),
    ]
    assert results[0].message == "no event 999"
    assert await store.journal(999) == []


async def test_bulk_action_is_per_event(store: Store) -> None:
    a = await raised(store, check="cpu")
    b = await raised(store, check="memory")
    await store.act([b.id], Action.ACK, "bob", T0 + 1)
    results = await store.act([a.id, b.id], Action.ACK, "alice", T0 + 2)
    assert [r.ok for r in results] == [True, False]
    assert "already acknowledged by bob" in results[1].message
    assert (await get(store, a.id)).acked_by == "alice"
    assert (await get(store, b.id)).acked_by == "bob"


# -- shelve expiry ------------------------------------------------------------------------------
async def test_unshelve_expired_with_a_fixed_now(store: Store) -> None:
    soon = await raised(store, check="cpu")
    later = await raised(store, check="memory")
    await store.act([soon.id], Action.SHELVE, "alice", T0 + 1, until=T0 + 600)
    await store.act([later.id], Action.SHELVE, "alice", T0 + 1, until=T0 + 3600)

    assert await store.unshelve_expired(T0 + 599) == 0
    assert (await get(store, soon.id)).state is EventState.SHELVED
    assert await store.unshelve_expired(T0 + 600) == 1
    back = await get(store, soon.id)
    assert back.state is EventState.OPEN and back.shelved_until is None
    entry = await last(store, soon.id)
    assert (entry.action, entry.actor, entry.at) == ("unshelve", "bridge", T0 + 600)
    assert entry.note == "shelve time ended"
    assert (await get(store, later.id)).state is EventState.SHELVED
    assert await store.unshelve_expired(T0 + 600) == 0  # already done
    assert await store.unshelve_expired(T0 + 7200, actor="timer") == 1
    assert (await last(store, later.id)).actor == "timer"


# -- the pure rules behind act() -----------------------------------------------------------------
def row(state: EventState, severity: Severity = Severity.MAJOR, **more: Any) -> dict[str, Any]:
    return {
        "state": state.value,
        "severity": int(severity),
        "acked_by": None,
        "owner": None,
        **more,
    }


def test_apply_action_table() -> None:
    now = T0
    assert apply_action(1, row(EventState.OPEN), Action.ACK, "a", now) == {
        "state": "acknowledged",
        "acked_by": "a",
        "acked_at": now,
        "shelved_until": None,
    }
    shelved_acked = row(EventState.SHELVED, acked_by="x")
    assert apply_action(1, shelved_acked, Action.UNSHELVE, "a", now)["state"] == "acknowledged"
    assert apply_action(1, row(EventState.OPEN, Severity.INFO), Action.ESCALATE, "a", now) == {
        "severity": int(Severity.WARNING),
        "operator_severity": int(Severity.WARNING),
    }
    with pytest.raises(ActionRefused, match="resolved"):
        apply_action(1, row(EventState.RESOLVED), Action.SHELVE, "a", now, until=now + 1)
    with pytest.raises(ActionRefused, match="resolved"):
        apply_action(1, row(EventState.RESOLVED), Action.ESCALATE, "a", now)
    with pytest.raises(ActionRefused, match="already acknowledged by someone"):
        apply_action(1, row(EventState.ACKNOWLEDGED), Action.ACK, "a", now)
    assert apply_action(1, row(EventState.OPEN), Action.NOTE, "a", now) == {}


async def test_reopen_after_a_shelved_event_resolved_is_not_shelved(store: Store) -> None:
    event = await raised(store)
    await store.act([event.id], Action.SHELVE, "alice", T0 + 1, until=T0 + 3600)
    await store.upsert_events([ev(Severity.OK, T0 + 2)], "rules")
    await store.upsert_events([ev(Severity.MAJOR, T0 + 3)], "rules")
    again = await get(store, event.id)
    assert again.state is EventState.OPEN
    assert again.shelved_until is None


async def test_console_window_reads_the_order_index(store: Store) -> None:
    """A large history must not be sorted in full for every reload (storm latency)."""
    import sqlite3

    from bridge.store.rows import STATE_RANK
    from bridge.store.sqlite.store import SqliteStore

    assert isinstance(store, SqliteStore)
    with sqlite3.connect(store.path) as conn:
        plan = " ".join(
            str(row[3])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM events WHERE state != 'resolved' "
                f"ORDER BY {STATE_RANK}, severity DESC, last_seen DESC LIMIT 10"
            )
        )
    assert "events_console_order" in plan and "TEMP B-TREE" not in plan


# -- release ownership, assign to a named operator, resolve by hand -------------------------------
async def test_assign_disown_and_resolve_by_hand_are_journalled(store: Store) -> None:
    event = await raised(store, Severity.MAJOR, check="trap")  # a trap: nothing clears it
    eid = event.id
    (assigned,) = await store.act([eid], Action.ASSIGN, "alice", T0 + 1, to=" bob ", note="DBA")
    assert assigned.ok
    assert (await get(store, eid)).owner == "bob"
    entry = await last(store, eid)
    assert (entry.action, entry.actor, entry.note) == ("assign", "alice", "to bob: DBA")
    (again,) = await store.act([eid], Action.ASSIGN, "carol", T0 + 2, to="bob")
    assert not again.ok and "already bob's" in again.message

    (released,) = await store.act([eid], Action.DISOWN, "bob", T0 + 3, note="handed back")
    assert released.ok and (await get(store, eid)).owner is None
    entry = await last(store, eid)
    assert (entry.action, entry.actor, entry.note) == ("disown", "bob", "from bob: handed back")
    (none,) = await store.act([eid], Action.DISOWN, "bob", T0 + 4)
    assert not none.ok and "has no owner" in none.message

    (done,) = await store.act([eid], Action.RESOLVE, "carol", T0 + 5, note="port re-seated")
    assert done.ok
    resolved = await get(store, eid)
    assert resolved.state is EventState.RESOLVED and resolved.resolved_at == T0 + 5
    # Resolved by someone who saw it: it does not wait in the list for an acknowledgement.
    assert resolved.acked_by == "carol"
    assert eid not in {e.id for e in await store.list_events()}
    entry = await last(store, eid)
    assert (entry.action, entry.actor, entry.note) == ("resolve", "carol", "port re-seated")
    (twice,) = await store.act([eid], Action.RESOLVE, "carol", T0 + 6, note="again")
    assert not twice.ok and "already resolved" in twice.message
    # The trap comes again: the event re-opens, as after any resolve.
    await store.upsert_events([ev(Severity.MAJOR, T0 + 7, check="trap")], "rules")
    assert (await get(store, eid)).state is EventState.OPEN


@pytest.mark.parametrize(
    ("action", "kwargs", "match"),
    [
        (Action.RESOLVE, {"note": "  "}, "the note is empty"),
        (Action.ASSIGN, {"to": ""}, "the name is empty"),
        (Action.ASSIGN, {}, "the name is empty"),
        (Action.ASSIGN, {"to": "x" * 65}, "at most 64"),
        (Action.ASSIGN, {"to": "bob\x1b[2J"}, "printable"),
    ],
)
async def test_resolve_and_assign_need_a_reason_and_a_name(
    store: Store, action: Action, kwargs: dict[str, Any], match: str
) -> None:
    event = await raised(store)
    journal = await store.journal(event.id)
    with pytest.raises(ActionError, match=match):
        await store.act([event.id], action, "alice", T0 + 1, **kwargs)
    assert await store.journal(event.id) == journal
    assert await get(store, event.id) == event
