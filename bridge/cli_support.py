"""What every `bridge` subcommand module shares: one store per command, one-line errors."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bridge.config import Config
from bridge.store import Store, open_store

__all__ = ["EXIT_USAGE", "fail", "positive_int", "with_store"]

EXIT_USAGE = 2

T = TypeVar("T")


def with_store(config: Config, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the configured store, run `work` on it, and always close it again
    (aiosqlite's thread would otherwise keep the command from exiting)."""

    async def run() -> T:
        store = await open_store(config.store.resolved_path())
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
