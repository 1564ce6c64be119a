"""The store: bridge's single source of truth, behind one narrow interface."""

from __future__ import annotations

from pathlib import Path

from bridge.store.base import Store, StoreError
from bridge.store.sqlite import SqliteStore, open_sqlite_store

__all__ = ["SqliteStore", "Store", "StoreError", "open_store"]


async def open_store(path: Path | str, *, read_only: bool = False) -> Store:
    """The one place that picks a backend: a postgresql:// URL, else a SQLite file
    (a path, or a sqlite:/// URL)."""
    url = _postgres_url(path)
    if url is not None:
        from bridge.store.postgres import open_postgres_store  # psycopg only for PostgreSQL

        return await open_postgres_store(url, read_only=read_only)
    path = Path(str(path).removeprefix("sqlite://"))
    if read_only:
        from bridge.store.readonly import open_readonly_store

        return await open_readonly_store(path)
    return await open_sqlite_store(path)


def _postgres_url(where: Path | str) -> str | None:
    text = str(where)
    return text if text.startswith(("postgresql://", "postgres://")) else None
