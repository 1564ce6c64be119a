"""`open_store`: the one place that picks a backend, from a URL or a SQLite file's path."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Protocol

from bridge.core.store_url import StoreURL, StoreURLError, parse_store_url
from bridge.store.protocol import Store, StoreError

__all__ = ["OPENERS", "Opener", "open_store"]


class Opener(Protocol):
    def __call__(self, url: StoreURL, *, read_only: bool) -> Awaitable[Store]: ...


async def _open_sqlite(url: StoreURL, *, read_only: bool) -> Store:
    assert url.path is not None  # parse_store_url gives every SQLite URL its path
    if read_only:
        from bridge.store.sqlite.readonly import open_readonly_store

        return await open_readonly_store(url.path)
    from bridge.store.sqlite.store import open_sqlite_store

    return await open_sqlite_store(url.path)


async def _open_postgresql(url: StoreURL, *, read_only: bool) -> Store:
    from bridge.store.postgres import open_postgres_store

    return await open_postgres_store(url.url, read_only=read_only)


# backend name (bridge.core.store_url.SCHEMES) -> how to open it. A backend's module is
# imported only when a URL names it, so SQLite hosts never load a server driver.
OPENERS: dict[str, Opener] = {"sqlite": _open_sqlite, "postgresql": _open_postgresql}

_NAMES = {"postgresql": "PostgreSQL"}


async def open_store(target: str | Path, *, read_only: bool = False) -> Store:
    """Open the store at `target`: a URL (`sqlite:///file`, `postgresql://...`) or a
    SQLite file's path. `read_only` gives a store whose every write method raises
    ReadOnlyStoreError (the wall's); it must have been created by a writer first.

    Raises StoreError with one line (never a password) for anything the user can fix.
    """
    if isinstance(target, Path):
        url = StoreURL("sqlite", str(target), target)
    else:
        try:
            url = parse_store_url(target)
        except StoreURLError as exc:
            raise StoreError(str(exc)) from None
    opener = OPENERS.get(url.backend)
    if opener is None:
        name = _NAMES.get(url.backend, url.backend)
        raise StoreError(f"{url.redacted}: {name} backend not available in this bridge")
    return await opener(url, read_only=read_only)
