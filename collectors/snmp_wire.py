"""SNMPv1/v2c on the wire without pysnmp's engine: BER encode, decode, one UDP socket.

pysnmp spends most of a v1/v2c poll resolving request OIDs through its MIB
view and decoding responses through pyasn1's generic machinery (about 200 ms
of CPU for a 48-port switch here). A community message is simple enough to
read directly: SEQUENCE { version, community, PDU { request-id, error-status,
error-index, varbinds } }. This module does only that, for GET, GETNEXT and
GETBULK and their responses; SNMPv3 (USM, keys, engine discovery) stays with
pysnmp.

Every device on an event loop shares one IPv4 socket, open to any sender.
Answers are matched to requests by the sender's address and the outer header
(request id, version, community) before their varbinds are decoded; a datagram
that does not match is dropped (the request then simply times out), and a
matched answer that is malformed fails its request with BerError. Decoding is
linear in the datagram's size and every value is bounded by its SNMP type.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "END_OF_MIB",
    "BerError",
    "Header",
    "Response",
    "WireTimeout",
    "WireValue",
    "close_wire",
    "decode_header",
    "decode_message",
    "decode_varbinds",
    "encode_request",
    "shared_wire",
]

log = logging.getLogger(__name__)

Oid = tuple[int, ...]

GET, GET_NEXT, RESPONSE, GET_BULK = 0xA0, 0xA1, 0xA2, 0xA5
_SEQUENCE, _INTEGER, _OCTETS, _NULL, _OID = 0x30, 0x02, 0x04, 0x05, 0x06
_IP, _COUNTER32, _GAUGE32, _TIMETICKS, _OPAQUE, _COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
_NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB = 0x80, 0x81, 0x82
_UNSIGNED = frozenset({_COUNTER32, _GAUGE32, _TIMETICKS, _COUNTER64})


class _EndOfMib:
    """endOfMibView: the agent has nothing after the asked OID."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "END_OF_MIB"


END_OF_MIB = _EndOfMib()
# int for INTEGER and the counters; bytes for OCTET STRING, Opaque and other
# application types, as sent (what they mean as text is for the caller to say);
# str for IpAddress and OID (dotted); None for "not there" and NULL.
WireValue = int | bytes | str | None | _EndOfMib


class BerError(ValueError):
    """A datagram that is not a well-formed SNMP message."""


class WireTimeout(TimeoutError):
    """No matching answer within timeout x tries."""


# --- encoding ------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return _tlv(_INTEGER, value.to_bytes(size, "big", signed=True))


def _oid(value: Oid) -> bytes:
    if len(value) < 2 or value[0] > 2 or (value[0] < 2 and value[1] >= 40):
        raise ValueError(f"not an encodable OID: {value}")
    out = bytearray()
    for arc in (value[0] * 40 + value[1], *value[2:]):
        if arc < 0:
            raise ValueError(f"not an encodable OID: {value}")
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _tlv(_OID, bytes(out))


_NULL_TLV = bytes((_NULL, 0))


