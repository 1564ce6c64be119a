"""Config for the HTTP intake: `[intake]`, its named tokens and the Alertmanager mapping.

Kept apart from `bridge.config.file` so the intake's keys live in one place; `Config`
only names the section. Tokens are secrets: they are `SecretStr`s, checked
without ever being quoted in an error line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Literal

from bridge.config.records import Field, Model, SecretStr

__all__ = ["TOKEN_USES", "AlertmanagerIntakeConfig", "IntakeConfig", "IntakeTokenConfig"]

EventSeverity = Literal["critical", "major", "minor", "warning", "info"]
Use = Literal["ping", "events", "alertmanager"]
TOKEN_USES: tuple[Use, ...] = ("ping", "events", "alertmanager")
# A ping token travels in a URL path, as Healthchecks' ping key does: only characters
# that need no escaping there, and long enough not to be guessed.
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{16,200}")


def _token(value: SecretStr) -> SecretStr:
    if not _TOKEN.fullmatch(value.get_secret_value()):
        raise ValueError("must be 16 to 200 letters, digits or . _ ~ - (it travels in ping URLs)")
    return value


class IntakeTokenConfig(Model):
    """A named token: who may send, and what (`allow` defaults to everything)."""

    name: str = Field(min_length=1, max_length=64)
    token: SecretStr = Field(check=_token)
    allow: list[Use] = Field(default=list(TOKEN_USES), min_length=1)


class AlertmanagerIntakeConfig(Model):
    """How an Alertmanager alert becomes an event."""

    # The first of these labels an alert has names the event's resource.
    resource_labels: list[str] = Field(default=["instance"], min_length=1)
    # The alert's `severity` label -> bridge's severity; a label not listed gets the default.
    severity_map: dict[str, EventSeverity] = {
        "critical": "critical",
        "error": "major",
        "warning": "warning",
        "info": "info",
    }
    default_severity: EventSeverity = "warning"


class IntakeConfig(Model):
    """The HTTP intake (job pings, events API, Alertmanager), run by the lease holder.

    Off by default, on loopback by default: listening is a decision, and enabling it
    never opens a port to the network by surprise.
    """

    _suggest: ClassVar[dict[str, str]] = {"host": "address", "listen": "address"}

    enabled: bool = False
    address: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8765, ge=1, le=65535)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_body: int = Field(default=100_000, ge=1024, le=100_000_000)
    tokens: list[IntakeTokenConfig] = []
    alertmanager: AlertmanagerIntakeConfig = AlertmanagerIntakeConfig()

    def _check(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        names: set[str] = set()
        values: set[SecretStr] = set()
        for i, token in enumerate(self.tokens):
            if token.name in names:
                raise ValueError(f"tokens[{i}]: duplicate token name {token.name!r}")
            if token.token in values:
                raise ValueError(f"tokens[{i}] ({token.name!r}): the same token as another")
            names.add(token.name)
            values.add(token.token)
        if self.enabled and not self.tokens:
            raise ValueError("enabled, but no [[intake.tokens]]: every request would be refused")

    def token_for(self, secret: str) -> IntakeTokenConfig | None:
        """The entry whose token is `secret`, compared in constant time with every
        entry so that a stranger learns nothing from how long a refusal takes."""
        import hmac

        given = secret.encode("utf-8", "surrogateescape")
        found = None
        for token in self.tokens:
            if hmac.compare_digest(token.token.get_secret_value().encode(), given):
                found = token
        return found
