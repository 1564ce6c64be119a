"""Hostile SNMP agents for the tests: BER built by hand, and UDP servers that answer garbage.

Imported, it gives the BER builders (`tlv`, `integer`, `oid_body`, `message`, ...),
which can write what no real encoder would (over-long INTEGERs, 65 KB
sub-identifiers, 10 000 nested SEQUENCEs). Run as a program,

    python tests/snmp_garbage.py

it serves one agent of each kind in `KINDS` on 127.0.0.1 and prints one JSON
line, {kind: port}, once they are all bound; it runs until its stdin closes.
A separate process, so the garbage's own cost is not charged to the poller
under test: on a real network the hostile agent is another machine.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import sys
from dataclasses import dataclass

from pyasn1.codec.ber import decoder  # type: ignore[import-untyped]
from pysnmp.proto import api  # type: ignore[import-untyped]

__all__ = [
    "KINDS",
    "LATE_AFTER",
    "Request",
    "end_of_mib_answer",
    "integer",
    "message",
    "nested_sequences",
    "oid_body",
    "parse_request",
    "quick_request",
    "tlv",
    "varbind",
]

RESPONSE = 0xA2
LATE_AFTER = 1.5  # seconds: past the deadline the tests give these agents' targets


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + length(len(body)) + body


def integer(value: int, tag: int = 0x02, size: int | None = None) -> bytes:
    """An INTEGER-encoded TLV; `size` forces the body's length (sign-extended)."""
    if size is None:
        size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def oid_body(arcs: tuple[int, ...]) -> bytes:
    """BER contents of an OID, without any of the limits a decoder should apply."""
    out = bytearray()
    for arc in (arcs[0] * 40 + arcs[1], *arcs[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def varbind(name: bytes, value: bytes) -> bytes:
    """One varbind from an OID's contents and a whole value TLV."""
    return tlv(0x30, tlv(0x06, name) + value)


def message(
    request_id: int,
    varbinds: list[bytes],
    *,
    version: int = 1,
    community: bytes = b"public",
    pdu_type: int = RESPONSE,
) -> bytes:
    pdu = integer(request_id) + integer(0) + integer(0) + tlv(0x30, b"".join(varbinds))
    return tlv(0x30, integer(version) + tlv(0x04, community) + tlv(pdu_type, pdu))


def nested_sequences(depth: int) -> bytes:
    """`depth` SEQUENCEs, each holding only the next: built from the headers alone."""
    headers = []
    inner = 0  # the length of what the next SEQUENCE out holds
    for _ in range(depth):
        header = b"\x30" + length(inner)
        headers.append(header)
        inner += len(header)
    return b"".join(reversed(headers))


@dataclass(frozen=True)
class Request:
    version: int
    community: bytes
    request_id: int
    oids: list[tuple[int, ...]]


def parse_request(data: bytes) -> Request:
    """A request as pyasn1 reads it: the reference, not the decoder under test."""
    version = int(api.decodeMessageVersion(data))
    mod = api.PROTOCOL_MODULES[version]
    msg, _ = decoder.decode(data, asn1Spec=mod.Message())
    pdu = mod.apiMessage.get_pdu(msg)
    return Request(
        version,
        bytes(mod.apiMessage.get_community(msg)),
        int(mod.apiPDU.get_request_id(pdu)),
        [tuple(name) for name, _ in mod.apiPDU.get_varbinds(pdu)],
    )


def quick_request(data: bytes) -> Request:
    """What `parse_request` reads, for requests as the poller encodes them (short
    lengths, one-byte tags), at a fraction of pyasn1's cost."""

    def header(pos: int) -> tuple[int, int]:
        first = data[pos + 1]
        if first < 0x80:
            return pos + 2, first
        count = first & 0x7F
        return pos + 2 + count, int.from_bytes(data[pos + 2 : pos + 2 + count], "big")

    pos, _ = header(0)  # the message
    start, size = header(pos)
    version = int.from_bytes(data[start : start + size], "big", signed=True)
    start, size = header(start + size)
    community = data[start : start + size]
    pos, _ = header(start + size)  # the PDU
    start, size = header(pos)
    request_id = int.from_bytes(data[start : start + size], "big", signed=True)
    pos = start + size
    for _ in range(2):
        start, size = header(pos)
        pos = start + size
    pos, size = header(pos)  # the varbind list
    end, oids = pos + size, []
    while pos < end:
        inner, size = header(pos)
        start, oid_size = header(inner)
        oids.append(_arcs(data[start : start + oid_size]))
        pos = inner + size
    return Request(version, community, request_id, oids)


def _arcs(body: bytes) -> tuple[int, ...]:
    arcs, value = [], 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def end_of_mib_answer(request: Request, request_id: int | None = None) -> bytes:
    """A well-formed answer saying there is nothing: every OID asked, endOfMibView."""
    binds = [varbind(oid_body(o), b"\x82\x00") for o in request.oids]
    rid = request.request_id if request_id is None else request_id
    return message(rid, binds, version=request.version, community=request.community)


# --- the agents ------------------------------------------------------------------

_SUBID = b"\xff" * 65_000 + b"\x7f"  # one sub-identifier, 65 KB


@functools.cache
def _deep() -> bytes:
    return nested_sequences(10_000)


def _answers(kind: str, request: Request) -> list[bytes]:
    rid = request.request_id
    if kind == "random":
        return [random.randbytes(random.randrange(1, 1500))]
    if kind == "huge-length":
        return [b"\x30\x84\x80\x00\x00\x00" + random.randbytes(100)]
    if kind == "nested":
        deep = _deep()
        return [
            deep,
            message(rid, [varbind(oid_body((1, 3, 6)), deep)], version=request.version,
                    community=request.community),
        ]  # fmt: skip
    if kind == "wrong-id":
        return [end_of_mib_answer(request, rid ^ 0x5A5A)]
    if kind == "truncated":
        whole = end_of_mib_answer(request)
        return [whole[: len(whole) // 2]]
    if kind == "flood":
        return [end_of_mib_answer(request)] * 100
    if kind == "subid":

        def one(request_id: int) -> bytes:
            return message(request_id, [tlv(0x30, tlv(0x06, _SUBID) + b"\x05\x00")],
                           version=request.version, community=request.community)  # fmt: skip

        return [one(random.randrange(2**31)) for _ in range(4)] + [one(rid)]
    raise ValueError(kind)


KINDS = ("random", "huge-length", "nested", "wrong-id", "truncated", "late", "flood", "subid")


class _Agent(asyncio.DatagramProtocol):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = quick_request(data)
        if self.kind == "late":
            answer = end_of_mib_answer(request)
            asyncio.get_running_loop().call_later(LATE_AFTER, self._send, [answer], addr)
        else:
            self._send(_answers(self.kind, request), addr)

    def _send(self, datagrams: list[bytes], addr: tuple[str, int]) -> None:
        if self.transport is not None:
            for datagram in datagrams:
                self.transport.sendto(datagram, addr)


async def _serve() -> None:
    # Another machine's agents, in effect: they yield the CPU to the poller and to
    # snmpsim, so what a test measures is what their answers cost the poller.
    os.nice(19)
    loop = asyncio.get_running_loop()
    ports: dict[str, int] = {}
    for kind in KINDS:
        transport, _ = await loop.create_datagram_endpoint(
            lambda kind=kind: _Agent(kind),  # type: ignore[misc]
            local_addr=("127.0.0.1", 0),
        )
        ports[kind] = transport.get_extra_info("sockname")[1]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the test closes our stdin


if __name__ == "__main__":
    asyncio.run(_serve())
