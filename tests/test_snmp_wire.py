"""The v1/v2c wire codec, against pysnmp's own encoder as the reference, and the
fault isolation it serves: garbage answers time out, dead devices poll from their own pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from conftest import wait_until
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pysnmp.proto import api  # type: ignore[import-untyped]

from collectors.snmp import (
    SUSPECT_CONCURRENCY,
    SnmpCollector,
    SnmpTarget,
    SnmpTimeout,
    close_shared_engine,
    shared_limit,
    shared_suspect_limit,
)
from collectors.snmp_wire import (
    END_OF_MIB,
    GET_BULK,
    BerError,
    decode_message,
    encode_request,
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
        -5, "Gi1/0/1 \ufffd\x1b[2J", "1.3.6.1.4.1.99999.1.48", "10.0.0.1", 2**32 - 1,
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
