"""`bridge store ...`: set up and move the store itself (not its events).

`grant-readonly ROLE` gives a PostgreSQL role read access and nothing more, for
`bridge wall`; `migrate --from sqlite:///old.db --to postgresql://...` copies a
one-host store's history onto a server.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from bridge.cli.support import EXIT_USAGE, fail, global_options
from bridge.config.file import load_config
from bridge.core.store_url import StoreURL, StoreURLError, parse_store_url
from bridge.store import open_store

__all__ = ["add_store_parser"]

EXIT_OK = 0


def _help(args: argparse.Namespace) -> int:
    # No command is a user's mistake, as for `bridge job`: exit 2, the usage on stderr.
    args.store_parser.print_help(sys.stderr)
    return EXIT_USAGE


def _url(text: str, what: str) -> StoreURL | str:
    """The parsed URL, or the one line that says what is wrong with it."""
    try:
        return parse_store_url(text)
    except StoreURLError as exc:
        return f"{what}: {exc}"


def cmd_grant_readonly(args: argparse.Namespace) -> int:
    target = args.url
    if target is None:
        config, _ = load_config(args.config)
        target = config.store.resolved_url()
    url = _url(target, "store grant-readonly")
    if isinstance(url, str):
        return fail(url)
    if url.backend != "postgresql":
        return fail(
            "store grant-readonly: the store is a SQLite file; the wall opens it read-only "
            "already (a role is a PostgreSQL store's)"
        )

    async def run() -> str:
        from bridge.store.postgres import PostgresStore, grant_readonly

        store = await open_store(target)
        try:
            assert isinstance(store, PostgresStore)
            return await grant_readonly(store, args.role)
        finally:
            await store.close()

    schema = asyncio.run(run())
    print(f"role {args.role} may read the store (schema {schema}) and write nothing")
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    source, target = _url(args.source, "--from"), _url(args.target, "--to")
    if isinstance(source, str) or isinstance(target, str):
        return fail(f"store migrate: {source if isinstance(source, str) else target}")
    if source.backend != "sqlite" or source.path is None:
        return fail(f"store migrate: --from must be a sqlite:/// URL, not {source.redacted}")
    if target.backend != "postgresql":
        return fail(f"store migrate: --to must be a postgresql:// URL, not {target.redacted}")
    if not source.path.is_file():
        return fail(f"store migrate: {source.path}: no store here")
    from bridge.store.postgres.copy import copy_sqlite_store

    counts = asyncio.run(copy_sqlite_store(source.path, target.url))
    for table, count in counts.items():
        print(f"{table:<20} {count:>9} rows")
    print(f"copied {source.redacted} to {target.redacted}; every table's count checked")
    return EXIT_OK


def add_store_parser(
    add: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser],
) -> None:
    store = add("store", _help, "the store itself: a wall's read-only role, migrating")
    store.set_defaults(store_parser=store)
    sub = store.add_subparsers(title="commands", metavar="COMMAND")
    grant = sub.add_parser(
        "grant-readonly",
        help="let a PostgreSQL role read the store and nothing else (for bridge wall)",
        description="Grant ROLE read access to the store and revoke every write, so a "
        "wall that connects as ROLE can never act. ROLE must exist (CREATE ROLE ... LOGIN).",
        parents=[global_options()],
    )
    grant.set_defaults(func=cmd_grant_readonly)
    grant.add_argument("role", metavar="ROLE", help="the existing role the wall connects as")
    grant.add_argument("--url", metavar="URL", help="the store (default: the config's [store] url)")
    migrate = sub.add_parser(
        "migrate",
        help="copy a SQLite store's history into a new PostgreSQL store",
        description="Copy events, journal, job runs, schedule changes, the outbox, the change "
        "sequence and the latest readings from a SQLite store into an empty PostgreSQL one, "
        "in one transaction, checking every table's count.",
        parents=[global_options()],
    )
    migrate.set_defaults(func=cmd_migrate)
    migrate.add_argument("--from", dest="source", required=True, metavar="sqlite:///FILE")
    migrate.add_argument("--to", dest="target", required=True, metavar="postgresql://...")
