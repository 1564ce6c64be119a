"""The v1/v2c wire codec, against pysnmp's own encoder as the reference, and the
fault isolation it serves: garbage answers time out, dead devices poll from their own pool."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from conftest import wait_until
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pysnmp.proto import api  # type: ignore[import-untyped]
from snmp_garbage import (
    Request,
    end_of_mib_answer,
    integer,
    message,
    oid_body,
    parse_request,
    tlv,
    varbind,
)

from collectors.snmp import (
    SUSPECT_CONCURRENCY,
    SnmpCollector,
    SnmpError,
    SnmpTarget,
    SnmpTimeout,
    close_shared_engine,
    octets_text,
    shared_limit,
    shared_suspect_limit,
)
from collectors.snmp_wire import (
    END_OF_MIB,
    GET_BULK,
    BerError,
    decode_message,
    encode_request,
    shared_wire,
)

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def _response(varbinds: list[tuple[tuple[int, ...], object]], request_id: int = 77) -> bytes:
    """A Response PDU encoded by pysnmp/pyasn1: the reference our decoder must agree with."""
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_varbinds(pdu, varbinds)
    msg = V2C.Message()
    V2C.apiMessage.set_defaults(msg)
    V2C.apiMessage.set_community(msg, "public")
    V2C.apiMessage.set_pdu(msg, pdu)
    data: bytes = encoder.encode(msg)
    return data


def test_decoder_agrees_with_pysnmp_on_every_value_type() -> None:
    from pysnmp.proto import rfc1902, rfc1905

    oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1)
    values = [
        rfc1902.Integer32(-5), rfc1902.OctetString(b"Gi1/0/1 \xff\x1b[2J"),
        rfc1902.ObjectIdentifier((1, 3, 6, 1, 4, 1, 99999, 1, 48)), rfc1902.IpAddress("10.0.0.1"),
        rfc1902.Counter32(2**32 - 1), rfc1902.Gauge32(1_000_000_000), rfc1902.TimeTicks(360000),
        rfc1902.Counter64(2**64 - 1), rfc1905.NoSuchObject(), rfc1905.NoSuchInstance(),
        rfc1905.EndOfMibView(), rfc1902.Integer32(2**31 - 1), rfc1902.Integer32(-(2**31)),
    ]  # fmt: skip
    got = decode_message(_response([((*oid, i), v) for i, v in enumerate(values)]))
    assert (got.request_id, got.community, got.error_status) == (77, b"public", 0)
    assert [v for _, v in got.varbinds] == [
        -5, b"Gi1/0/1 \xff\x1b[2J", "1.3.6.1.4.1.99999.1.48", "10.0.0.1", 2**32 - 1,
        1_000_000_000, 360000, 2**64 - 1, None, None, END_OF_MIB, 2**31 - 1, -(2**31),
    ]  # fmt: skip
    assert [name for name, _ in got.varbinds] == [(*oid, i) for i in range(len(values))]


def test_encoder_output_is_what_pysnmp_decodes() -> None:
    oids = [(1, 3, 6, 1, 2, 1, 2, 2, 1, 2), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 4_000_000_000)]
    data = encode_request(1, b"s3cret", GET_BULK, 2**31 - 1, oids, max_repetitions=25)
    msg, rest = decoder.decode(data, asn1Spec=V2C.Message())
    assert rest == b""
    pdu = V2C.apiMessage.get_pdu(msg)
    assert int(V2C.apiPDU.get_request_id(pdu)) == 2**31 - 1
    assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == 25
    assert [tuple(name) for name, _ in V2C.apiPDU.get_varbinds(pdu)] == oids
    assert bytes(V2C.apiMessage.get_community(msg)) == b"s3cret"


@pytest.mark.parametrize(
    "data", [b"", b"\x30", b"\x30\x05\x02\x01\x01", b"\x04\x03abc", b"\x30\x84\xff\xff\xff\xff"]
)
def test_malformed_datagrams_are_refused(data: bytes) -> None:
    with pytest.raises(BerError):
        decode_message(data)


@pytest.fixture
async def garbage_agent() -> AsyncIterator[int]:
    """A device on 127.0.0.1 that answers every request with noise."""
    loop = asyncio.get_running_loop()

    class Noise(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(b"\x30\x03\x02\x01" + data[:40], addr)  # type: ignore[attr-defined]

    transport, _ = await loop.create_datagram_endpoint(Noise, local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[1]
    finally:
        transport.close()
        close_shared_engine()


async def test_a_garbage_answering_device_times_out_and_polls_from_the_suspect_pool(
    garbage_agent: int,
) -> None:
    target = SnmpTarget("noisy", "127.0.0.1", garbage_agent, timeout=0.2, retries=0)
    collector = SnmpCollector(target)
    started = time.monotonic()
    with pytest.raises(SnmpTimeout):
        await collector.collect()
    assert time.monotonic() - started < 2
    assert collector.failing
    healthy, suspect = shared_limit(), shared_suspect_limit()
    free = healthy._value
    poll = asyncio.create_task(collector.collect())

    async def in_suspect_pool() -> bool:
        return suspect._value == SUSPECT_CONCURRENCY - 1

    await wait_until(in_suspect_pool, 2, interval=0.01, what="the poll in the suspect pool")
    assert healthy._value == free  # the suspect never holds a healthy device's slot
    with pytest.raises(SnmpTimeout):
        await poll


# --- limits: what a hostile datagram may not make the decoder do -------------------

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def _one(value: bytes, name: bytes | None = None) -> bytes:
    """A response carrying one varbind: `name` (OID contents) and `value` (a whole TLV)."""
    return message(77, [varbind(oid_body(SYS_UPTIME) if name is None else name, value)])


_REFUSED: list[tuple[str, bytes]] = [
    ("a 6-byte sub-identifier", _one(b"\x05\x00", b"\x2b" + b"\x81" * 5 + b"\x01")),
    ("a sub-identifier over 2**32 - 1", _one(b"\x05\x00", b"\x2b\x90\x80\x80\x80\x00")),
    ("a sub-identifier with a leading 0x80", _one(b"\x05\x00", b"\x2b\x80\x01")),
    ("a 129-arc OID", _one(b"\x05\x00", oid_body((1, 3, *[1] * 127)))),
    ("an OID value with a 2000-byte sub-identifier",
     _one(tlv(0x06, b"\x2b" + b"\xff" * 2000 + b"\x7f"))),
    ("a 6-byte INTEGER", _one(integer(1, size=6))),
    ("a 1000-byte INTEGER", _one(integer(2**7000, size=1000))),
    ("a zero-length INTEGER", _one(b"\x02\x00")),
    ("an INTEGER over 2**31 - 1", _one(integer(2**31, size=5))),
    ("a 6-byte Counter32", _one(integer(1, 0x41, size=6))),
    ("a Counter32 over 2**32 - 1", _one(integer(2**32, 0x41, size=5))),
    ("a 6-byte Gauge32", _one(integer(1, 0x42, size=6))),
    ("a 6-byte TimeTicks", _one(integer(1, 0x43, size=6))),
    ("a zero-length TimeTicks", _one(b"\x43\x00")),
    ("a 10-byte Counter64", _one(integer(1, 0x46, size=10))),
    ("a 3-byte IpAddress", _one(tlv(0x40, b"\x0a\x00\x01"))),
    ("a 5-byte IpAddress", _one(tlv(0x40, b"\x0a\x00\x00\x00\x01"))),
    ("a SEQUENCE as a value", _one(tlv(0x30, integer(1)))),
    ("a NULL with a body", _one(tlv(0x05, b"x"))),
    ("bytes after a varbind's value", message(77, [tlv(0x30, tlv(0x06, b"\x2b") + b"\x05\x00!")])),
    ("a 6-byte request id", tlv(0x30, integer(1) + tlv(0x04, b"p") + tlv(0xA2, integer(1, size=6) + integer(0) + integer(0) + tlv(0x30, b"")))),
    ("bytes after the message", _one(b"\x05\x00") + b"\x00"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "data"), _REFUSED, ids=[what for what, _ in _REFUSED])
def test_values_outside_their_snmp_type_are_refused(what: str, data: bytes) -> None:
    with pytest.raises(BerError):
        decode_message(data)


def test_values_at_their_types_limits_are_read() -> None:
    biggest = 2**32 - 1
    name = oid_body((1, 3, *[biggest] * 126))  # 128 arcs, the longest allowed
    got = decode_message(
        message(
            77,
            [
                varbind(name, integer(-(2**31), size=5)),  # 5 bytes: sign-extended
                varbind(oid_body((1, 3)), integer(biggest, 0x43)),
                varbind(oid_body((1, 3)), integer(2**64 - 1, 0x46)),
                varbind(oid_body((1, 3)), tlv(0x41, b"\xff\xff\xff\xff")),  # no leading zero
                varbind(oid_body((1, 3)), tlv(0x06, oid_body((2, 999, biggest)))),
                varbind(oid_body((1, 3)), tlv(0x47, b"\x01")),  # an unknown application type
            ],
        )
    )
    assert got.varbinds[0][0] == (1, 3, *[biggest] * 126)
    assert [v for _, v in got.varbinds] == [
        -(2**31),
        biggest,
        2**64 - 1,
        biggest,
        f"2.999.{biggest}",
        b"\x01",
    ]


def test_a_65_kb_sub_identifier_costs_nothing() -> None:
    """One sub-identifier filling a datagram: linear decoding refuses it at its 6th byte."""
    datagrams = [
        _one(b"\x05\x00", b"\x2b" + b"\xff" * 65_000 + b"\x7f"),  # as the varbind's name
        _one(tlv(0x06, b"\x2b" + b"\xff" * 65_000 + b"\x7f")),  # as its value
    ]
    started = time.perf_counter()
    for data in datagrams * 5:
        with pytest.raises(BerError):
            decode_message(data)
    assert time.perf_counter() - started < 0.1


async def test_the_socket_matches_a_datagram_before_decoding_its_varbinds() -> None:
    """Junk from a stranger, or with an id no request has, is dropped for the price of
    its header: twenty 65 KB sub-identifiers take no time on the event loop."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))  # a device that never answers: its request stays pending
    hole.setblocking(False)
    peer = hole.getsockname()
    try:
        wire = await shared_wire()
        pending = asyncio.create_task(
            wire.request(peer, 1, b"public", GET_BULK, [SYS_UPTIME], per_try=5, tries=1)
        )
        # Once the device has the request, the socket waits for its answer.
        await asyncio.wait_for(asyncio.get_running_loop().sock_recv(hole, 2048), 5)
        junk = message(12345, [varbind(b"\x2b" + b"\xff" * 65_000 + b"\x7f", b"\x05\x00")])
        started = time.perf_counter()
        for _ in range(10):
            wire.datagram_received(junk, peer)  # a matching sender, an id nobody asked
            wire.datagram_received(junk, ("127.0.0.1", 9))  # a stranger
        assert time.perf_counter() - started < 0.1
        assert not pending.done()
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
    finally:
        hole.close()
        close_shared_engine()


