"""The `bridge` command line.

User mistakes (a bad config, an unusable store path) end in one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from bridge import __version__
from bridge.cli.support import EXIT_USAGE, add_global_options, fail, global_options
from bridge.config.file import Config, ConfigError, load_config
from bridge.core.clock import SystemClock
from bridge.core.identity import OperatorNameError, operator_name
from bridge.core.text import human_duration, redact_url
from bridge.store import StoreError, open_store

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1


def _load(args: argparse.Namespace) -> tuple[Config, Path | None]:
    return load_config(args.config)


# -- commands -----------------------------------------------------------------
def cmd_version(args: argparse.Namespace) -> int:
    print(f"bridge {__version__}")
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    from bridge.config.themes import user_themes_dir
    from bridge.ui.theming import read_user_themes, theme_names

    # Every problem before any summary: the theme files, then the config with its theme.
    problems: list[str] = []
    try:
        mine = read_user_themes()
    except ConfigError as exc:
        problems, mine = exc.lines, []
    try:
        config, path = load_config(args.config, themes=theme_names(mine))
    except ConfigError as exc:
        problems += exc.lines
    if problems:
        raise ConfigError(problems)
    local = config.local
    print(f"config:   {path if path else 'none found; built-in defaults'}")
    print(
        f"store:    {_store_shown(config)} (samples kept {config.store.sample_retention_hours:g} h)"
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
    from bridge.runtime.hosts import collector_lease, host_name

    host = host_name(config, args.host)
    print(f"host:     {host} (its collector holds the lease {collector_lease(host)})")
    print(f"devices:  {len(config.devices)}")
    for d in config.devices:
        by = f", polled by {d.poller}" if d.poller else ""
        print(f"  {d.name:<16} {d.address}:{d.port} SNMPv{d.version} every {d.interval:g} s{by}")
    traps = config.traps
    print(
        f"traps:    listening on {traps.address}:{traps.port} ({len(traps.communities)} "
        f"communities, {len(traps.users)} v3 users, {len(traps.map)} mappings)"
        if traps.enabled
        else "traps:    off"
    )
    intake = config.intake
    if intake.enabled:
        scheme = "https" if intake.tls_cert else "http"
        # The tokens by name only: a token is a secret.
        named = ", ".join(f"{t.name} ({'/'.join(t.allow)})" for t in intake.tokens)
        print(f"intake:   listening on {scheme}://{intake.address}:{intake.port}; tokens {named}")
    else:
        print("intake:   off")
    writeback = config.alertmanager
    if writeback.url is not None:
        from urllib.parse import urlsplit

        # Scheme, host, port and prefix: user:password@ in a URL is a credential.
        parts = urlsplit(writeback.url)
        port = f":{parts.port}" if parts.port else ""
        where = f"{parts.scheme}://{parts.hostname}{port}{parts.path.rstrip('/')}"
        token = " (with a token)" if writeback.token is not None else ""
        print(f"silences: written back to Alertmanager at {where}{token}")
    serve = config.wall.serving
    scheme = "https" if serve.tls_cert else "http"
    guard = "token set" if serve.token is not None else "no token"  # never the token itself
    print(
        f"wall:     `wall --serve` on {scheme}://{serve.address}:{serve.port}/ "
        f"(at most {serve.max_browsers} browsers; {guard}; theme {serve.theme})"
    )
    print(f"jobs:     {len(config.jobs)}")
    for j in config.jobs:
        extra = f", calendar {j.calendar}" if j.calendar else ""
        extra += ", maintenance" if j.maintenance else ""
        print(f"  {j.name:<16} {j.schedule} ({j.timezone}{extra})")
    if config.maintenance:
        print(f"maintenance: {len(config.maintenance)}")
    for w in config.maintenance:
        when = (
            f"{w.schedule} for {w.duration:g} s ({w.timezone})"
            if w.schedule is not None and w.duration is not None
            else f"{w.start} to {w.end}"
        )
        print(f"  {w.name:<16} {when}; hosts {', '.join(w.hosts)}")
    print(f"rules:    {len(config.rules)}")
    for r in config.rules:
        extra = " with runbook" if r.runbook else ""
        print(f"  source={r.source} resource={r.resource} check={r.check} for {r.for_:g} s{extra}")
    print(f"reports:  operational hours {config.reports.calendar or 'always'}")
    print(f"webhooks: {len(config.webhooks)}")
    for hook in config.webhooks:
        # Webhook paths often carry a token (Slack's do): show only where it goes.
        print(f"  {hook.name:<16} {hook.format} {redact_url(str(hook.url))} "
              f"(timeout {hook.timeout:g} s)")  # fmt: skip
    print(f"escalations: {len(config.escalations)}")
    for e in config.escalations:
        print(f"  {e.name:<16} {e.severity}+ unacknowledged {human_duration(e.after_seconds)} -> "
              f"{', '.join(e.targets)}")  # fmt: skip
    print(f"http checks: {len(config.http_checks)}")
    for c in config.http_checks:
        url = redact_url(c.url, keep_path=True)
        print(f"  {c.name:<16} {url} expect {c.expect_status} every {c.interval:g} s")
    print(f"operator: {operator_name(args.operator, config.operator.name)}")
    print(f"theme:    {config.ui.theme} ({len(mine)} user theme(s) in {user_themes_dir()})")
    print("config is valid")
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    config, _ = _load(args)
    from bridge.runtime.hosts import host_name
    from bridge.runtime.poller import Poller

    async def run() -> None:
        store = await open_store(config.store.resolved_url())
        poller = Poller(store, config, SystemClock(), host=host_name(config, args.host))
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

    store_path = _store_shown(config)
    asyncio.run(run())
    return EXIT_OK


def _display(args: argparse.Namespace, config: Config) -> Config:
    """--mono and --low-bandwidth override the config's [ui] for this run."""
    ui = {}
    if getattr(args, "mono", False):
        ui["monochrome"] = True
    if getattr(args, "low_bandwidth", False):
        ui["low_bandwidth"] = True
    return config.model_copy(update={"ui": config.ui.model_copy(update=ui)}) if ui else config


