"""The event filter language shared by the console's `/` and `bridge events --filter`.

sev:critical          severity is critical      sev:major+   major or worse
host:sw1              resource contains "sw1"   (also resource:)
check:cpu source:snmp state:open owner:alice
anything else         words that must appear in resource, check or summary
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.core.models import EventState, Severity

__all__ = ["EventQuery", "QueryError", "matches", "parse_query"]

FIELDS = ("sev", "severity", "host", "resource", "check", "source", "state", "owner")


class QueryError(ValueError):
    """A filter that cannot be understood; the message says which part and why."""


@dataclass(frozen=True)
class EventQuery:
    """A parsed event filter (the `/` box, `bridge events list`), turned into SQL
    rather than applied to what is on the screen."""

    severities: frozenset[Severity] = frozenset()
    states: frozenset[EventState] = frozenset()
    resource: tuple[str, ...] = ()
    check: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    words: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self == EventQuery()


def _severities(value: str) -> frozenset[Severity]:
    at_least = value.endswith("+")
    out: set[Severity] = set()
    for part in value.rstrip("+").split(","):
        try:
            sev = Severity.parse(part)
        except ValueError as exc:
            raise QueryError(f"sev:{value}: {exc}") from None
        out.update(
            s for s in Severity if s >= sev and s is not Severity.OK
        ) if at_least else out.add(sev)
    return frozenset(out)


def _states(value: str) -> frozenset[EventState]:
    out = set()
    for part in value.split(","):
        part = "acknowledged" if part == "ack" else part
        try:
            out.add(EventState(part))
        except ValueError:
            allowed = ", ".join(s.value for s in EventState)
            raise QueryError(
                f"state:{value}: unknown state {part!r} (allowed: {allowed})"
            ) from None
    return frozenset(out)


def parse_query(text: str) -> EventQuery:
    severities: frozenset[Severity] = frozenset()
    states: frozenset[EventState] = frozenset()
    lists: dict[str, list[str]] = {
        "resource": [],
        "check": [],
        "source": [],
        "owner": [],
        "words": [],
    }
    for token in text.split():
        name, sep, value = token.partition(":")
        if not sep:
            lists["words"].append(token)
            continue
        name = name.lower()
        if name not in FIELDS:
            raise QueryError(f"{token}: unknown field {name!r} (use {', '.join(FIELDS)})")
        if not value:
            raise QueryError(f"{token}: nothing after '{name}:'")
        if name in ("sev", "severity"):
            severities = severities | _severities(value.lower())
        elif name == "state":
            states = states | _states(value.lower())
        else:
            lists["resource" if name == "host" else name].append(value)
    return EventQuery(
        severities=severities,
        states=states,
        resource=tuple(lists["resource"]),
        check=tuple(lists["check"]),
        source=tuple(lists["source"]),
        owner=tuple(lists["owner"]),
        words=tuple(lists["words"]),
    )


def matches(cells: tuple[str, ...], query: str) -> bool:
    """Every word of the query appears in some cell (case-insensitive): the
    plain-words filter of the panes that list what is in memory, not the store."""
    haystack = " ".join(cells).casefold()
    return all(word in haystack for word in query.casefold().split())
