"""The filter language, and its translation to SQL so a filter reaches all of history."""

from __future__ import annotations

import pytest

from bridge.core.actions import Action
from bridge.core.durations import parse_duration
from bridge.core.models import EventInput, EventState, Severity
from bridge.core.query import EventQuery, QueryError, parse_query
from bridge.store import Store

T0 = 1_800_000_000.0
S = Severity


# -- parsing -----------------------------------------------------------------------------------
def test_fields_and_words() -> None:
    q = parse_query("sev:critical host:sw1 check:if source:snmp owner:alice state:open uplink down")
    assert q == EventQuery(
        severities=frozenset({S.CRITICAL}),
        states=frozenset({EventState.OPEN}),
        resource=("sw1",),
        check=("if",),
        source=("snmp",),
        owner=("alice",),
        words=("uplink", "down"),
    )
    assert not q.empty
    assert parse_query("").empty and parse_query("   ").empty


def test_severity_forms() -> None:
    assert parse_query("sev:major+").severities == {S.MAJOR, S.CRITICAL}
    assert parse_query("severity:WARNING+").severities == {
        S.WARNING,
        S.MINOR,
        S.MAJOR,
        S.CRITICAL,
    }
    assert parse_query("sev:minor,info").severities == {S.MINOR, S.INFO}
    assert parse_query("sev:info sev:critical").severities == {S.INFO, S.CRITICAL}
    assert S.OK not in parse_query("sev:ok+").severities  # "ok or worse" is every problem
    assert parse_query("SEV:Critical").severities == {S.CRITICAL}


def test_states_and_aliases() -> None:
    assert parse_query("state:ack,shelved").states == {EventState.ACKNOWLEDGED, EventState.SHELVED}
    assert parse_query("host:a resource:b").resource == ("a", "b")
    # A value may itself hold colons (check names do).
    assert parse_query("check:disk:/var").check == ("disk:/var",)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("bogus:x", ["bogus:x", "unknown field 'bogus'"]),
        ("sev:critical bogus:x", ["bogus:x"]),
        ("sev:fatal", ["sev:fatal", "unknown severity 'fatal'", "critical"]),
        ("sev:major,nope+", ["sev:major,nope+", "'nope'"]),
        ("state:gone", ["state:gone", "unknown state 'gone'", "acknowledged"]),
        ("host:", ["host:", "nothing after 'host:'"]),
        (":x", [":x", "unknown field ''"]),
    ],
)
def test_errors_name_the_token(text: str, names: list[str]) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    message = str(caught.value)
    for part in names:
        assert part in message, message
    assert "\n" not in message