# --- against agents on 127.0.0.1 that answer what we tell them ----------------------

Answer = Callable[[Request], list[bytes]]


@pytest.fixture
async def fake_agent() -> AsyncIterator[Callable[[Answer], Awaitable[int]]]:
    """Start UDP agents on 127.0.0.1 answering each request with `answer(request)`."""
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []

    class Agent(asyncio.DatagramProtocol):
        def __init__(self, answer: Answer) -> None:
            self.answer = answer

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            for datagram in self.answer(parse_request(data)):
                self.transport.sendto(datagram, addr)  # type: ignore[attr-defined]

    async def start(answer: Answer) -> int:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: Agent(answer), local_addr=("127.0.0.1", 0)
        )
        transports.append(transport)
        port: int = transport.get_extra_info("sockname")[1]
        return port

    try:
        yield start
    finally:
        for transport in transports:
            transport.close()
        close_shared_engine()


async def test_an_answer_of_another_version_is_not_taken(
    fake_agent: Callable[[Answer], Awaitable[int]],
) -> None:
    def v1_answer(request: Request) -> list[bytes]:
        return [end_of_mib_answer(request).replace(b"\x02\x01\x01", b"\x02\x01\x00", 1)]

    port = await fake_agent(v1_answer)
    collector = SnmpCollector(SnmpTarget("v2c-asked", "127.0.0.1", port, timeout=0.3, retries=0))
    with pytest.raises(SnmpTimeout):
        await collector.collect()


