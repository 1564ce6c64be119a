"""`bridge events ...`: list, show, act on and raise events from scripts; every
console action has its verb here.

Exit status: 0 done; 1 refused by the event's state (already acknowledged by
someone); 2 bad input (unknown event, empty or overlong note, bad duration or
name, bad filter or severity), in which case nothing was changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from bridge.cli.support import fail, global_options, positive_int, with_store
from bridge.config.file import load_config
from bridge.core.actions import MAX_NOTE, Action, ActionError
from bridge.core.clock import SystemClock
from bridge.core.durations import parse_duration
from bridge.core.event_json import event_json
from bridge.core.evidence_text import evidence_lines
from bridge.core.identity import operator_name
from bridge.core.models import Event, EventInput, Severity
from bridge.core.query import QueryError, parse_query
from bridge.core.text import human_duration, safe_text
from bridge.core.timefmt import show_time
from bridge.store import Store

__all__ = ["add_events_parser"]

EXIT_OK, EXIT_REFUSED = 0, 1
MAX_FIELD = 200
MAX_SUMMARY = 500


class InputError(Exception):
    """A mistake in what the user asked; one line, exit 2."""


def _iso(t: float | None) -> str:
    return show_time(t, "second", label=True)


def cmd_list(args: argparse.Namespace) -> int:
    config, _ = load_config(args.config)
    try:
        query = parse_query(args.filter or "")
    except QueryError as exc:
        return fail(f"--filter: {exc}")
    events = with_store(
        config,
        lambda s: s.list_events(
            include_resolved=args.all,
            limit=args.limit,
            query=query,
            keep_unacked_resolved=config.events.keep_unacknowledged_resolved,
        ),
    )
    if args.json:
        json.dump([event_json(e) for e in events], sys.stdout, indent=2)
        print()
        return EXIT_OK
    if not events:
        print("no events" if args.all or args.filter else "no open events")
        return EXIT_OK
    now = SystemClock().now()
    print(
        f"{'ID':>6}  {'SEVERITY':<8}  {'STATE':<12}  {'AGE':>6}  {'COUNT':>5}  RESOURCE / CHECK: SUMMARY"
    )
    for e in events:
        print(
            f"{e.id:>6}  {e.severity.label:<8}  {e.state.value:<12}  "
            f"{human_duration(now - e.first_seen):>6}  {e.count:>5}  "
            f"{safe_text(e.resource, limit=24)} / {safe_text(e.check, limit=24)}: "
            f"{safe_text(e.summary, limit=120)}"
        )
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    config, _ = load_config(args.config)

    async def work(store: Store) -> tuple[Event | None, Any, Any]:
        return (
            await store.get_event(args.id),
            await store.evidence(args.id),
            await store.journal(args.id),
        )

    event, evidence, journal = with_store(config, work)
    if event is None:
        return fail(f"no event {args.id}")
    if args.json:
        out = event_json(event)
        out["evidence"] = evidence
        out["journal"] = [
            {"at": j.at, "actor": j.actor, "action": j.action, "note": j.note} for j in journal
        ]
        json.dump(out, sys.stdout, indent=2)
        print()
        return EXIT_OK
    for key, value in event_json(event).items():
        if key.endswith(("_seen", "_at", "_until")):
            value = _iso(value)
        print(f"{key:<14} {safe_text(str(value if value is not None else '—'))}")
    print("\n".join(evidence_lines(evidence)))
    print("journal:")
    for j in journal:
        print(f"  {_iso(j.at)}  {safe_text(j.actor):<12} {j.action:<9} {safe_text(j.note)}")
    return EXIT_OK


def cmd_act(args: argparse.Namespace) -> int:
    config, _ = load_config(args.config)
    actor = operator_name(args.operator, config.operator.name)
    action = Action(args.action)
    now = SystemClock().now()
    until = None
    if action is Action.SHELVE:
        try:
            until = now + parse_duration(args.for_)
        except ValueError as exc:
            return fail(f"events shelve: --for: {exc}")
    to = getattr(args, "to", None)

    async def work(store: Store) -> int:
        missing = [i for i in args.ids if await store.get_event(i) is None]
        if missing:
            raise InputError(f"no event {', '.join(map(str, missing))}; nothing changed")
        results = await store.act(
            args.ids, action, actor, now, note=args.note or "", until=until, to=to
        )
        for r in results:
            stream = sys.stdout if r.ok else sys.stderr
            print(("" if r.ok else "bridge: ") + r.message, file=stream)
        return EXIT_OK if all(r.ok for r in results) else EXIT_REFUSED

    try:
        return with_store(config, work)
    except (InputError, ActionError) as exc:
        return fail(f"events {action.value}: {exc}")


def cmd_maintenance(args: argparse.Namespace) -> int:
    config, _ = load_config(args.config)
    actor = operator_name(args.operator, config.operator.name)
    now = SystemClock().now()
    try:
        end = now + parse_duration(args.for_)
    except ValueError as exc:
        return fail(f"events maintenance: --for: {exc}")

    async def work(store: Store) -> list[str]:
        return await store.open_window_for(args.ids, actor, args.note, now, end)

    try:
        hosts = with_store(config, work)
    except ActionError as exc:
        return fail(f"events maintenance: {exc}; nothing changed")
    for host in hosts:
        print(f"maintenance window for {safe_text(host)} until {_iso(end)}")
    return EXIT_OK


def _bounded(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InputError(f"--{name} is empty")
    if len(value) > limit:
        raise InputError(f"--{name} is {len(value)} characters; at most {limit}")
    return value


def cmd_raise(args: argparse.Namespace) -> int:
    config, _ = load_config(args.config)
    actor = operator_name(args.operator, config.operator.name)
    try:
        severity = Severity.parse(args.severity)
        event = EventInput(
            source=_bounded("source", args.source, MAX_FIELD),
            resource=_bounded("resource", args.resource, MAX_FIELD),
            check=_bounded("check", args.check, MAX_FIELD),
            severity=severity,
            summary=_bounded("summary", args.summary, MAX_SUMMARY),
            at=SystemClock().now(),
            detail=(args.detail or "")[: MAX_NOTE * 4],
        )
    except (ValueError, InputError) as exc:
        return fail(f"events raise: {exc}")

    async def work(store: Store) -> Event | None:
        await store.upsert_events([event], actor)
        return await store.find_event(event.key)

    stored = with_store(config, work)
    if stored is None:
        print("nothing to clear: no such event was raised")
    elif severity is Severity.OK:
        print(f"event {stored.id} {stored.state.value}")
    else:
        print(
            f"event {stored.id} {stored.state.value} ({stored.severity.label}, count {stored.count})"
        )
    return EXIT_OK


def add_events_parser(
    add: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser],
) -> None:
    events = add("events", cmd_list, "list, show, acknowledge and raise events (for scripts)")
    _list_options(events)
    sub = events.add_subparsers(title="actions", metavar="ACTION")

    def action(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[global_options()])
        p.set_defaults(func=func)
        return p

    # SUPPRESS: `bridge events --filter X list` keeps the X given before `list`.
    _list_options(action("list", cmd_list, "list events (the default)"), argparse.SUPPRESS)
    show = action("show", cmd_show, "one event with its evidence and journal")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="print JSON")
    for name, help in (
        ("ack", "acknowledge events"),
        ("unack", "take an acknowledgement back"),
        ("note", "add a note to events (--note required)"),
        ("shelve", "shelve events for a while (--for 30m, 2h, 1d)"),
        ("unshelve", "bring shelved events back"),
        ("own", "take ownership of events"),
        ("disown", "release the ownership of events"),
        ("assign", "give events to a named operator (--to NAME)"),
        ("escalate", "raise events' severity one step"),
        ("resolve", "resolve events by hand (--note required: why)"),
    ):
        p = action(name, cmd_act, help)
        p.set_defaults(action=name)
        p.add_argument("ids", type=int, nargs="+", metavar="ID")
        p.add_argument("--note", default="", help=f"why (at most {MAX_NOTE} characters)")
        if name == "shelve":
            p.add_argument(
                "--for", dest="for_", required=True, metavar="DURATION", help="30m, 2h, 1d, 1h30m"
            )
        elif name == "assign":
            p.add_argument("--to", required=True, metavar="NAME", help="the operator")
    window = action(
        "maintenance", cmd_maintenance, "a maintenance window for the events' hosts, from now"
    )
    window.add_argument("ids", type=int, nargs="+", metavar="ID")
    window.add_argument(
        "--for", dest="for_", required=True, metavar="DURATION", help="30m, 2h, 1d, 1h30m"
    )
    window.add_argument("--note", required=True, help="why (it mutes the hosts' events)")
    raise_ = action("raise", cmd_raise, "raise (or with --severity ok, clear) an event")
    raise_.add_argument(
        "--severity", required=True, help="critical, major, minor, warning, info or ok"
    )
    raise_.add_argument("--resource", required=True, help="what it is about (a host, a service)")
    raise_.add_argument(
        "--check", required=True, help="which check (with source and resource: the dedup key)"
    )
    raise_.add_argument("--summary", required=True, help="one line for the console")
    raise_.add_argument("--detail", default="", help="more text, shown in details")
    raise_.add_argument("--source", default="script", help="where it comes from (default: script)")


def _list_options(p: argparse.ArgumentParser, default: Any = None) -> None:
    def d(value: Any) -> Any:
        return value if default is None else default

    p.add_argument("--all", action="store_true", default=d(False), help="include resolved events")
    p.add_argument("--json", action="store_true", default=d(False), help="print JSON")
    p.add_argument("--filter", default=d(""), help="e.g. 'sev:major+ host:sw1 disk'")
    p.add_argument(
        "--limit", type=positive_int, default=d(500), help="at most this many (default 500)"
    )
