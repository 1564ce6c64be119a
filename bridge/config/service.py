"""Config for service levels: reports, webhooks, escalations and HTTP checks.

Kept apart from `bridge.config.file` so the service features grow without touching
the core config; `Config` only holds these as fields.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from bridge.config.records import Field, Model, SecretStr
from bridge.core.durations import parse_duration

__all__ = [
    "AlertmanagerConfig",
    "EscalationConfig",
    "HttpCheckConfig",
    "ReportsConfig",
    "WebhookConfig",
    "check_http_url",
]


def _shown(value: str) -> str:
    """A URL as an error may show it: scheme and host only, since a webhook's
    path and query are often its credential."""
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        host = ""
    scheme = value.split("://", 1)[0] if "://" in value else ""
    rest = "/…" if len(value) > len(f"{scheme}://{host}") else ""
    return repr(f"{scheme}://{host}{rest}" if scheme else "…")


def check_http_url(value: str) -> str:
    """An absolute http(s) URL with a host, or a ValueError that says what is wrong."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        reason = "bad port" if "port" in str(exc).lower() else "bad host"
        raise ValueError(f"{_shown(value)} is not a valid URL ({reason})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{_shown(value)} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"{_shown(value)} has no host")
    if any(c.isspace() for c in value):
        raise ValueError(f"{_shown(value)} contains white space")
    return value


class ReportsConfig(Model):
    # The name of a [calendars.NAME] entry; None measures around the clock.
    calendar: str | None = None
    # The default period of `bridge handover` when no handover was acknowledged yet.
    handover_hours: float = Field(default=12, gt=0, le=24 * 31)


class WebhookConfig(Model):
    name: str = Field(min_length=1, max_length=64)
    url: str = Field(check=check_http_url)
    format: Literal["json", "slack"] = "json"
    timeout: float = Field(default=5.0, gt=0, le=120)
    max_attempts: int = Field(default=8, ge=1, le=100)
    # Seconds before the first retry; doubled for each further attempt, at most an hour.
    backoff: float = Field(default=10.0, gt=0, le=3600)


class AlertmanagerConfig(Model):
    """Where shelving an Alertmanager event writes its silence back (`[alertmanager]`).

    Without a `url` bridge only receives: a shelve stays bridge's own state.
    """

    # Alertmanager's base URL (its --web.external-url / route prefix included):
    # silences go to URL/api/v2/silences.
    url: str | None = Field(default=None, check=check_http_url)
    # Sent as `Authorization: Bearer TOKEN`, for an Alertmanager behind a proxy.
    token: SecretStr | None = None
    timeout: float = Field(default=5.0, gt=0, le=120)
    # Seconds before the first retry; doubled for each further one, at most 5 minutes.
    backoff: float = Field(default=5.0, gt=0, le=300)
    max_attempts: int = Field(default=30, ge=1, le=1000)


def _after_minutes(value: float | str) -> float | str:
    if isinstance(value, str):
        return parse_duration(value) / 60
    if value < 0:
        raise ValueError("must be 0 minutes or more")
    return value


class EscalationConfig(Model):
    """Notify `targets` when an event at least `severity` is unacknowledged for `after`."""

    name: str = Field(min_length=1, max_length=64)
    severity: Literal["critical", "major", "minor", "warning", "info"] = "critical"
    # Minutes, or a duration such as "15m" or "1h".
    after: float | str = Field(default=15, check=_after_minutes)
    targets: list[str] = Field(min_length=1)

    @property
    def after_seconds(self) -> float:
        return float(self.after) * 60


class HttpCheckConfig(Model):
    name: str = Field(min_length=1, max_length=64)
    url: str = Field(check=check_http_url)
    expect_status: int = Field(default=200, ge=100, le=599)
    timeout: float = Field(default=5.0, gt=0, le=120)
    interval: float = Field(default=60.0, gt=0, le=86400)
    verify_tls: bool = True
    # A response slower than this (milliseconds) raises a warning.
    slow_ms: float = Field(default=2000, gt=0)
    cert_warning_days: float = Field(default=14, ge=0, le=3650)
