"""A store that cannot write: for `bridge wall`, which must never act.

Two locks, each enough alone: SQLite opens the file with `mode=ro` (the OS-level
open is read-only), and `PRAGMA query_only` makes the connection refuse any
statement that would change the database. Above both, the store itself refuses
every write method with ReadOnlyStoreError before it reaches SQLite, as every
backend's read-only store does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import aiosqlite

from bridge.store.protocol import StoreError
from bridge.store.sqlite.schema import SCHEMA_VERSION
from bridge.store.sqlite.store import BUSY_TIMEOUT_MS, SqliteStore

__all__ = ["open_readonly_store"]


def _uri(path: Path) -> str:
    return f"file:{quote(str(path.resolve()))}?mode=ro"


def _exists(path: Path) -> bool:
    return path.is_file()


async def _connect_ro(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(_uri(path), uri=True, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA query_only = ON")
    except BaseException:
        await conn.close()  # aiosqlite's thread would keep the process alive
        raise
    return conn


async def open_readonly_store(path: Path) -> SqliteStore:
    """Open an existing store read-only; it must have been created by a writer first."""
    if not _exists(path):
        raise StoreError(f"{path}: no store here yet; start `bridge` or `bridge collect` first")
    db: aiosqlite.Connection | None = None
    watch: aiosqlite.Connection | None = None
    try:
        db = await _connect_ro(path)
        async with db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{path}: store schema version {version}, this bridge reads {SCHEMA_VERSION}; "
                "start `bridge` or `bridge collect` of this version once to migrate it"
            )
        watch = await _connect_ro(path)
    except sqlite3.DatabaseError as exc:
        if db is not None:
            await db.close()
        raise StoreError(f"{path}: cannot open the store read-only: {exc}") from None
    except BaseException:
        if db is not None:
            await db.close()
        raise
    return SqliteStore(path, db, watch, read_only=True)
