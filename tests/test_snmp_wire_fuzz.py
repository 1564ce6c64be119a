"""Property tests of the v1/v2c decoder: whatever a datagram holds, the answer is a
value or BerError in time linear in its size; and for valid messages, the value
pyasn1 (pysnmp's own decoder) reads."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pyasn1.type import univ  # type: ignore[import-untyped]
from pysnmp.proto import api, rfc1155, rfc1902, rfc1905  # type: ignore[import-untyped]
from snmp_garbage import integer, message, oid_body, tlv, varbind

from collectors.snmp_wire import END_OF_MIB, BerError, Response, WireValue, decode_message

# CPU seconds a decode may take: a constant for the call plus a bound per byte,
# loose enough for a loaded machine, far below what quadratic work on a 65 KB
# datagram costs (~0.4 s).
PER_CALL = 0.02
PER_BYTE = 1e-6

FUZZ = settings(
    max_examples=250,
    deadline=None,  # time is asserted per byte below, in CPU time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,  # the suite's run is the same every time; a regression is not luck
)


def decode_bounded(data: bytes) -> Response | None:
    """Decode; return None for BerError; fail for any other exception or for slowness."""
    started = time.process_time()
    try:
        return decode_message(data)
    except BerError:
        return None
    finally:
        spent = time.process_time() - started
        assert spent <= PER_CALL + PER_BYTE * len(data), f"{spent:.3f} s for {len(data)} bytes"


# --- inputs: noise, near-misses, and hostile structure ---------------------------------

_TAGS = [0x02, 0x04, 0x05, 0x06, 0x30, 0x40, 0x41, 0x42, 0x43, 0x44, 0x46, 0x47, 0x80, 0x81,
         0x82, 0xA2, 0x24, 0x1F, 0xFF]  # fmt: skip


@st.composite
def hostile_body(draw: st.DrawFn) -> bytes:
    """A body made to cost: long runs of continuation bytes, huge integers, or noise."""
    kind = draw(st.sampled_from(["run", "noise", "small"]))
    if kind == "run":
        size = draw(st.integers(1, 20_000))
        return b"\x2b" + bytes([draw(st.sampled_from([0xFF, 0x80, 0x81]))]) * size + b"\x7f"
    if kind == "noise":
        return draw(st.binary(max_size=600))
    return draw(st.binary(max_size=10))


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    """A well-formed envelope around varbinds of any tag and body."""
    binds = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.one_of(st.just(oid_body((1, 3, 6, 1, 2, 1, 1, 3, 0))), hostile_body()))
        value = tlv(draw(st.sampled_from(_TAGS)), draw(hostile_body()))
        binds.append(varbind(name, value))
    return message(
        draw(st.integers(-(2**40), 2**40)),
        binds,
        version=draw(st.integers(-1, 3)),
        community=draw(st.binary(max_size=12)),
        pdu_type=draw(st.sampled_from([0xA2, 0xA0, 0x30, 0x04])),
    )


_VALID = message(
    4242,
    [
        varbind(oid_body((1, 3, 6, 1, 2, 1, 1, 3, 0)), integer(360_000, 0x43)),
        varbind(oid_body((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 1)), tlv(0x04, b"Gi1/0/1")),
        varbind(oid_body((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1)), integer(2**63, 0x46)),
        varbind(oid_body((1, 3, 6, 1, 2, 1, 1, 2, 0)), tlv(0x06, oid_body((1, 3, 6, 1, 4, 1)))),
        varbind(oid_body((1, 3, 6, 1, 2, 1, 4, 20, 1, 1)), tlv(0x40, b"\x0a\x00\x00\x01")),
        varbind(oid_body((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 1)), integer(-7)),
        varbind(oid_body((1, 3, 6, 1, 2, 1, 2, 2, 1, 9, 1)), b"\x82\x00"),
    ],
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid response with a few bytes flipped, inserted, deleted or cut off."""
    data = bytearray(_VALID)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["set", "insert", "delete", "cut", "grow"]))
        if op == "set" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "cut":
            del data[at:]
        elif op == "grow" and at < len(data):
            data[at + 1 : at + 1] = bytes([draw(st.sampled_from([0x80, 0xFF, 0x81]))]) * 3000
    return bytes(data)


@FUZZ
@given(st.one_of(st.binary(max_size=2000), mutated(), structured()))
# What fuzzing found before: an OID value too long to print, a 1000-byte INTEGER.
@example(message(1, [varbind(b"\x2b", tlv(0x06, b"\x2b" + b"\xff" * 3000 + b"\x7f"))]))
@example(message(1, [varbind(b"\x2b", integer(2**7000, 0x43, size=1000))]))
def test_every_datagram_decodes_or_is_a_ber_error_in_linear_time(data: bytes) -> None:
    decode_bounded(data)


