"""What every `bridge` subcommand module shares: one store per command, one-line errors."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bridge.config.file import Config
from bridge.store import Store, open_store

__all__ = [
    "EXIT_USAGE",
    "add_global_options",
    "fail",
    "global_options",
    "positive_int",
    "with_store",
]

EXIT_USAGE = 2

T = TypeVar("T")


def add_global_options(p: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """`bridge`'s own options. With `suppress`, for a subcommand's parser: set only
    when given there, so one given before the subcommand is kept."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    p.add_argument(
        "--config",
        metavar="PATH",
        default=default(None),
        help="config file (default: $BRIDGE_CONFIG, then XDG)",
    )
    p.add_argument(
        "--operator",
        metavar="NAME",
        default=default(None),
        help="who is acting (default: $BRIDGE_OPERATOR, login name)",
    )
    p.add_argument(
        "--host",
        metavar="NAME",
        default=default(None),
        help="this host's name in a shared store (default: $BRIDGE_HOST, [local] host, hostname)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="log more to stderr"
    )


P = TypeVar("P", bound=argparse.ArgumentParser)


def global_options(kind: type[P] = argparse.ArgumentParser) -> P:  # type: ignore[assignment]
    """A parent parser for every subcommand (`argparse` parents=): `bridge
    check-config --config FILE` is how people type it, as well as before."""
    p = kind(add_help=False)
    add_global_options(p, suppress=True)
    return p


def with_store(config: Config, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the configured store, run `work` on it, and always close it again
    (aiosqlite's thread would otherwise keep the command from exiting)."""

    async def run() -> T:
        store = await open_store(config.store.resolved_url())
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def fail(message: str, status: int = EXIT_USAGE) -> int:
    """A user's mistake: one line on stderr, and the exit status to return."""
    print(f"bridge: {message}", file=sys.stderr)
    return status


def positive_int(text: str) -> int:
    """An argparse type: a whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value
