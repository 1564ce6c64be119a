"""Config for `bridge wall`: `[wall]` and its `[wall.serve]` (the wall in a browser).

Kept apart from `bridge.config.file` so the wall's keys live in one place. The serve
token is a secret (`SecretStr`), checked without ever being quoted in an error.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import ClassVar

from bridge.config.records import Field, Model, SecretStr

__all__ = ["WallConfig", "WallServeConfig", "exposure_problem", "is_loopback"]

# The token travels once in a URL (`?token=`): only characters that need no escaping.
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{16,200}")


def _token(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not _TOKEN.fullmatch(value.get_secret_value()):
        raise ValueError("must be 16 to 200 letters, digits or . _ ~ - (it travels in a URL)")
    return value


def is_loopback(address: str) -> bool:
    """True when only this host can reach `address`: 127.0.0.0/8, ::1 or `localhost`."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def exposure_problem(address: str, token: SecretStr | None, tls: bool) -> str | None:
    """Why serving on `address` would show the bridge to anyone who asks, or None.

    Off loopback, a browser must prove itself (the token) or the link must be
    private (TLS): the wall shows resource names and event summaries.
    """
    if is_loopback(address) or token is not None or tls:
        return None
    return (
        f"address {address!r} is not loopback: set [wall.serve] token or tls_cert and "
        "tls_key, or serve on 127.0.0.1"
    )


class WallServeConfig(Model):
    """`bridge wall --serve`: each browser gets its own read-only wall process."""

    _suggest: ClassVar[dict[str, str]] = {"host": "address", "listen": "address"}

    address: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)
    max_browsers: int = Field(default=8, ge=1, le=1000)
    token: SecretStr | None = Field(default=None, check=_token)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    fontsize: int = Field(default=16, ge=6, le=96)
    theme: str = Field(default="bridge-contrast", min_length=1)

    def _check(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        problem = exposure_problem(self.address, self.token, self.tls_cert is not None)
        if problem is not None:
            raise ValueError(problem)


class WallConfig(Model):
    """`[wall]`: the read-only bridge screen.

    `serve` is None where the file has no `[wall.serve]`: `bridge wall --serve` then
    runs on the defaults (`serving`), but the lease holder watches a wall server's
    `/status` only where the config says one is run.
    """

    serve: WallServeConfig | None = None

    @property
    def serving(self) -> WallServeConfig:
        """The settings `bridge wall --serve` runs with: `[wall.serve]` or its defaults."""
        return self.serve if self.serve is not None else WallServeConfig()
