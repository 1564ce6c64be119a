"""An SNMP trap and inform receiver: v1, v2c and v3, on a socket it owns.

It only listens and decodes: each notification becomes a `Trap` (who sent it,
its snmpTrapOID and its varbinds as plain strings) handed to a callback. What a
trap means is decided by the core (bridge/rules/traps.py), not here.

v1 and v2c are decoded by collectors/trap_wire.py; v3 goes to pysnmp's
notification receiver (USM, keys, engine ids), which sends its answers back
through the same socket. Anyone who can reach the port can send anything, so a
datagram that does not decode is counted per sender and logged at most once a
minute per sender, by address only: never its bytes, which may hold a community.

Varbind values are device-provided and untrusted; they are kept as text and
never interpreted. Communities and v3 keys are never part of a repr, a log line
or an error message: a community is known only by its index ("community-2").
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp  # type: ignore[import-untyped]
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher  # type: ignore[import-untyped]
from pysnmp.carrier.base import AbstractTransport  # type: ignore[import-untyped]
from pysnmp.entity import config as snmp_config  # type: ignore[import-untyped]
from pysnmp.entity import engine as snmp_engine
from pysnmp.entity.rfc3413 import ntfrcv  # type: ignore[import-untyped]
from pysnmp.proto import rfc1902, rfc1905  # type: ignore[import-untyped]

from collectors import trap_wire
from collectors.snmp_oids import oid_str
from collectors.snmp_v3 import AUTH_PROTOCOLS, PRIV_PROTOCOLS

__all__ = ["DEFAULT_RECEIVE_BUFFER", "SNMP_TRAP_OID", "Trap", "TrapReceiver", "TrapUser"]

log = logging.getLogger(__name__)

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SYS_UPTIME_0 = "1.3.6.1.2.1.1.3.0"
# SNMPv1 traps converted to v2 carry their community in this varbind (RFC 3584): never keep it.
SNMP_TRAP_COMMUNITY = "1.3.6.1.6.3.18.1.4.0"
_VERSIONS = {1: "1", 2: "2c", 3: "3"}
MAX_VARBINDS = trap_wire.MAX_VARBINDS  # kept per trap; a trap is evidence, not a data dump
MAX_VALUE = trap_wire.MAX_VALUE  # characters per varbind value
DEFAULT_RECEIVE_BUFFER = 4 * 1024 * 1024  # SO_RCVBUF asked for: a burst waits in the kernel
LOG_EVERY_S = 60.0  # at most one line per sender and kind of junk in this time
MAX_SENDERS = 256  # counted by address; beyond this, senders are counted together
OTHER_SENDERS = "other"
READ_BATCH = 256  # datagrams read per wake-up before the loop gets a turn
# Datagrams read but not yet decoded, in pull mode (about 10 MB at most): a waiting
# datagram takes a fifth of the memory of its decoded trap, so a storm can wait
# here five times as long as it could as traps.
PENDING_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class TrapUser:
    """An SNMPv3 user allowed to send notifications. Keys stay out of repr."""

    user: str
    auth_protocol: str = "sha256"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "none"
    priv_key: str = field(default="", repr=False)
    engine_id: str | None = None  # the sender's, hex: needed for its traps (informs work without)


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


class _SocketTransport(AbstractTransport):  # type: ignore[misc]
    """pysnmp's view of the receiver's socket: pysnmp sends through it (inform
    acknowledgements, discovery reports); what arrives is handed in by the receiver."""

    PROTO_TRANSPORT_DISPATCHER = AsyncioDispatcher
    ADDRESS_TYPE = udp.UdpTransportAddress

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.local = sock.getsockname()
        self.deliver: Callable[..., Any] | None = None

    def register_callback(self, cbFun: Callable[..., Any]) -> None:
        self.deliver = cbFun

    def unregister_callback(self) -> None:
        self.deliver = None

    def close_transport(self) -> None:
        self.deliver = None  # the socket is the receiver's to close

    def send_message(self, outgoingMessage: bytes, transportAddress: Any) -> None:
        try:
            self.sock.sendto(outgoingMessage, tuple(transportAddress)[:2])
        except OSError as exc:  # a full buffer or an unreachable sender: it retries
            log.debug("trap receiver: answer to %s not sent: %s", transportAddress[0], exc)


@dataclass(slots=True)
class _Sender:
    malformed: int = 0
    rejected: int = 0


class TrapReceiver:
    """Listens on one UDP address; `start()` binds (raising OSError if it cannot).

    With `on_trap`, each datagram is decoded as it is read and its trap handed
    over at once. Without it (pull mode), reading only keeps the datagrams and
    calls `on_pending`; `take()` decodes a batch of them when the consumer is
    ready, so decoding is never ahead of what the consumer can store, and a
    storm waits as compact bytes (at most `max_pending`, beyond that counted
    in `overflow`) rather than as traps.

    `malformed` counts datagrams that do not decode, `rejected` well-formed ones
    that are not accepted (an unknown community, not a notification), both per
    sender address; `clock` (monotonic seconds) paces the log lines about them.
    """

    def __init__(
        self,
        address: str,
        port: int,
        on_trap: Callable[[Trap], None] | None,
        *,
        communities: Sequence[str] = (),
        users: Sequence[TrapUser] = (),
        receive_buffer: int = DEFAULT_RECEIVE_BUFFER,
        on_pending: Callable[[], None] | None = None,
        max_pending: int = PENDING_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.port = port
        self.on_trap = on_trap
        self.on_pending = on_pending
        self.max_pending = max_pending
        self.receive_buffer = receive_buffer  # asked; `granted_buffer` is what the kernel gave
        self._communities = {c.encode(): i for i, c in reversed(list(enumerate(communities)))}
        self._users = list(users)
        self._clock = clock
        self._sock: socket.socket | None = None
        self._transport: _SocketTransport | None = None
        self._engine: Any = None
        self._receiver: Any = None
        self._senders: dict[str, _Sender] = {}
        self._logged: dict[tuple[str, str], float] = {}
        # (datagram, sender, when it was read): a trap's time is its arrival, not its decoding
        self._pending: collections.deque[tuple[bytes, tuple[str, int], float]] = collections.deque()
        self._arrived = 0.0
        self._taken: list[Trap] | None = None
        self.received = 0
        self.dropped = 0  # received but refused by the consumer
        self.overflow = 0  # read in pull mode while `max_pending` were waiting: lost
        self.malformed = 0
        self.rejected = 0
        self.granted_buffer = 0
        self._inode = 0

    @property
    def pending(self) -> int:
        """Datagrams read and not yet taken (pull mode)."""
        return len(self._pending)

    def take(self, limit: int) -> list[Trap]:
        """Decode up to `limit` waiting datagrams; the traps among them (pull mode)."""
        out: list[Trap] = []
        self._taken = out
        try:
            for _ in range(min(limit, len(self._pending))):
                self._one(*self._pending.popleft())
        finally:
            self._taken = None
        return out

    def __repr__(self) -> str:
        return f"TrapReceiver({self.address}:{self.port})"

    @property
    def bound_port(self) -> int:
        """The port actually bound (useful when asked for port 0)."""
        if self._sock is None:
            raise RuntimeError("not started")
        port: int = self._sock.getsockname()[1]
        return port

    def senders(self, limit: int = 20) -> dict[str, dict[str, int]]:
        """Malformed and rejected counts of the senders with the most, by address."""
        ranked = sorted(self._senders.items(), key=lambda kv: -(kv[1].malformed + kv[1].rejected))
        return {
            address: {"malformed": s.malformed, "rejected": s.rejected}
            for address, s in ranked[:limit]
        }

    def kernel_drops(self) -> int | None:
        """Datagrams the kernel dropped for this socket (its receive queue was full),
        from the `drops` column of /proc/net/udp; None where that cannot be read."""
        if self._sock is None:
            return None
        try:
            with Path("/proc/net/udp").open(encoding="ascii") as table:
                for line in table:
                    fields = line.split()
                    if len(fields) > 12 and fields[9] == str(self._inode):
                        return int(fields[12])
        except (OSError, ValueError):
            pass
        return None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
            sock.bind((self.address, self.port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise OSError(
                exc.errno, f"cannot listen for traps on {self.address}:{self.port}: {exc.strerror}"
            ) from None
        engine = snmp_engine.SnmpEngine()
        transport = _SocketTransport(sock)
        try:
            snmp_config.add_transport(engine, udp.DOMAIN_NAME, transport)
            for user in self._users:
                self._add_user(engine, user)
            receiver = ntfrcv.NotificationReceiver(engine, self._received)
            asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        except BaseException:
            # Bound but not listening: give the port back now, not at the retry
            # (a new receiver, or the next lease holder, must be able to bind it).
            with contextlib.suppress(Exception):
                engine.close_dispatcher()
            sock.close()
            raise
        self._sock, self._transport = sock, transport
        self._engine, self._receiver = engine, receiver
        self._inode = os.fstat(sock.fileno()).st_ino
        # Linux doubles what it grants (its bookkeeping) and caps it at net.core.rmem_max.
        self.granted_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        if self.granted_buffer < self.receive_buffer:
            log.warning(
                "trap receiver: the kernel granted a %d-byte receive buffer of the %d asked "
                "([traps] receive_buffer); raise net.core.rmem_max to allow more",
                self.granted_buffer, self.receive_buffer,
            )  # fmt: skip

    @staticmethod
    def _add_user(engine: Any, user: TrapUser) -> None:
        """The user under both engine ids a notification may be authenticated with.

        A trap's authoritative engine is its sender (RFC 3414), so its keys are
        localized with the sender's engine id (`engine_id`); an inform's is the
        receiver, whose engine id the sender discovers first. One entry thus
        serves both, as the same device may send either.
        """
        engine_ids: list[Any] = [None]  # None: the receiver's own
        if user.engine_id:
            engine_ids.append(rfc1902.OctetString(hexValue=user.engine_id.removeprefix("0x")))
        for engine_id in engine_ids:
            options = {} if engine_id is None else {"securityEngineId": engine_id}
            snmp_config.add_v3_user(
                engine,
                user.user,
                AUTH_PROTOCOLS[user.auth_protocol.lower()],
                user.auth_key or None,
                PRIV_PROTOCOLS[user.priv_protocol.lower()],
                user.priv_key or None,
                **options,
            )

    async def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(sock.fileno())
        if self._engine is not None:
            if self._receiver is not None:
                self._receiver.close(self._engine)
            self._engine.close_dispatcher()
            self._engine = self._receiver = self._transport = None
        if sock is not None:
            sock.close()

    # -- receiving --------------------------------------------------------------

    def _readable(self) -> None:
        """Drain what the socket holds, a bounded batch at a time. Never raises:
        an exception here would reach asyncio's default handler."""
        sock = self._sock
        if sock is None:
            return
        for _ in range(READ_BATCH):
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. an ICMP error for an answer sent earlier
                log.debug("trap receiver: %s", exc)
                continue
            if self.on_trap is not None:
                self._one(data, addr, time.time())
            elif len(self._pending) < self.max_pending:
                self._pending.append((data, addr, time.time()))
            else:
                self.overflow += 1
        if self._pending and self.on_pending is not None:
            try:
                self.on_pending()
            except Exception as exc:  # the consumer's fault: it will take them later
                log.warning("trap receiver: consumer not woken: %s", exc)

    def _one(self, data: bytes, addr: tuple[str, int], at: float) -> None:
        try:
            self.datagram(data, addr, at)
        except Exception as exc:  # a bug of ours, found by a sender: counted, paced
            log.debug("trap receiver: %s for a datagram from %s", type(exc).__name__, addr[0])
            self._count(str(addr[0]), "malformed")

    def datagram(self, data: bytes, addr: tuple[str, int], at: float | None = None) -> None:
        """One datagram as it arrived from `addr` at `at` (epoch seconds; now if None)."""
        self._arrived = time.time() if at is None else at
        sender = str(addr[0])
        try:
            version = trap_wire.message_version(data)
            if version == 3:
                trap_wire.check_v3(data)
            elif version in (0, 1):
                notification = trap_wire.decode_notification(data)
            else:
                raise trap_wire.Malformed("unknown version")
        except trap_wire.Malformed:
            self._count(sender, "malformed")
            return
        if version == 3:
            self._v3(data, addr, sender)
            return
        self._community(notification, addr, sender)

    def _community(
        self, notification: trap_wire.Notification, addr: tuple[str, int], sender: str
    ) -> None:
        index = self._communities.get(notification.community)
        if index is None or notification.pdu_type not in (
            trap_wire.TRAP_V1, trap_wire.TRAP_V2, trap_wire.INFORM,
        ):  # fmt: skip
            self._count(sender, "rejected")
            return
        if notification.pdu_type == trap_wire.INFORM and self._sock is not None:
            with contextlib.suppress(OSError):  # unacknowledged, the sender retries
                self._sock.sendto(trap_wire.inform_response(notification), addr)
        plain = tuple(vb for vb in notification.varbinds if vb[0] != SNMP_TRAP_COMMUNITY)
        self._deliver(
            Trap(
                at=self._arrived,
                address=sender,
                port=int(addr[1]),
                version="1" if notification.version == 0 else "2c",
                security_name=f"community-{index}",
                trap_oid=next((v for n, v in plain if n == SNMP_TRAP_OID), ""),
                varbinds=plain,
            )
        )

    def _v3(self, data: bytes, addr: tuple[str, int], sender: str) -> None:
        transport = self._transport
        if transport is None or transport.deliver is None:
            return
        address = udp.UdpTransportAddress(addr).set_local_address(transport.local)
        try:
            transport.deliver(transport, address, data)
        except Exception:  # pysnmp could not take it apart: junk, whatever it says
            self._count(sender, "malformed")

    def _count(self, sender: str, kind: str) -> None:
        counts = self._senders.get(sender)
        if counts is None:
            if len(self._senders) >= MAX_SENDERS:
                sender = OTHER_SENDERS
            counts = self._senders.setdefault(sender, _Sender())
        if kind == "malformed":
            self.malformed += 1
            counts.malformed += 1
            total = counts.malformed
        else:
            self.rejected += 1
            counts.rejected += 1
            total = counts.rejected
        now = self._clock()
        key = (sender, kind)
        last = self._logged.get(key)
        if last is not None and now - last < LOG_EVERY_S:
            return
        if len(self._logged) >= 2 * MAX_SENDERS:  # forget senders quiet for a minute
            self._logged = {k: t for k, t in self._logged.items() if now - t < LOG_EVERY_S}
        self._logged[key] = now
        what = "malformed datagrams" if kind == "malformed" else "datagrams refused (unknown "
        what += "" if kind == "malformed" else "community or not a notification)"
        log.warning("trap receiver: %s from %s (%d so far; logged once a minute per sender)",
                    what, sender, total)  # fmt: skip

    def _deliver(self, trap: Trap) -> None:
        self.received += 1
        if self._taken is not None:
            self._taken.append(trap)
            return
        if self.on_trap is None:
            return
        try:
            self.on_trap(trap)
        except Exception as exc:  # a consumer's fault must not stop the receiver
            self.dropped += 1
            log.warning("trap from %s could not be handled: %s", trap.address, exc)

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
        self._deliver(
            Trap(
                at=self._arrived,
                address=str(address),
                port=int(port),
                version=_VERSIONS.get(int(context["securityModel"]), "?"),
                security_name=str(context["securityName"]),
                trap_oid=next((v for n, v in plain if n == SNMP_TRAP_OID), ""),
                varbinds=plain,
            )
        )