# -- durations (what `s` and the CLI take) -------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("45", 2700),
     (" 1H 30M ", 5400), ("1.5h", 5400), ("1w", 604800)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "why"),
    [("", "not a duration"), ("soon", "not a duration"), ("30x", "not a duration"),
     ("m30", "not a duration"), ("0m", "more than zero"), ("91d", "longer than 90 days"),
     ("30m-", "not a duration")],
)  # fmt: skip
def test_bad_durations(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_duration(text)


# -- in SQL --------------------------------------------------------------------------------------
EVENTS = [
    EventInput("snmp", "core-sw1", "ifOperStatus:Gi0/1", S.CRITICAL, "uplink down", T0),
    EventInput("snmp", "edge-sw1", "ifOperStatus:Gi0/2", S.MAJOR, "link flapping", T0 + 1),
    EventInput("local", "web1", "disk:/var", S.MINOR, "/var 91% full", T0 + 2),
    EventInput("local", "web1", "cpu", S.WARNING, "cpu 87%", T0 + 3),
    EventInput("http", "shop.example", "http", S.INFO, "slow: 100% of requests", T0 + 4),
    EventInput("script", "db_1", "repl", S.MAJOR, "lag in db_1", T0 + 5),
    EventInput("script", "dbx1", "repl", S.MAJOR, "lag in dbx1", T0 + 6),
    EventInput("script", "back\\slash", "odd", S.INFO, "a\\b", T0 + 7),
]


async def listed(
    store: Store, text: str, *, include_resolved: bool = False, keep_unacked_resolved: bool = True
) -> list[str]:
    kw = {"include_resolved": include_resolved, "keep_unacked_resolved": keep_unacked_resolved}
    events = await store.list_events(query=parse_query(text), **kw)
    count = await store.count_events(query=parse_query(text), **kw)
    assert count == len(events), text
    return sorted(e.resource + "/" + e.check for e in events)


async def test_list_events_filters_in_sql(store: Store) -> None:
    await store.upsert_events(EVENTS, "tester")
    assert await listed(store, "sev:critical") == ["core-sw1/ifOperStatus:Gi0/1"]
    assert await listed(store, "sev:major+ host:sw1") == [
        "core-sw1/ifOperStatus:Gi0/1",
        "edge-sw1/ifOperStatus:Gi0/2",
    ]
    assert await listed(store, "source:local") == ["web1/cpu", "web1/disk:/var"]
    assert await listed(store, "check:disk:/") == ["web1/disk:/var"]
    assert await listed(store, "UPLINK") == ["core-sw1/ifOperStatus:Gi0/1"]  # any case
    assert await listed(store, "web1 87") == ["web1/cpu"]  # every word must match
    assert await listed(store, "sev:info,minor") == [
        "back\\slash/odd",
        "shop.example/http",
        "web1/disk:/var",
    ]
    assert await listed(store, "nothing-like-this") == []

    cpu = await store.find_event("local|web1|cpu")
    assert cpu is not None
    await store.act([cpu.id], Action.ACK, "alice", T0 + 10)
    await store.act([cpu.id], Action.OWN, "alice", T0 + 10)
    assert await listed(store, "state:ack") == ["web1/cpu"]
    assert await listed(store, "owner:ali") == ["web1/cpu"]
    assert len(await listed(store, "state:open")) == len(EVENTS) - 1


async def test_like_wildcards_are_literal(store: Store) -> None:
    await store.upsert_events(EVENTS, "tester")
    # `_` and `%` are LIKE wildcards: a filter must treat them as plain characters.
    assert await listed(store, "host:db_1") == ["db_1/repl"]  # not dbx1
    assert await listed(store, "db_") == ["db_1/repl"]
    assert await listed(store, "100%") == ["shop.example/http"]
    assert await listed(store, "%") == ["shop.example/http", "web1/cpu", "web1/disk:/var"]
    assert await listed(store, "1%") == ["web1/disk:/var"]  # "91%", not "100%"
    assert await listed(store, "host:%") == []
    assert await listed(store, "_") == ["db_1/repl"]
    assert await listed(store, "host:k\\s") == ["back\\slash/odd"]  # the escape char itself
    assert await listed(store, "a\\b") == ["back\\slash/odd"]


async def test_filter_and_history(store: Store) -> None:
    await store.upsert_events(EVENTS, "tester")
    await store.upsert_events(
        [EventInput("snmp", "core-sw1", "ifOperStatus:Gi0/1", S.OK, "up", T0 + 20)], "tester"
    )
    core = await store.find_event("snmp|core-sw1|ifOperStatus:Gi0/1")
    assert core is not None
    # Resolved but not acknowledged: still listed under its severity.
    assert await listed(store, "sev:critical") == ["core-sw1/ifOperStatus:Gi0/1"]
    assert await listed(store, "sev:critical", keep_unacked_resolved=False) == []
    await store.act([core.id], Action.ACK, "alice", T0 + 21)
    assert await listed(store, "sev:critical") == []
    assert await listed(store, "sev:critical state:resolved", include_resolved=True) == [
        "core-sw1/ifOperStatus:Gi0/1"
    ]


async def test_filter_reaches_beyond_the_limit(store: Store) -> None:
    await store.upsert_events(
        [EventInput("gen", f"host{i:04d}", "ping", S.MAJOR, "down", T0 + i) for i in range(300)]
        + [EventInput("gen", "needle", "ping", S.INFO, "down", T0 - 1)],
        "tester",
    )
    window = await store.list_events(limit=50)
    assert "needle" not in {e.resource for e in window}
    (found,) = await store.list_events(limit=50, query=parse_query("host:needle"))
    assert found.resource == "needle"
    assert await store.count_events(query=parse_query("sev:major")) == 300