async def test_an_answer_from_another_address_is_not_taken(
    fake_agent: Callable[[Answer], Awaitable[int]],
) -> None:
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.1", 0))
    try:
        # The real agent stays silent; a stranger sends it a perfect answer.
        def spoof(request: Request) -> list[bytes]:
            stranger.sendto(end_of_mib_answer(request), sent_from[0])
            return []

        sent_from: list[tuple[str, int]] = []
        port = await fake_agent(spoof)
        wire = await shared_wire()
        assert wire.transport is not None
        sent_from.append(wire.transport.get_extra_info("sockname"))
        collector = SnmpCollector(SnmpTarget("spoofed", "127.0.0.1", port, timeout=0.3, retries=0))
        with pytest.raises(SnmpTimeout):
            await collector.collect()
    finally:
        stranger.close()


async def test_an_out_of_range_value_is_that_devices_decode_error(
    fake_agent: Callable[[Answer], Awaitable[int]],
) -> None:
    """A 1000-byte sysUpTime: the poll fails at once, naming the device, no Python error text."""

    def huge_uptime(request: Request) -> list[bytes]:
        binds = [varbind(oid_body(o), integer(2**7000, 0x43, size=1000)) for o in request.oids]
        return [message(request.request_id, binds, community=request.community)]

    port = await fake_agent(huge_uptime)
    collector = SnmpCollector(SnmpTarget("edge-sw9", "127.0.0.1", port, timeout=2, retries=1))
    started = time.monotonic()
    with pytest.raises(SnmpError) as caught:
        await collector.collect()
    assert time.monotonic() - started < 1.5  # the answer is the error: no waiting for a timeout
    assert not isinstance(caught.value, SnmpTimeout)
    text = str(caught.value)
    assert text.startswith("SNMP device edge-sw9 (127.0.0.1:")
    assert "malformed response: TimeTicks of 1000 bytes" in text
    assert "Error" not in text and "public" not in text
    assert collector.failing