def cmd_console(args: argparse.Namespace) -> int:
    # First of all: importing the local collector reads the CPU counters that its
    # first sample measures from, and the first screen waits for that sample until
    # the span is long enough for a sensible figure (MIN_CPU_WINDOW_S). Read here,
    # the span passes while Textual is imported and the app built, not after.
    import collectors.local  # noqa: F401

    config, path = _load(args)
    config = _display(args, config)
    from bridge.runtime.hosts import host_name
    from bridge.ui.app import run_console
    from bridge.ui.theming import load_user_themes

    return run_console(
        config,
        operator=operator_name(args.operator, config.operator.name),
        collect=not args.no_collect,
        user_themes=load_user_themes(config, path),
        hostname=host_name(config, args.host),
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from bridge.cli.demo import run_demo  # only `bridge demo` needs the estate's machinery

    return run_demo(args)


def cmd_wall(args: argparse.Namespace) -> int:
    config, path = _load(args)
    config = _display(args, config)
    from bridge.ui.theming import load_user_themes

    if not args.serve and (args.address is not None or args.port is not None):
        return fail("wall: --address and --port go with --serve")
    if args.serve:
        from bridge.ui.wall.web import serve_wall

        return serve_wall(config, path, args, user_themes=load_user_themes(config, path))
    from bridge.ui.wall.app import run_wall

    snapshot = Path(args.snapshot) if args.snapshot else None
    themes = load_user_themes(config, path)
    if args.theme is not None:
        from bridge.config.themes import check_theme_name
        from bridge.ui.theming import theme_names

        check_theme_name(args.theme, theme_names(themes), "wall --theme")
    return run_wall(
        config,
        user_themes=themes,
        theme=args.theme,
        snapshot=snapshot,
        allow_writable=args.allow_writable,
    )


# -- parser -------------------------------------------------------------------
def _display_options(p: argparse.ArgumentParser, default: object) -> None:
    """On the main parser and on `console` and `wall` (SUPPRESS there, so either place works)."""
    p.add_argument(
        "--mono",
        action="store_true",
        default=default,
        help="monochrome: severity by words, symbols, bold and reverse (also NO_COLOR)",
    )
    p.add_argument(
        "--low-bandwidth",
        action="store_true",
        default=default,
        help="for slow links: no animations, clock to the minute, slower redraws",
    )


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line naming the command, like every other bridge error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("bridge").strip()
        where = f"{command}: " if command else ""
        self.exit(EXIT_USAGE, f"bridge: {where}{message} (see {self.prog} --help)\n")


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """The CLI; without `commands`, only the options of `bridge` itself (the console)."""
    parser = _Parser(
        prog="bridge",
        description="A terminal console for IT operations bridges.",
        exit_on_error=commands,
    )
    add_global_options(parser)
    _display_options(parser, False)
    parser.set_defaults(func=cmd_console, no_collect=False)
    if not commands:
        return parser
    # The command modules load with their parsers: the console's start needs neither.
    from bridge.cli.devices import add_devices_parser
    from bridge.cli.events import add_events_parser
    from bridge.cli.hosts import add_hosts_parser
    from bridge.cli.jobs import add_jobs_parser
    from bridge.cli.report import add_report_parsers
    from bridge.cli.store import add_store_parser

    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    common = global_options(_Parser)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(func=func)
        return p

    console = add("console", cmd_console, "the interactive console (the default)")
    _display_options(console, argparse.SUPPRESS)
    console.add_argument(
        "--no-collect", action="store_true", help="never take the collector lease; only read"
    )
    wall = add("wall", cmd_wall, "the read-only bridge screen for a wall display")
    _display_options(wall, argparse.SUPPRESS)
    wall.add_argument(
        "--allow-writable",
        action="store_true",
        help="run even if the store's credentials could write (a PostgreSQL role with "
        "write grants); without it the wall refuses them",
    )
    wall.add_argument("--theme", metavar="NAME", help="this wall's theme (default: [ui] theme)")
    wall.add_argument(
        "--serve", action="store_true", help="serve the wall to browsers ([wall.serve] in config)"
    )
    wall.add_argument("--address", help="with --serve: listen here (default 127.0.0.1)")
    wall.add_argument("--port", type=int, help="with --serve: listen on this port (default 8080)")
    # Set by the wall server for each browser's wall process: where to write what it draws.
    wall.add_argument("--snapshot", metavar="FILE", help=argparse.SUPPRESS)
    add(
        "collect",
        cmd_collect,
        "headless poller: hold this host's collector lease and poll (and estate duties)",
    )
    add("check-config", cmd_check_config, "validate the config file and summarise it")
    add_events_parser(add)
    add_jobs_parser(add)
    add_hosts_parser(add)
    add_report_parsers(add)
    demo = add(
        "demo",
        cmd_demo,
        "a demo estate: simulated SNMP devices (snmpsim on 127.0.0.1) and a sample schedule "
        "in a temporary folder, with the console on them; all removed on quit",
    )
    demo.add_argument(
        "--no-console", action="store_true", help="run the estate and the collector headless"
    )
    demo.add_argument(
        "--seconds", type=float, default=3600.0, help="with --no-console: stop after this long"
    )
    demo.add_argument(
        "--flap-every", type=float, default=15.0, help="seconds ap-lobby is up, then down"
    )
    demo.add_argument("--die-after", type=float, default=60.0, help="seconds before fw-dmz dies")
    add_devices_parser(add)
    add_store_parser(add)
    add("version", cmd_version, "print the version")
    return parser


EXIT_BROKEN_PIPE = 141  # as a shell reports a process killed by SIGPIPE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    # Most starts are the console, whose options are all `bridge`'s own: the
    # command parsers (25 of them, ~5 ms to build) are made only when the
    # arguments are not just those, or ask for help, or are wrong.
    given = sys.argv[1:] if argv is None else argv
    if not {"-h", "--help"} & set(given):
        with contextlib.suppress(argparse.ArgumentError):
            args, rest = build_parser(commands=False).parse_known_args(given)
            if not rest:
                return args
    return build_parser().parse_args(given)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.func is cmd_collect else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # here, so a reader that left early is caught below
        return code
    except BrokenPipeError:
        # `bridge events --json | head`: the reader left; no traceback, and no
        # second error when Python flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except ConfigError as exc:
        for line in exc.lines:
            fail(line)  # every problem in the file, one line each
        return EXIT_USAGE
    except StoreError as exc:
        return fail(str(exc))
    except OperatorNameError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


def _store_shown(config: Config) -> str:
    """The store as `check-config` shows it: never a password."""
    from bridge.core.store_url import parse_store_url

    return parse_store_url(config.store.resolved_url()).redacted