@settings(FUZZ, max_examples=25)
@given(st.integers(1, 65_000), st.sampled_from([b"\xff", b"\x80", b"\x30\x80", b"\x02\x00"]))
@example(65_000, b"\xff")
@example(65_000, b"\x30\x80")
def test_a_datagram_filled_with_one_pattern_costs_linear_time(size: int, fill: bytes) -> None:
    body = (fill * size)[:size]
    for data in (
        _VALID[:-2] + body,
        message(1, [varbind(b"\x2b" + body + b"\x7f", b"\x05\x00")]),
        message(1, [varbind(b"\x2b", tlv(0x06, b"\x2b" + body + b"\x7f"))]),
        message(1, [varbind(b"\x2b", tlv(0x02, body))]),
    ):
        decode_bounded(data)


# --- against pyasn1, on valid messages -----------------------------------------------

_U32 = st.integers(0, 2**32 - 1)


@st.composite
def oids(draw: st.DrawFn) -> tuple[int, ...]:
    first = draw(st.integers(0, 2))
    second = draw(st.integers(0, 39) if first < 2 else st.integers(0, 2**32 - 1 - 80))
    return (first, second, *draw(st.lists(_U32, max_size=draw(st.sampled_from([8, 126])))))


def _values(version: int) -> st.SearchStrategy[Any]:
    common = [
        st.integers(-(2**31), 2**31 - 1).map(rfc1902.Integer32),
        st.binary(max_size=64).map(rfc1902.OctetString),
        oids().map(rfc1902.ObjectIdentifier),
        st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
        _U32.map(rfc1902.Counter32),
        _U32.map(rfc1902.Gauge32),
        _U32.map(rfc1902.TimeTicks),
        st.binary(max_size=16).map(rfc1902.Opaque),
    ]
    if version == 1:  # SNMPv2c only
        common += [
            st.integers(0, 2**64 - 1).map(rfc1902.Counter64),
            st.sampled_from([rfc1905.NoSuchObject(""), rfc1905.NoSuchInstance(""),
                             rfc1905.EndOfMibView("")]),
        ]  # fmt: skip
    return st.one_of(common)


def _plain(value: Any) -> WireValue:
    """pyasn1's reading of a value, in the decoder's terms."""
    if isinstance(value, rfc1905.EndOfMibView):
        return END_OF_MIB
    if isinstance(value, univ.Null):  # NULL, noSuchObject, noSuchInstance
        return None
    if isinstance(value, rfc1902.IpAddress | rfc1155.IpAddress):
        return ".".join(map(str, bytes(value)))
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(map(str, tuple(value)))
    if isinstance(value, univ.OctetString):  # and Opaque
        return bytes(value)
    assert isinstance(value, univ.Integer), type(value)
    return int(value)


@st.composite
def valid_messages(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from([api.SNMP_VERSION_1, api.SNMP_VERSION_2C]))
    mod = api.PROTOCOL_MODULES[version]
    pdu = mod.GetResponsePDU()
    mod.apiPDU.set_defaults(pdu)
    mod.apiPDU.set_request_id(pdu, draw(st.integers(0, 2**31 - 1)))
    mod.apiPDU.set_error_status(pdu, draw(st.integers(0, 18)))
    binds = draw(st.lists(st.tuples(oids(), _values(version)), max_size=8))
    mod.apiPDU.set_error_index(pdu, draw(st.integers(0, len(binds))))
    mod.apiPDU.set_varbinds(pdu, binds)
    msg = mod.Message()
    mod.apiMessage.set_defaults(msg)
    mod.apiMessage.set_community(msg, draw(st.binary(max_size=16)))
    mod.apiMessage.set_pdu(msg, pdu)
    data: bytes = encoder.encode(msg)
    return data


@settings(FUZZ, max_examples=150)
@given(valid_messages())
def test_valid_messages_decode_as_pyasn1_reads_them(data: bytes) -> None:
    version = int(api.decodeMessageVersion(data))
    mod = api.PROTOCOL_MODULES[version]
    msg, rest = decoder.decode(data, asn1Spec=mod.Message())
    assert rest == b""
    pdu = mod.apiMessage.get_pdu(msg)
    got = decode_message(data)
    assert got.version == version
    assert got.community == bytes(mod.apiMessage.get_community(msg))
    assert got.pdu_type == 0xA2
    assert got.request_id == int(mod.apiPDU.get_request_id(pdu))
    assert got.error_status == int(mod.apiPDU.get_error_status(pdu))
    assert got.error_index == int(mod.apiPDU.get_error_index(pdu))
    assert got.varbinds == [
        (tuple(name), _plain(value)) for name, value in mod.apiPDU.get_varbinds(pdu)
    ]