def encode_request(
    version: int,
    community: bytes,
    pdu_type: int,
    request_id: int,
    oids: Sequence[Oid],
    *,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A GET / GETNEXT / GETBULK message (version 0 = v1, 1 = v2c)."""
    varbinds = b"".join(_tlv(_SEQUENCE, _oid(o) + _NULL_TLV) for o in oids)
    if pdu_type == GET_BULK:
        middle = _integer(non_repeaters) + _integer(max_repetitions)
    else:
        middle = _integer(0) + _integer(0)
    pdu = _tlv(pdu_type, _integer(request_id) + middle + _tlv(_SEQUENCE, varbinds))
    return _tlv(_SEQUENCE, _integer(version) + _tlv(_OCTETS, community) + pdu)


# --- decoding ------------------------------------------------------------------
#
# Every limit below is a property of SNMP itself (RFC 2578, RFC 3416), applied
# before any value is built: the work a datagram can cause is then linear in its
# size and no value reaches a caller outside its type's range. Anything else is
# a BerError, never another exception.

MAX_SUBID_BYTES = 5  # 35 bits hold the largest sub-identifier, 2**32 - 1
MAX_OID_ARCS = 128  # RFC 2578 3.5
_INT_BYTES = {_INTEGER: 5, _COUNTER32: 5, _GAUGE32: 5, _TIMETICKS: 5, _COUNTER64: 9}
_INT_RANGE = {
    _INTEGER: (-(2**31), 2**31 - 1),
    _COUNTER32: (0, 2**32 - 1),
    _GAUGE32: (0, 2**32 - 1),
    _TIMETICKS: (0, 2**32 - 1),
    _COUNTER64: (0, 2**64 - 1),
}
_TYPE_NAME = {
    _INTEGER: "INTEGER",
    _COUNTER32: "Counter32",
    _GAUGE32: "Gauge32",
    _TIMETICKS: "TimeTicks",
    _COUNTER64: "Counter64",
}


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the TLV at `pos`."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise BerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise BerError("truncated")
    return tag, pos, pos + length


def _number(data: bytes, start: int, stop: int, tag: int = _INTEGER) -> int:
    """An INTEGER-encoded value of `tag`'s type, its length and range checked."""
    size = stop - start
    if size == 0 or size > _INT_BYTES[tag]:
        raise BerError(f"{_TYPE_NAME[tag]} of {size} bytes")
    if tag == _INTEGER:
        value = int.from_bytes(data[start:stop], "big", signed=True)
    else:
        # Unsigned types are read without a sign bit: agents that send 2**32 - 1 as
        # four 0xff bytes mean that value, not -1.
        value = int.from_bytes(data[start:stop], "big")
    low, high = _INT_RANGE[tag]
    if not low <= value <= high:
        raise BerError(f"{_TYPE_NAME[tag]} out of range")
    return value


def _decode_oid(data: bytes, start: int, stop: int) -> Oid:
    if start == stop:
        raise BerError("empty OID")
    if stop - start > MAX_OID_ARCS * MAX_SUBID_BYTES:
        raise BerError("OID too long")
    arcs: list[int] = []
    value = width = 0
    for byte in data[start:stop]:
        if byte & 0x80:
            if width == 0 and byte == 0x80:
                raise BerError("OID sub-identifier with a leading zero")
            width += 1
            if width == MAX_SUBID_BYTES:
                raise BerError("OID sub-identifier too long")
            value = (value << 7) | (byte & 0x7F)
        else:
            value = (value << 7) | byte
            if value > 0xFFFFFFFF:
                raise BerError("OID sub-identifier out of range")
            arcs.append(value)
            value = width = 0
    if width:
        raise BerError("unterminated OID")
    if len(arcs) >= MAX_OID_ARCS:  # the first sub-identifier holds two arcs
        raise BerError("OID too long")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _value(tag: int, data: bytes, start: int, stop: int) -> WireValue:
    if tag in _INT_BYTES:
        return _number(data, start, stop, tag)
    if tag in (_OCTETS, _OPAQUE):
        return data[start:stop]
    if tag == _OID:
        return ".".join(map(str, _decode_oid(data, start, stop)))
    if tag == _IP:
        if stop - start != 4:
            raise BerError("IpAddress not of 4 bytes")
        return ".".join(map(str, data[start:stop]))
    if tag in (_NULL, _NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB):
        if stop != start:
            raise BerError("NULL with a body")
        return END_OF_MIB if tag == _END_OF_MIB else None
    if tag & 0xE0 == 0x40 and tag & 0x1F != 0x1F:
        return data[start:stop]  # another primitive application type: its bytes
    raise BerError("not an SNMP value type")


@dataclass(frozen=True, slots=True)
class Header:
    """A message up to its varbind list: all that is needed to match it to a request."""

    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds_start: int  # the varbind list's contents, in the datagram
    varbinds_end: int


@dataclass(frozen=True, slots=True)
class Response:
    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, WireValue]]


def decode_header(data: bytes) -> Header:
    """The outer message and PDU header; costs the same whatever the varbinds hold."""
    tag, pos, end = _header(data, 0, len(data))
    if tag != _SEQUENCE or end != len(data):
        raise BerError("not one SEQUENCE")
    tag, start, stop = _header(data, pos, end)
    if tag != _INTEGER:
        raise BerError("no version")
    version = _number(data, start, stop)
    tag, start, stop = _header(data, stop, end)
    if tag != _OCTETS:
        raise BerError("no community")
    community = data[start:stop]
    pdu_type, pos, pdu_end = _header(data, stop, end)
    if pdu_end != end:
        raise BerError("bytes after the PDU")
    numbers = []
    for _ in range(3):
        tag, start, pos = _header(data, pos, pdu_end)
        if tag != _INTEGER:
            raise BerError("bad PDU header")
        numbers.append(_number(data, start, pos))
    request_id, error_status, error_index = numbers
    tag, pos, list_end = _header(data, pos, pdu_end)
    if tag != _SEQUENCE or list_end != pdu_end:
        raise BerError("no varbind list")
    return Header(
        version, community, pdu_type, request_id, error_status, error_index, pos, list_end
    )


def decode_varbinds(data: bytes, header: Header) -> list[tuple[Oid, WireValue]]:
    """The varbinds of a message whose header has been matched to a request."""
    pos, list_end = header.varbinds_start, header.varbinds_end
    varbinds: list[tuple[Oid, WireValue]] = []
    while pos < list_end:
        tag, inner, pos = _header(data, pos, list_end)
        if tag != _SEQUENCE:
            raise BerError("bad varbind")
        tag, start, stop = _header(data, inner, pos)
        if tag != _OID:
            raise BerError("varbind without OID")
        name = _decode_oid(data, start, stop)
        tag, start, stop = _header(data, stop, pos)
        if stop != pos:
            raise BerError("bytes after a varbind's value")
        varbinds.append((name, _value(tag, data, start, stop)))
    return varbinds


