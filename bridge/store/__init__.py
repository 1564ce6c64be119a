"""The store: bridge's single source of truth, behind one narrow interface."""

from __future__ import annotations

from pathlib import Path

from bridge.store.base import Store, StoreError
from bridge.store.sqlite import SqliteStore, open_sqlite_store

__all__ = ["SqliteStore", "Store", "StoreError", "open_store"]


async def open_store(path: Path) -> Store:
    """The one place that picks a backend."""
    return await open_sqlite_store(path)
