"""A PostgreSQL store's URL: checked before any connection, shown without its password,
and the server's or libpq's refusals turned into one line for the operator.

The password may be in the URL (`postgresql://user:secret@host/db`), in PGPASSWORD
or in ~/.pgpass; wherever it came from it is never in a message: errors name the
URL as `postgresql://host:port/db`, and any text from libpq is scrubbed of
the password before it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from bridge.core.text import redact_url
from bridge.store.protocol import StoreError

__all__ = ["PgUrl", "connect_error", "parse_url"]

SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class PgUrl:
    """The URL to connect with, and how to name it where the operator reads it."""

    conninfo: str  # what libpq is given (the URL as written, password and all)
    shown: str  # the URL without its user, password or options (bridge.core.text.redact_url)
    user: str | None
    password: str | None

    def scrub(self, text: str) -> str:
        """`text` on one line, with the password (if any) replaced."""
        line = " ".join(part.strip() for part in text.strip().splitlines() if part.strip())
        if self.password:
            line = line.replace(self.password, "***")
        return line


def parse_url(url: str) -> PgUrl:
    """Check a postgresql:// URL's form; StoreError (without the password) if it is bad."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise StoreError(f"store URL {redact_url(url, keep_path=True)}: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise StoreError(f"store URL {redact_url(url, keep_path=True)}: not a postgresql:// URL")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    pg = PgUrl(url, redact_url(url, keep_path=True), user, password)
    from psycopg.conninfo import conninfo_to_dict  # psycopg only for a postgresql:// URL

    try:
        conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError: an option libpq does not know
        raise StoreError(f"store URL {pg.shown}: {pg.scrub(str(exc))}") from None
    return pg


def connect_error(pg: PgUrl, exc: Exception) -> StoreError:
    """The one line for a connection that failed: what went wrong, where, what to check."""
    text = pg.scrub(str(exc))
    lowered = text.lower()
    where = f"cannot connect to the store {pg.shown}"
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return StoreError(f"{where}: the server refused user {pg.user or '(default)'!r}'s password")
    if "connection refused" in lowered:
        return StoreError(
            f"{where}: connection refused; is PostgreSQL running and listening there?"
        )
    if "failed to resolve host" in lowered or "could not translate host name" in lowered:
        return StoreError(f"{where}: no such host")
    if "timeout expired" in lowered:
        return StoreError(f"{where}: no answer in time")
    if "does not exist" in lowered:
        return StoreError(f"{where}: {text.split('FATAL:')[-1].strip()}")
    return StoreError(f"{where}: {text.removeprefix('connection failed: ')}")
