"""SNMPv1/v2c on the wire without pysnmp's engine: BER encode, decode, one UDP socket.

pysnmp spends most of a v1/v2c poll resolving request OIDs through its MIB
view and decoding responses through pyasn1's generic machinery (about 200 ms
of CPU for a 48-port switch here). A community message is simple enough to
read directly: SEQUENCE { version, community, PDU { request-id, error-status,
error-index, varbinds } }. This module does only that, for GET, GETNEXT and
GETBULK and their responses; SNMPv3 (USM, keys, engine discovery) stays with
pysnmp.

Every device on an event loop shares one IPv4 socket; answers are matched to
requests by request id and the sender's address, and a datagram that does not
decode, does not match, or carries another community is dropped, as a garbage
answer should be: the request then simply times out.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import socket
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "END_OF_MIB",
    "BerError",
    "Response",
    "WireTimeout",
    "WireValue",
    "close_wire",
    "decode_message",
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
# int for INTEGER and the counters, str for OCTET STRING (undecodable bytes
# replaced), IpAddress and OID (dotted); None for "not there" and NULL.
WireValue = int | str | None | _EndOfMib


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


def _decode_oid(body: bytes) -> Oid:
    if not body:
        raise BerError("empty OID")
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if body[-1] & 0x80:
        raise BerError("unterminated OID")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _value(tag: int, body: bytes) -> WireValue:
    if tag == _INTEGER:
        return int.from_bytes(body, "big", signed=True)
    if tag in _UNSIGNED:
        return int.from_bytes(body, "big", signed=False)
    if tag in (_OCTETS, _OPAQUE):
        return body.decode("utf-8", errors="replace")
    if tag == _OID:
        return ".".join(map(str, _decode_oid(body)))
    if tag == _IP:
        return ".".join(str(b) for b in body)
    if tag == _END_OF_MIB:
        return END_OF_MIB
    if tag in (_NULL, _NO_SUCH_OBJECT, _NO_SUCH_INSTANCE):
        return None
    return body.decode("utf-8", errors="replace")  # an unknown application type: as text


@dataclass(frozen=True, slots=True)
class Response:
    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, WireValue]]


def decode_message(data: bytes) -> Response:
    """Decode one community message; raise BerError for anything malformed."""
    end = len(data)
    tag, pos, end = _header(data, 0, end)
    if tag != _SEQUENCE:
        raise BerError("not a SEQUENCE")
    tag, start, stop = _header(data, pos, end)
    if tag != _INTEGER:
        raise BerError("no version")
    version = int.from_bytes(data[start:stop], "big", signed=True)
    tag, start, stop = _header(data, stop, end)
    if tag != _OCTETS:
        raise BerError("no community")
    community = data[start:stop]
    pdu_type, pos, pdu_end = _header(data, stop, end)
    numbers = []
    for _ in range(3):
        tag, start, pos = _header(data, pos, pdu_end)
        if tag != _INTEGER:
            raise BerError("bad PDU header")
        numbers.append(int.from_bytes(data[start:pos], "big", signed=True))
    tag, pos, list_end = _header(data, pos, pdu_end)
    if tag != _SEQUENCE:
        raise BerError("no varbind list")
    varbinds: list[tuple[Oid, WireValue]] = []
    while pos < list_end:
        tag, inner, pos = _header(data, pos, list_end)
        if tag != _SEQUENCE:
            raise BerError("bad varbind")
        tag, start, stop = _header(data, inner, pos)
        if tag != _OID:
            raise BerError("varbind without OID")
        name = _decode_oid(data[start:stop])
        tag, start, stop = _header(data, stop, pos)
        varbinds.append((name, _value(tag, data[start:stop])))
    return Response(version, community, pdu_type, numbers[0], numbers[1], numbers[2], varbinds)


# --- the socket ----------------------------------------------------------------


class Wire(asyncio.DatagramProtocol):
    """One UDP socket for every v1/v2c device on a loop; answers found by request id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, tuple[tuple[str, int], bytes, asyncio.Future[Response]]] = {}
        self._ids = itertools.count(random.randrange(1, 2**30))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            response = decode_message(data)
        except (BerError, IndexError, ValueError):
            log.debug("dropped a malformed datagram from %s", addr[0])
            return
        waiting = self._pending.get(response.request_id)
        if waiting is None:
            return  # late, or not ours
        peer, community, future = waiting
        if (
            tuple(addr[:2]) != peer
            or response.community != community
            or response.pdu_type != RESPONSE
            or future.done()
        ):
            return
        future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the request will time out and retry.
        log.debug("SNMP socket error: %s", exc)

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
        """Send and wait; resend up to `tries` times; raise WireTimeout if none answers."""
        if self.transport is None:
            raise ConnectionError("SNMP socket closed")
        request_id = next(self._ids) & 0x7FFFFFFF
        data = encode_request(
            version, community, pdu_type, request_id, oids, max_repetitions=max_repetitions
        )
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (peer, community, future)
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
            self._pending.pop(request_id, None)
            if not future.done():
                future.cancel()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


_wires: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[Wire]] = (
    weakref.WeakKeyDictionary()
)


async def shared_wire() -> Wire:
    """The running loop's socket, opened on first use."""
    loop = asyncio.get_running_loop()
    opening = _wires.get(loop)
    if opening is None:
        opening = _wires[loop] = loop.create_future()
        try:
            _, protocol = await loop.create_datagram_endpoint(
                Wire, local_addr=("0.0.0.0", 0), family=socket.AF_INET
            )
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
