"""Notifications on the wire: a strict BER reader for what arrives on the trap port.

The trap port is open to anyone who can send a UDP datagram, so everything here
assumes hostile input: each TLV is bounded by its parent, every type's body has
a size limit (INTEGER and the 32-bit types at most 5 bytes, Counter64 at most 9,
IpAddress exactly 4, a sub-identifier at most 5 bytes and an OID at most 128 of
them), nothing recurses, and the only exception a malformed datagram raises is
`Malformed`. Its message names what was wrong and never quotes the datagram.

SNMPv1 and v2c notifications are decoded here in full (pysnmp's generic pyasn1
path costs about ten times as much per trap); an SNMPv1 trap is converted as
RFC 3584 says. SNMPv3 messages are only checked for a well-formed outer
structure here and are then left to pysnmp, which holds the USM keys.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "INFORM",
    "TRAP_V1",
    "TRAP_V2",
    "Malformed",
    "Notification",
    "check_v3",
    "decode_notification",
    "inform_response",
    "message_version",
]

TRAP_V1, INFORM, TRAP_V2, RESPONSE = 0xA4, 0xA6, 0xA7, 0xA2
_SEQUENCE, _INTEGER, _OCTETS, _NULL, _OID = 0x30, 0x02, 0x04, 0x05, 0x06
_IP, _COUNTER32, _GAUGE32, _TIMETICKS, _OPAQUE, _COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
_NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB = 0x80, 0x81, 0x82
_EMPTY = frozenset({_NULL, _NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB})
_UNSIGNED32 = frozenset({_COUNTER32, _GAUGE32, _TIMETICKS})

MAX_SUBIDS = 128
MAX_VARBINDS = 64  # decoded per notification; the rest is skipped (evidence, not a dump)
MAX_VALUE = 512  # characters per varbind value

SYS_UPTIME_0 = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID_0 = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ADDRESS_0 = "1.3.6.1.6.3.18.1.3.0"
SNMP_TRAP_ENTERPRISE_0 = "1.3.6.1.6.3.1.1.4.3.0"
_GENERIC_TRAPS = "1.3.6.1.6.3.1.1.5"


class Malformed(ValueError):
    """Not a well-formed SNMP message (the reason, never the bytes)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """A decoded v1/v2c message: its community, PDU type and varbinds as text.

    An SNMPv1 trap is already converted to the v2 form (snmpTrapOID.0 first
    after sysUpTime.0, then snmpTrapAddress.0 and snmpTrapEnterprise.0, RFC 3584).
    """

    version: int  # 0 = v1, 1 = v2c
    community: bytes
    pdu_type: int
    request_id: int
    varbinds: tuple[tuple[str, str], ...]
    varbind_list: bytes  # the raw varbind list, echoed in an inform's response

    def __repr__(self) -> str:  # the community never appears in a repr
        return f"Notification(v{self.version}, pdu={self.pdu_type:#x}, {len(self.varbinds)} vbs)"


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the TLV at `pos`, inside `end`."""
    if pos + 2 > end:
        raise Malformed("truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise Malformed("multi-byte tag")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 3 or pos + count > end:
            raise Malformed("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise Malformed("truncated")
    return tag, pos, pos + length


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    got, start, stop = _header(data, pos, end)
    if got != tag:
        raise Malformed(f"{what}: unexpected tag {got:#x}")
    return start, stop


def _integer(data: bytes, start: int, stop: int) -> int:
    if not 0 < stop - start <= 5:
        raise Malformed("INTEGER size")
    return int.from_bytes(data[start:stop], "big", signed=True)


def _unsigned(data: bytes, start: int, stop: int, limit: int) -> int:
    if not 0 < stop - start <= limit:
        raise Malformed("unsigned size")
    value = int.from_bytes(data[start:stop], "big")
    if value >= 1 << (8 * (limit - 1)):
        raise Malformed("unsigned out of range")
    return value


_OID_CACHE: dict[bytes, str] = {}  # the same OIDs arrive over and over (sysUpTime.0, ...)
OID_CACHE_SIZE = 4096


def _oid(data: bytes, start: int, stop: int) -> str:
    body = data[start:stop]
    text = _OID_CACHE.get(body)
    if text is None:
        text = _decode_oid(body)
        if len(_OID_CACHE) >= OID_CACHE_SIZE:
            _OID_CACHE.clear()  # a flood of distinct OIDs: start again rather than grow
        _OID_CACHE[body] = text
    return text


def _decode_oid(body: bytes) -> str:
    if not body:
        raise Malformed("empty OID")
    if max(body) < 0x80:  # every sub-identifier a single byte: the common case
        if len(body) > MAX_SUBIDS:
            raise Malformed("OID too long")
        arcs = list(body)
    else:
        arcs = []
        value = size = 0
        for byte in body:
            value = (value << 7) | (byte & 0x7F)
            size += 1
            if byte & 0x80:
                if size >= 5:
                    raise Malformed("sub-identifier too long")
                continue
            if value > 0xFFFFFFFF:
                raise Malformed("sub-identifier too large")
            arcs.append(value)
            if len(arcs) > MAX_SUBIDS:
                raise Malformed("OID too long")
            value = size = 0
        if size:
            raise Malformed("unterminated OID")
    first = arcs[0]
    head = f"0.{first}" if first < 40 else f"1.{first - 40}" if first < 80 else f"2.{first - 80}"
    if len(arcs) == 1:
        return head
    return head + "." + ".".join(map(str, arcs[1:]))


def _text(raw: bytes) -> str:
    return raw[: MAX_VALUE * 4].decode("utf-8", errors="replace")[:MAX_VALUE]


def _value(data: bytes, tag: int, start: int, stop: int) -> str:
    if tag == _INTEGER:
        return str(_integer(data, start, stop))
    if tag in _UNSIGNED32:
        return str(_unsigned(data, start, stop, 5))
    if tag in (_OCTETS, _OPAQUE):
        return _text(data[start:stop])
    if tag == _OID:
        return _oid(data, start, stop)
    if tag == _IP:
        if stop - start != 4:
            raise Malformed("IpAddress size")
        return ".".join(str(b) for b in data[start:stop])
    if tag == _COUNTER64:
        return str(_unsigned(data, start, stop, 9))
    if tag in _EMPTY:
        if stop != start:
            raise Malformed("non-empty NULL")
        return ""
    raise Malformed(f"unknown value type {tag:#x}")


def _varbinds(data: bytes, pos: int, end: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    while pos < end:
        inner, pos = _expect(data, pos, end, _SEQUENCE, "varbind")
        if len(out) >= MAX_VARBINDS:
            continue  # framed, kept no further
        start, stop = _expect(data, inner, pos, _OID, "varbind name")
        name = _oid(data, start, stop)
        tag, start, stop = _header(data, stop, pos)
        if stop != pos:
            raise Malformed("varbind trailer")
        out.append((name, _value(data, tag, start, stop)))
    return out


def message_version(data: bytes) -> int:
    """The msgVersion of a message (0 v1, 1 v2c, 3 v3) from its outer header."""
    start, end = _expect(data, 0, len(data), _SEQUENCE, "message")
    if end != len(data):
        raise Malformed("trailing bytes")
    start, stop = _expect(data, start, end, _INTEGER, "version")
    return _integer(data, start, stop)


def decode_notification(data: bytes) -> Notification:
    """A v1/v2c message decoded; `Malformed` for anything not well formed."""
    pos, end = _expect(data, 0, len(data), _SEQUENCE, "message")
    if end != len(data):
        raise Malformed("trailing bytes")
    start, pos = _expect(data, pos, end, _INTEGER, "version")
    version = _integer(data, start, pos)
    if version not in (0, 1):
        raise Malformed("not v1 or v2c")
    start, pos = _expect(data, pos, end, _OCTETS, "community")
    community = data[start:pos]
    pdu_type, pos, pdu_end = _header(data, pos, end)
    if pdu_end != end:
        raise Malformed("PDU trailer")
    if pdu_type == TRAP_V1:
        return _v1_trap(data, community, pos, pdu_end)
    numbers = []
    for _ in range(3):
        start, pos = _expect(data, pos, pdu_end, _INTEGER, "PDU header")
        numbers.append(_integer(data, start, pos))
    list_start = pos
    pos, list_end = _expect(data, pos, pdu_end, _SEQUENCE, "varbind list")
    if list_end != pdu_end:
        raise Malformed("PDU trailer")
    varbinds = _varbinds(data, pos, list_end)
    return Notification(
        version, community, pdu_type, numbers[0], tuple(varbinds), data[list_start:list_end]
    )


def _v1_trap(data: bytes, community: bytes, pos: int, end: int) -> Notification:
    start, pos = _expect(data, pos, end, _OID, "enterprise")
    enterprise = _oid(data, start, pos)
    start, pos = _expect(data, pos, end, _IP, "agent-addr")
    agent = _value(data, _IP, start, pos)
    start, pos = _expect(data, pos, end, _INTEGER, "generic-trap")
    generic = _integer(data, start, pos)
    start, pos = _expect(data, pos, end, _INTEGER, "specific-trap")
    specific = _integer(data, start, pos)
    start, pos = _expect(data, pos, end, _TIMETICKS, "time-stamp")
    uptime = _value(data, _TIMETICKS, start, pos)
    pos, list_end = _expect(data, pos, end, _SEQUENCE, "varbind list")
    if list_end != end:
        raise Malformed("PDU trailer")
    if generic == 6:
        trap_oid = f"{enterprise}.0.{specific}"
    elif 0 <= generic < 6:
        trap_oid = f"{_GENERIC_TRAPS}.{generic + 1}"
    else:
        raise Malformed("generic-trap out of range")
    head = [
        (SYS_UPTIME_0, uptime),
        (SNMP_TRAP_OID_0, trap_oid),
        (SNMP_TRAP_ADDRESS_0, agent),
        (SNMP_TRAP_ENTERPRISE_0, enterprise),
    ]
    return Notification(0, community, TRAP_V1, 0, (*head, *_varbinds(data, pos, list_end)), b"")


def check_v3(data: bytes) -> None:
    """Raise `Malformed` unless `data` has the outer shape of an SNMPv3 message (RFC 3412)."""
    pos, end = _expect(data, 0, len(data), _SEQUENCE, "message")
    if end != len(data):
        raise Malformed("trailing bytes")
    start, pos = _expect(data, pos, end, _INTEGER, "version")
    if _integer(data, start, pos) != 3:
        raise Malformed("not v3")
    inner, pos = _expect(data, pos, end, _SEQUENCE, "msgGlobalData")
    for what in ("msgID", "msgMaxSize"):
        start, inner = _expect(data, inner, pos, _INTEGER, what)
        _integer(data, start, inner)
    start, inner = _expect(data, inner, pos, _OCTETS, "msgFlags")
    if inner - start != 1:
        raise Malformed("msgFlags size")
    start, inner = _expect(data, inner, pos, _INTEGER, "msgSecurityModel")
    _integer(data, start, inner)
    if inner != pos:
        raise Malformed("msgGlobalData trailer")
    _, pos = _expect(data, pos, end, _OCTETS, "msgSecurityParameters")
    tag, _, pos = _header(data, pos, end)
    if tag not in (_SEQUENCE, _OCTETS) or pos != end:
        raise Malformed("msgData")


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _int_tlv(value: int) -> bytes:
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return _tlv(_INTEGER, value.to_bytes(size, "big", signed=True))


def inform_response(inform: Notification) -> bytes:
    """The Response that acknowledges a v2c inform: same request id, same varbinds."""
    pdu = _tlv(
        RESPONSE, _int_tlv(inform.request_id) + _int_tlv(0) + _int_tlv(0) + inform.varbind_list
    )
    return _tlv(_SEQUENCE, _int_tlv(inform.version) + _tlv(_OCTETS, inform.community) + pdu)
