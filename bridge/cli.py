"""The `bridge` command line.

User mistakes (a bad config, an unusable store path) end in one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from bridge import __version__
from bridge.cli_devices import add_devices_parser
from bridge.cli_events import add_events_parser
from bridge.cli_jobs import add_jobs_parser
from bridge.clock import SystemClock
from bridge.config import Config, ConfigError, load_config
from bridge.identity import operator_name
from bridge.store import StoreError, open_store

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _load(args: argparse.Namespace) -> tuple[Config, Path | None]:
    return load_config(args.config)


# -- commands -----------------------------------------------------------------
def cmd_version(args: argparse.Namespace) -> int:
    print(f"bridge {__version__}")
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    config, path = _load(args)
    local = config.local
    print(f"config:   {path if path else 'none found; built-in defaults'}")
    print(
        f"store:    {config.store.resolved_path()} "
        f"(samples kept {config.store.sample_retention_hours:g} h)"
    )
    if local.enabled:
        limits = ", ".join(
            f"{name} {t.warning:g}/{t.critical:g}"
            for name, t in local.thresholds.as_table().items()
        )
        print(
            f"local:    every {local.interval:g} s, processes every {local.process_interval:g} s;"
            f" warning/critical {limits}"
        )
    else:
        print("local:    disabled")
    print(f"devices:  {len(config.devices)}")
    for d in config.devices:
        print(f"  {d.name:<16} {d.address}:{d.port} SNMPv{d.version} every {d.interval:g} s")
    traps = config.traps
    print(
        f"traps:    listening on {traps.address}:{traps.port} ({len(traps.communities)} "
        f"communities, {len(traps.users)} v3 users, {len(traps.map)} mappings)"
        if traps.enabled
        else "traps:    off"
    )
    print(f"jobs:     {len(config.jobs)}")
    for j in config.jobs:
        print(f"  {j.name:<16} {j.schedule} ({j.timezone})")
    print(f"rules:    {len(config.rules)}")
    for r in config.rules:
        extra = " with runbook" if r.runbook else ""
        print(f"  source={r.source} resource={r.resource} check={r.check} for {r.for_:g} s{extra}")
    print(f"operator: {operator_name(args.operator, config.operator.name)}")
    print("config is valid")
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    config, _ = _load(args)
    from bridge.poller import Poller

    async def run() -> None:
        store = await open_store(config.store.resolved_path())
        poller = Poller(store, config, SystemClock())
        task = asyncio.create_task(poller.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        logging.getLogger("bridge").info(
            "bridge collect: store %s, lease holder id %s", store_path, poller.lease.holder
        )
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await store.close()
        logging.getLogger("bridge").info("bridge collect: stopped")

    store_path = config.store.resolved_path()
    asyncio.run(run())
    return EXIT_OK


def cmd_console(args: argparse.Namespace) -> int:
    config, _ = _load(args)
    from bridge.ui.app import run_console

    return run_console(
        config,
        operator=operator_name(args.operator, config.operator.name),
        collect=not args.no_collect,
    )


# -- parser -------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridge",
        description="A terminal console for IT operations bridges.",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: $BRIDGE_CONFIG, then XDG)"
    )
    parser.add_argument(
        "--operator", metavar="NAME", help="who is acting (default: $BRIDGE_OPERATOR, login name)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more to stderr")
    parser.set_defaults(func=cmd_console, no_collect=False)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    console = add("console", cmd_console, "the interactive console (the default)")
    console.add_argument(
        "--no-collect", action="store_true", help="never take the collector lease; only read"
    )
    add("collect", cmd_collect, "headless poller: hold the collector lease and poll")
    add("check-config", cmd_check_config, "validate the config file and summarise it")
    add_events_parser(add)
    add_jobs_parser(add)
    add_devices_parser(add)
    add("version", cmd_version, "print the version")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.func is cmd_collect else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for line in exc.lines:
            print(f"bridge: {line}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"bridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