async def test_request_ids_are_drawn_at_random(
    fake_agent: Callable[[Answer], Awaitable[int]],
) -> None:
    seen: list[int] = []

    def record(request: Request) -> list[bytes]:
        seen.append(request.request_id)
        return [end_of_mib_answer(request)]

    port = await fake_agent(record)
    collector = SnmpCollector(SnmpTarget("ids", "127.0.0.1", port, timeout=1, retries=0))
    for _ in range(10):
        await collector.collect()
    assert len(seen) == 20 and len(set(seen)) == 20
    steps = {b - a for a, b in itertools.pairwise(seen)}
    assert len(steps) == 19  # no common step: nothing to predict the next id from
    assert all(0 <= i < 2**31 for i in seen)
    assert max(seen) - min(seen) > 2**24


# --- OCTET STRING: bytes on the wire, text at the edge ------------------------------


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (b"Gi1/0/1", "Gi1/0/1"),
        (b"", ""),
        ("Zürich Nord 東京".encode(), "Zürich Nord 東京"),
        (b"Cisco IOS\r\nVersion 17.9\n\tbuilt", "Cisco IOS\r\nVersion 17.9\n\tbuilt"),
        (b"eth0\x00", "eth0"),  # a C string's terminator is not part of the name
        (b"\x00\x16\x3e\x5e\x6c\x00", "00:16:3e:5e:6c:00"),  # a MAC address
        (b"\x00\x00", "00:00"),
        (b"caf\xe9", "63:61:66:e9"),  # Latin-1, not UTF-8
        (b"\x1b[2Jcleared", "1b:5b:32:4a:63:6c:65:61:72:65:64"),
        (b"[bold]x[/bold]", "[bold]x[/bold]"),  # printable: kept, shown literally later
    ],
)
def test_octet_strings_are_text_where_printable_utf8_else_hex(data: bytes, shown: str) -> None:
    assert octets_text(data) == shown


def test_octet_strings_decode_to_the_bytes_sent() -> None:
    mac = b"\x00\x16\x3e\x5e\x6c\x00"
    got = decode_message(_one(tlv(0x04, mac)))
    assert got.varbinds[0][1] == mac
