"""The backends the contract runs against, and a fresh, empty store of each per test.

A backend joins by adding its name to BACKENDS and a function to URLS that gives
a test its own empty store's URL (PostgreSQL: a fresh database on the session's
server). Every test of the suite then runs against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pg_server import PgServer

from bridge.core.store_url import sqlite_url
from bridge.store import Store, open_store


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "contract.db")


def _postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on the session's real server (tests/pg_server.py), dropped after."""
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.database()
    request.addfinalizer(lambda: server.drop(name))
    return server.url(name)


URLS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}
BACKENDS = list(URLS)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty store of one backend (created by the first open)."""
    return URLS[request.param](request, tmp_path)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = await open_store(store_url)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def other(store_url: str, store: Store) -> AsyncIterator[Store]:
    """A second store on the same data: another process's view, as far as the API goes."""
    s = await open_store(store_url)
    try:
        yield s
    finally:
        await s.close()
