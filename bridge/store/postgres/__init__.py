"""The PostgreSQL store: `[store] url = "postgresql://user@host/db"`.

Imported only for such a URL, so a console on SQLite never loads psycopg.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from bridge.store.postgres.schema import LOCK_KEY, MIGRATIONS, SCHEMA_VERSION
from bridge.store.postgres.store import Conn, PostgresStore, grant_readonly
from bridge.store.postgres.url import PgUrl, connect_error, parse_url
from bridge.store.protocol import StoreError

__all__ = ["PostgresStore", "grant_readonly", "open_postgres_store"]

CONNECT_TIMEOUT_S = 5
POOL_SIZE = 4  # a console's panes read at once; writes queue on one lock anyway
# The lock migrations run under: hosts that start at once migrate one after another.
_MIGRATE_KEY = LOCK_KEY + 1


async def _migrate(conn: Conn, pg: PgUrl) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_KEY,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version integer PRIMARY KEY, applied_at double precision)"
        )
        cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{pg.shown}: store schema version {current} is newer than this bridge "
                f"understands ({SCHEMA_VERSION}); upgrade bridge"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            await conn.execute(MIGRATIONS[version - 1])  # no parameters: many statements
            await conn.execute(
                "INSERT INTO schema_version(version, applied_at) VALUES (%s, %s)",
                (version, time.time()),
            )


async def _check_version(conn: Conn, pg: PgUrl) -> None:
    cur = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        raise StoreError(f"{pg.shown}: no store here yet; start `bridge` or `bridge collect` first")
    cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    row = await cur.fetchone()
    version = int(row[0]) if row else 0
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"{pg.shown}: store schema version {version}, this bridge reads {SCHEMA_VERSION}; "
            "start `bridge` or `bridge collect` of this version once to migrate it"
        )


async def open_postgres_store(url: str, *, read_only: bool = False) -> PostgresStore:
    """Connect, migrate (unless `read_only`) and open the pool; StoreError in one line.

    A read-only store's sessions run with `default_transaction_read_only`, so each
    write method fails with StoreError; the role's grants are the second lock
    (`bridge store grant-readonly`)."""
    pg = parse_url(url)
    connect: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "bridge"}
    if read_only:
        connect["options"] = "-c default_transaction_read_only=on"
    try:
        conn = await psycopg.AsyncConnection.connect(pg.conninfo, autocommit=True, **connect)
    except psycopg.Error as exc:
        raise connect_error(pg, exc) from None
    try:
        async with conn:
            await (_check_version if read_only else _migrate)(conn, pg)
    except psycopg.Error as exc:
        raise StoreError(f"{pg.shown}: cannot open the store: {pg.scrub(str(exc))}") from None

    async def configure(conn: Conn) -> None:
        await conn.set_autocommit(True)  # reads need no transaction; writes BEGIN

    pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
        pg.conninfo,
        kwargs=connect,
        min_size=1,
        max_size=POOL_SIZE,
        open=False,
        configure=configure,
        name="bridge",
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
    except psycopg.Error as exc:
        await pool.close()
        raise connect_error(pg, exc) from None
    return PostgresStore(pg, pool, connect, read_only=read_only)
