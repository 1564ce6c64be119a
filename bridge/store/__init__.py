"""The store: bridge's single source of truth, behind one narrow interface."""

from __future__ import annotations

from bridge.store.factory import open_store
from bridge.store.protocol import ReadOnlyStoreError, Store, StoreError
from bridge.store.sqlite.store import SqliteStore

__all__ = ["ReadOnlyStoreError", "SqliteStore", "Store", "StoreError", "open_store"]
