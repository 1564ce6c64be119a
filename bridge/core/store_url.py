"""Where the store is, as a URL: `sqlite:///path` on one host, `postgresql://...` for many.

Parsed here, in the core, because both the config (to reject a bad `[store] url`
with one line at load time) and the store's factory (to pick the backend) need
it, and the config must not import the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from bridge.core.text import redact_url

__all__ = ["SCHEMES", "StoreURL", "StoreURLError", "parse_store_url", "sqlite_url"]

# What a URL may start with -> the backend's name. `postgres://` is what libpq,
# psql and most hosting providers also accept.
SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql"}


class StoreURLError(ValueError):
    """A store URL that names no store we can open; the message never shows a password."""


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL: `backend` picks the code, `path` is SQLite's file.

    `url` is the text as given (it may carry a password: show `redacted` instead).
    """

    backend: str
    url: str
    path: Path | None = None

    @property
    def redacted(self) -> str:
        """What may be shown: a SQLite file's path; a server's host and database,
        never its user, password or options."""
        return str(self.path) if self.path is not None else redact_url(self.url, keep_path=True)

    def __str__(self) -> str:
        return self.redacted


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite file (`[store] path` is this with the path alone)."""
    return "sqlite://" + str(path.expanduser().absolute())


def parse_store_url(text: str) -> StoreURL:
    """`sqlite:///absolute/file.db`, `sqlite://~/file.db` or `postgresql://user@host/db`."""
    scheme, sep, rest = text.strip().partition("://")
    if not sep:
        raise StoreURLError(
            f"url {redact_url(text)!r} has no scheme: "
            "use sqlite:///path/to/bridge.db or postgresql://user@host/db"
        )
    backend = SCHEMES.get(scheme.lower())
    if backend is None:
        raise StoreURLError(f"url scheme {scheme!r} is not one bridge knows (sqlite, postgresql)")
    if backend == "sqlite":
        if "?" in rest or "#" in rest:
            raise StoreURLError(
                f"url {text!r}: a SQLite url is the file's path alone (no ?options)"
            )
        path = unquote(rest)
        if path.startswith("~"):
            return StoreURL(backend, text, Path(path).expanduser())
        if not path.startswith("/") or path == "/":
            raise StoreURLError(
                f"url {text!r}: a SQLite url needs an absolute path, "
                "e.g. sqlite:///var/lib/bridge/bridge.db"
            )
        return StoreURL(backend, text, Path(path))
    return StoreURL(backend, text)