def decode_message(data: bytes) -> Response:
    """Decode one community message; raise BerError (only) for anything malformed."""
    h = decode_header(data)
    varbinds = decode_varbinds(data, h)
    return Response(
        h.version, h.community, h.pdu_type, h.request_id, h.error_status, h.error_index, varbinds
    )


# --- the socket ----------------------------------------------------------------


@dataclass(slots=True)
class _Pending:
    peer: tuple[str, int]
    version: int
    community: bytes
    future: asyncio.Future[Response]


class Wire(asyncio.DatagramProtocol):
    """One UDP socket for every v1/v2c device on a loop; answers found by request id.

    The socket takes datagrams from anyone, so a datagram is looked at in order of
    cost: its sender must be a device with a request outstanding, then its header
    must match that request (id, version, community, a Response PDU), and only
    then are its varbinds decoded. Whatever fails before the match is dropped and
    counted in `dropped`; a matched answer that does not decode fails its request
    with the BerError, which names no byte of it.
    """

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, _Pending] = {}
        self._peers: dict[tuple[str, int], int] = {}  # requests outstanding per peer
        self.dropped = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        peer = (addr[0], addr[1])
        if peer not in self._peers:
            self.dropped += 1
            return
        try:
            head = decode_header(data)
        except BerError:
            self.dropped += 1
            return
        waiting = self._pending.get(head.request_id)
        if (
            waiting is None  # late, or not ours
            or waiting.peer != peer
            or head.version != waiting.version
            or head.community != waiting.community
            or head.pdu_type != RESPONSE
            or waiting.future.done()
        ):
            self.dropped += 1
            return
        try:
            varbinds = decode_varbinds(data, head)
        except BerError as exc:
            waiting.future.set_exception(exc)
            return
        waiting.future.set_result(
            Response(
                head.version,
                head.community,
                head.pdu_type,
                head.request_id,
                head.error_status,
                head.error_index,
                varbinds,
            )
        )

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the request will time out and retry.
        log.debug("SNMP socket error: %s", exc)

    def _new_id(self) -> int:
        # Drawn afresh each time: a sequence would tell whoever sees one request the
        # ids of the next, halving what they must guess to spoof an answer.
        while True:
            request_id = secrets.randbelow(2**31)
            if request_id not in self._pending:
                return request_id

    async def request(
        self,
        peer: tuple[str, int],
        version: int,
        community: bytes,
        pdu_type: int,
        oids: Sequence[Oid],
        *,
        max_repetitions: int = 0,
        per_try: float,
        tries: int,
    ) -> Response:
        """Send and wait; resend up to `tries` times; raise WireTimeout if none answers,
        BerError if the answer is malformed."""
        if self.transport is None:
            raise ConnectionError("SNMP socket closed")
        request_id = self._new_id()
        data = encode_request(
            version, community, pdu_type, request_id, oids, max_repetitions=max_repetitions
        )
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _Pending(peer, version, community, future)
        self._peers[peer] = self._peers.get(peer, 0) + 1
        try:
            for _ in range(tries):
                self.transport.sendto(data, peer)
                try:
                    # shield: a late answer to an earlier try is as good as any
                    return await asyncio.wait_for(asyncio.shield(future), per_try)
                except TimeoutError:
                    continue
            raise WireTimeout(f"no response within {per_try:g} s x {tries} tries")
        finally:
            del self._pending[request_id]
            left = self._peers[peer] - 1
            if left:
                self._peers[peer] = left
            else:
                del self._peers[peer]
            if not future.done():
                future.cancel()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


_wires: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[Wire]] = (
    weakref.WeakKeyDictionary()
)


# Anyone can send to the socket, and a burst of junk (a hundred replies to one
# request, a few 65 KB datagrams) fills the kernel's default buffer (~200 KB)
# faster than the loop reads it: the real answers that arrive then are dropped
# and their devices time out. Junk is dropped cheaply once read, so what counts
# is room to hold it until then.
RECEIVE_BUFFER = 8 * 2**20


def _enlarge_receive_buffer(sock: socket.socket) -> None:
    """As large as allowed: past net.core.rmem_max where we may (SO_RCVBUFFORCE), else to it."""
    for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
        except OSError:
            continue
        return


async def shared_wire() -> Wire:
    """The running loop's socket, opened on first use."""
    loop = asyncio.get_running_loop()
    opening = _wires.get(loop)
    if opening is None:
        opening = _wires[loop] = loop.create_future()
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                Wire, local_addr=("0.0.0.0", 0), family=socket.AF_INET
            )
            _enlarge_receive_buffer(transport.get_extra_info("socket"))
        except BaseException as exc:
            del _wires[loop]
            opening.set_exception(exc)
            raise
        opening.set_result(protocol)
    return await asyncio.shield(opening)


def close_wire() -> None:
    loop = asyncio.get_running_loop()
    opening = _wires.pop(loop, None)
    if opening is not None and opening.done() and not opening.exception():
        opening.result().close()
