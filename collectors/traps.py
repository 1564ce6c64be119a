"""An SNMP trap and inform receiver (pysnmp ntfrcv on asyncio): v1, v2c and v3.

It only listens and decodes: each notification becomes a `Trap` (who sent it,
its snmpTrapOID and its varbinds as plain strings) handed to a callback. What a
trap means is decided by the core (bridge/trap_rules.py), not here.

Varbind values are device-provided and untrusted; they are kept as text and
never interpreted. Communities and v3 keys are never part of a repr, a log line
or an error message: a community is known only by its index ("community-2").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp  # type: ignore[import-untyped]
from pysnmp.entity import config as snmp_config  # type: ignore[import-untyped]
from pysnmp.entity import engine as snmp_engine
from pysnmp.entity.rfc3413 import ntfrcv  # type: ignore[import-untyped]
from pysnmp.proto import rfc1902, rfc1905  # type: ignore[import-untyped]

from collectors.snmp_oids import oid_str
from collectors.snmp_v3 import AUTH_PROTOCOLS, PRIV_PROTOCOLS

__all__ = ["SNMP_TRAP_OID", "Trap", "TrapReceiver", "TrapUser"]

log = logging.getLogger(__name__)

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SYS_UPTIME_0 = "1.3.6.1.2.1.1.3.0"
# SNMPv1 traps converted to v2 carry their community in this varbind (RFC 3584): never keep it.
SNMP_TRAP_COMMUNITY = "1.3.6.1.6.3.18.1.4.0"
_VERSIONS = {1: "1", 2: "2c", 3: "3"}
MAX_VARBINDS = 64  # kept per trap; a trap is evidence, not a data dump
MAX_VALUE = 512  # characters per varbind value


@dataclass(frozen=True, slots=True)
class TrapUser:
    """An SNMPv3 user allowed to send notifications. Keys stay out of repr."""

    user: str
    auth_protocol: str = "sha256"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "none"
    priv_key: str = field(default="", repr=False)
    engine_id: str | None = None  # the sender's, hex; needed for traps, not for informs


@dataclass(frozen=True, slots=True)
class Trap:
    """One received notification, decoded into plain values."""

    at: float
    address: str  # the sender's IP
    port: int
    version: str  # 1, 2c, 3
    security_name: str  # "community-N" or the v3 user: never a community string
    trap_oid: str
    varbinds: tuple[tuple[str, str], ...]

    def value(self, prefix: str) -> str | None:
        """The first varbind whose OID is `prefix` or under it."""
        dotted = prefix + "."
        for name, value in self.varbinds:
            if name == prefix or name.startswith(dotted):
                return value
        return None

    def indexed(self, column: str) -> tuple[int, str] | None:
        """(row index, value) of the first varbind under a table column, e.g. ifIndex."""
        dotted = column + "."
        for name, value in self.varbinds:
            if name.startswith(dotted):
                rest = name[len(dotted) :]
                if rest.isdigit():
                    return int(rest), value
        return None


def _text(value: Any) -> str:
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return ""
    if isinstance(value, rfc1902.IpAddress) or type(value).__name__ == "IpAddress":
        return ".".join(str(b) for b in bytes(value))
    if isinstance(value, rfc1902.OctetString):
        return bytes(value).decode("utf-8", errors="replace")[:MAX_VALUE]
    if isinstance(value, rfc1902.ObjectIdentifier):
        return oid_str(tuple(value))
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return str(value)[:MAX_VALUE]


class TrapReceiver:
    """Listens on one UDP address; `start()` binds (raising OSError if it cannot)."""

    def __init__(
        self,
        address: str,
        port: int,
        on_trap: Callable[[Trap], None],
        *,
        communities: Sequence[str] = (),
        users: Sequence[TrapUser] = (),
    ) -> None:
        self.address = address
        self.port = port
        self.on_trap = on_trap
        self._communities = list(communities)
        self._users = list(users)
        self._engine: Any = None
        self._receiver: Any = None
        self.received = 0
        self.dropped = 0

    def __repr__(self) -> str:
        return f"TrapReceiver({self.address}:{self.port})"

    @property
    def bound_port(self) -> int:
        """The port actually bound (useful when asked for port 0)."""
        transport = self._engine.transport_dispatcher.get_transport(udp.DOMAIN_NAME)
        sock = transport.transport.get_extra_info("socket")
        port: int = sock.getsockname()[1]
        return port

    async def start(self) -> None:
        engine = snmp_engine.SnmpEngine()
        transport = udp.UdpTransport().open_server_mode((self.address, self.port))
        try:
            await transport._lport  # the bind itself: fails here if the port is taken
        except OSError as exc:
            transport.close_transport()
            raise OSError(
                exc.errno, f"cannot listen for traps on {self.address}:{self.port}: {exc.strerror}"
            ) from None
        try:
            snmp_config.add_transport(engine, udp.DOMAIN_NAME, transport)
            for i, community in enumerate(self._communities):
                snmp_config.add_v1_system(engine, f"community-{i}", community)
            for user in self._users:
                options: dict[str, Any] = {}
                if user.engine_id:
                    options["securityEngineId"] = rfc1902.OctetString(
                        hexValue=user.engine_id.removeprefix("0x")
                    )
                snmp_config.add_v3_user(
                    engine,
                    user.user,
                    AUTH_PROTOCOLS[user.auth_protocol.lower()],
                    user.auth_key or None,
                    PRIV_PROTOCOLS[user.priv_protocol.lower()],
                    user.priv_key or None,
                    **options,
                )
            receiver = ntfrcv.NotificationReceiver(engine, self._received)
        except BaseException:
            # Bound but not listening: give the port back now, not at the retry
            # (a new receiver, or the next lease holder, must be able to bind it).
            with contextlib.suppress(Exception):
                engine.close_dispatcher()
            with contextlib.suppress(Exception):
                transport.close_transport()
            await asyncio.sleep(0)  # the socket itself is closed on the loop's next turn
            raise
        self._engine, self._receiver = engine, receiver

    async def close(self) -> None:
        if self._engine is None:
            return
        if self._receiver is not None:
            self._receiver.close(self._engine)
        self._engine.close_dispatcher()
        self._engine = self._receiver = None

    def _received(
        self,
        engine: Any,
        state_reference: Any,
        context_engine_id: Any,
        context_name: Any,
        varbinds: Any,
        cb_ctx: Any,
    ) -> None:
        context = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        address, port = context["transportAddress"][:2]
        plain = tuple(
            (name, _text(value))
            for name, value in ((oid_str(tuple(n)), v) for n, v in list(varbinds)[:MAX_VARBINDS])
            if name != SNMP_TRAP_COMMUNITY
        )
        trap_oid = next((v for n, v in plain if n == SNMP_TRAP_OID), "")
        trap = Trap(
            at=time.time(),
            address=str(address),
            port=int(port),
            version=_VERSIONS.get(int(context["securityModel"]), "?"),
            security_name=str(context["securityName"]),
            trap_oid=trap_oid,
            varbinds=plain,
        )
        self.received += 1
        try:
            self.on_trap(trap)
        except Exception as exc:  # a consumer's fault must not stop the receiver
            self.dropped += 1
            log.warning("trap from %s could not be handled: %s", trap.address, exc)
