"""`bridge report`, `bridge handover` and `bridge outbox`: service levels for people and scripts.

Exit status: 0 done; 2 bad input (an empty or reversed period), nothing changed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable

from bridge.cli.support import fail, positive_int, with_store
from bridge.config.file import load_config
from bridge.core.clock import SystemClock
from bridge.core.durations import parse_duration
from bridge.core.outbox import OutboxItem
from bridge.store import Store

# bridge.reports.levels and bridge.reports.handover are imported by the commands that use
# them: every `bridge COMMAND` start imports this module for its parsers.

__all__ = ["add_report_parsers"]

EXIT_OK = 0


def _width() -> int | None:
    """The terminal's width (or COLUMNS'), for text to wrap to; a pipe or a file gets
    every row whole, as long as it is: a script must not get a cut line either."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return max(20, shutil.get_terminal_size().columns)
    return None


def _formats(p: argparse.ArgumentParser) -> None:
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON")
    fmt.add_argument("--markdown", action="store_true", help="Markdown, for a ticket or a wiki")


def cmd_report(args: argparse.Namespace) -> int:
    from bridge.reports.levels import (
        PeriodError,
        build_report,
        parse_period,
        render_markdown,
        render_text,
        report_heading,
        report_json,
        report_tables,
    )

    config, _ = load_config(args.config)
    now = SystemClock().now()
    try:
        period = parse_period(args.since, args.start, args.end, now)
    except PeriodError as exc:
        return fail(str(exc))
    report = with_store(config, lambda s: build_report(s, config, period, now))
    if args.json:
        json.dump(report_json(report), sys.stdout, indent=2)
        print()
    elif args.markdown:
        sys.stdout.write(render_markdown(report_heading(report), report_tables(report)))
    else:
        sys.stdout.write(render_text(report_heading(report), report_tables(report), _width()))
    return EXIT_OK


def cmd_handover(args: argparse.Namespace) -> int:
    from bridge.reports.handover import build_handover, handover_json, render_handover

    config, _ = load_config(args.config)
    now = SystemClock().now()
    since: float | None = None
    if args.since is not None:
        try:
            since = now - parse_duration(args.since)
        except ValueError as exc:
            return fail(f"--since: {exc}")
    handover = with_store(config, lambda s: build_handover(s, config, now, since=since))
    if args.json:
        json.dump(handover_json(handover), sys.stdout, indent=2)
        print()
    else:
        sys.stdout.write(render_handover(handover, markdown=args.markdown, width=_width()))
    return EXIT_OK


def cmd_outbox(args: argparse.Namespace) -> int:
    config, _ = load_config(args.config)
    from bridge.runtime.delivery import outbox_lines

    async def work(store: Store) -> tuple[dict[str, int], list[OutboxItem]]:
        return await store.outbox_counts(), await store.outbox_items(args.limit)

    counts, items = with_store(config, work)
    if args.json:
        out = {
            "counts": counts,
            "items": [
                {"id": i.id, "target": i.target, "rule": i.rule, "event_id": i.event_id,
                 "status": i.status.value, "attempts": i.attempts,
                 "next_attempt_at": i.next_attempt_at, "created_at": i.created_at,
                 "delivered_at": i.delivered_at, "last_error": i.last_error}
                for i in items
            ],
        }  # fmt: skip
        json.dump(out, sys.stdout, indent=2)
        print()
        return EXIT_OK
    print("outbox: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    if items:
        print(
            f"{'ID':>6}  {'STATUS':<9}  {'TRY':>3}  {'TARGET':<20}  {'RULE':<20}  {'EVENT':>6}  LAST ERROR"
        )
        print("\n".join(outbox_lines(items)))
    return EXIT_OK


def add_report_parsers(
    add: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser],
) -> None:
    p = add("report", cmd_report, "service levels for a period, inside operational hours")
    p.add_argument("--since", metavar="DURATION", help="the last DURATION: 24h, 7d, 1h30m")
    p.add_argument(
        "--from",
        dest="start",
        metavar="ISO",
        help="start, e.g. 2026-11-21T08:00 (in [ui] time's zone)",
    )
    p.add_argument("--to", dest="end", metavar="ISO", help="end (default: now)")
    _formats(p)
    h = add("handover", cmd_handover, "the shift handover: what this shift leaves open")
    h.add_argument(
        "--since",
        metavar="DURATION",
        help="the shift's length (default: since the last accepted handover, else 12h)",
    )
    _formats(h)
    o = add("outbox", cmd_outbox, "notifications: what was sent, what waits, what failed")
    o.add_argument("--json", action="store_true", help="machine-readable JSON")
    o.add_argument(
        "--limit", type=positive_int, default=50, metavar="N", help="newest N (default 50)"
    )
