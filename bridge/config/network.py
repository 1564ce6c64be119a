"""Config for the network half: `[network]` (what SNMP observations raise) and `[traps]`.

Kept apart from `bridge.config.file` so the SNMP feature's keys live in one place;
`Config` only names the two sections.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from bridge.config.records import Field, Model, PositiveSeconds, SecretStr

__all__ = ["NetworkConfig", "TrapMapConfig", "TrapUserConfig", "TrapsConfig"]

EventSeverity = Literal["critical", "major", "minor", "warning", "info"]


class ErrorRate(Model):
    """Interface errors per second (in + out) with hysteresis, as for host metrics."""

    warning: float = Field(default=10.0, ge=0)
    critical: float = Field(default=100.0, ge=0)
    hysteresis: float = Field(default=1.0, ge=0)

    def _check(self) -> None:
        if self.critical < self.warning:
            raise ValueError(f"critical ({self.critical}) must be >= warning ({self.warning})")


class NetworkConfig(Model):
    """What the poller's observations of a device become (thresholds as data)."""

    link_down: EventSeverity = "major"  # an interface down while admin up
    restart: EventSeverity = "warning"  # sysUpTime went back: the agent restarted
    error_rate: ErrorRate = ErrorRate()
    # A device's reading counts as stale after this many of its intervals without success.
    stale_after_intervals: float = Field(default=3, gt=0)


class TrapUserConfig(Model):
    """An SNMPv3 user allowed to send traps (authNoPriv or authPriv)."""

    user: str = Field(min_length=1, max_length=32)
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] = "SHA256"
    auth_key: SecretStr
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = None
    priv_key: SecretStr | None = None
    engine_id: str | None = Field(
        default=None,
        pattern=r"^(0x)?[0-9a-fA-F]{10,64}$",
        description="sender's engine id, hex: for its traps (informs use the receiver's)",
    )

    def _check(self) -> None:
        if len(self.auth_key.get_secret_value()) < 8:
            raise ValueError("auth_key must be at least 8 characters")
        if (self.priv_protocol is None) != (self.priv_key is None):
            raise ValueError("priv_protocol and priv_key go together")
        if self.priv_key is not None and len(self.priv_key.get_secret_value()) < 8:
            raise ValueError("priv_key must be at least 8 characters")


class TrapMapConfig(Model):
    """A trap OID (or a prefix ending in `.*`) mapped to an event."""

    oid: str = Field(pattern=r"^\.?[0-9]+(\.[0-9]+)*(\.\*)?$")
    severity: EventSeverity | Literal["ok"] = "warning"
    check: str = Field(default="", max_length=64)
    summary: str = Field(default="", max_length=200)


class TrapsConfig(Model):
    """The trap receiver, run by the lease holder.

    Off by default: listening is a decision. The default address is loopback so
    enabling it never opens a port to the network by surprise; set
    `address = "0.0.0.0"` to receive from devices (port 162 needs privileges,
    hence the unprivileged default 1162; forward 162 to it or grant the capability).
    `receive_buffer` is the socket's receive queue the kernel keeps traps in while
    the receiver is busy: a burst beyond it is lost there (and counted). Linux
    grants at most net.core.rmem_max (`sysctl -w net.core.rmem_max=...` to allow more).
    """

    enabled: bool = False
    address: str = "127.0.0.1"
    port: int = Field(default=1162, ge=1, le=65535)
    receive_buffer: int = Field(
        default=4 * 1024 * 1024, ge=65536, le=1 << 30, description="bytes asked of SO_RCVBUF"
    )
    communities: list[SecretStr] = [SecretStr("public")]
    users: list[TrapUserConfig] = []
    map: list[TrapMapConfig] = []


class DeviceConfig(Model):
    _suggest: ClassVar[dict[str, str]] = {
        "host": "address",
        "hostname": "address",
        "ip": "address",
        "snmp_version": "version",
    }

    name: str = Field(min_length=1, max_length=64)
    address: str = Field(min_length=1)
    port: int = Field(default=161, ge=1, le=65535)
    version: Literal["1", "2c", "3"] = "2c"
    community: SecretStr = SecretStr("public")
    user: str | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: SecretStr | None = None
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = None
    priv_key: SecretStr | None = None
    interval: PositiveSeconds = 30.0
    timeout: PositiveSeconds = 2.0
    retries: int = Field(default=1, ge=0, le=10)
    tags: list[str] = []
    # The host whose collector polls this device; None: whichever holds the `snmp` lease.
    poller: str | None = Field(default=None, min_length=1, max_length=64)

    def _check(self) -> None:
        if self.version == "3" and not self.user:
            raise ValueError("SNMPv3 needs 'user'")
        # SNMPv3 localises keys of at least 8 characters; shorter ones fail every poll.
        for key, value in (("auth_key", self.auth_key), ("priv_key", self.priv_key)):
            if self.version == "3" and value is not None and len(value.get_secret_value()) < 8:
                raise ValueError(f"{key} must be at least 8 characters")
