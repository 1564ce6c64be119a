"""Junk on the trap port: a real receiver on 127.0.0.1 is sent random, truncated and
mutated datagrams (some carrying the community), then a real net-snmp `snmptrap`.

Junk is counted per sender, logged at most once a minute per sender without a byte
of it, never reaches asyncio's exception handler; the real trap still gets through."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Isolated, run_bridge, settled, wait_until
from net_snmp import net_snmp

from bridge.config.file import load_config
from bridge.core.clock import SystemClock
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.runner import CollectorRunner
from bridge.runtime.trap_service import (
    STATS_RESOURCE,
    STATS_SOURCE,
    receiver_summary,
    run_trap_receiver,
)
from bridge.store import open_store
from collectors.traps import LOG_EVERY_S, Trap, TrapReceiver, TrapUser

COMMUNITY = "traps-s3cret"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
# A v2c linkDown trap as net-snmp's snmptrap sends it (community traps-s3cret, ifIndex.7 = 7).
VALID = bytes.fromhex(
    "305c020101040c74726170732d733363726574a749020466f4d76a020100020100303b300f06082b060102"
    "0101030043030118713017060a2b06010603010104010006092b0601060301010503300f060a2b06010201"
    "0202010107020107"
)
# net-snmp snmptrap -v3 -l authPriv (SHA, AES), engine id 0x80000000010203040506
V3 = bytes.fromhex(
    "30819e02010330110204782ee840020300ffe304010302010304333031040a80000000010203040506"
    "020101020301672d04036f7073040c70c6fc3c57bcca0801ff6c8a04082d12cd57ebb62db80451d198"
    "1ae01b466bfc098bdc4725d726a8a5a036ca8c7f497554ae4eed80a75a491a791faff2718c1bfc2f77"
    "6189e66ce488595d85f2402cfceb6b50a4136c8bf3f725f67db2fd1f6e4e01ed01c6a5513e4d"
)
LOG_LINE = re.compile(
    r"trap receiver: (malformed datagrams|datagrams refused \(unknown community or not a "
    r"notification\)) from (127\.0\.0\.[12]) \(\d+ so far; logged once a minute per sender\)"
)


async def snmptrap(*args: str) -> None:
    status, err = await net_snmp("snmptrap", *args)
    assert status == 0, err


def junk(seed: int) -> Iterator[tuple[bytes, bool]]:
    """(datagram, certainly malformed) pairs: random bytes, truncations, mutations."""
    rnd = random.Random(seed)
    for _ in range(300):  # random bytes that do not even start as a SEQUENCE
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
        yield (bytes([data[0] ^ 0x30 or 1]) + data[1:]) if data[0] == 0x30 else data, True
    for _ in range(200):  # cut short: many still carry the whole community
        yield VALID[: rnd.randrange(1, len(VALID))], True
    for i in range(400):  # bytes flipped, inserted or dropped: may even decode
        mutated = bytearray(VALID if i % 4 else V3)
        for _ in range(rnd.randrange(1, 6)):
            i = rnd.randrange(len(mutated))
            match rnd.randrange(3):
                case 0:
                    mutated[i] = rnd.randrange(256)
                case 1:
                    mutated.insert(i, rnd.randrange(256))
                case _:
                    del mutated[i]
        yield bytes(mutated), False


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What reaches the loop's exception handler (asyncio's default one logs a traceback)."""
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    yield seen
    loop.set_exception_handler(None)


@contextlib.contextmanager
def sender(address: str) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        yield s


async def flood(port: int, seed: int, address: str) -> int:
    """Send the junk from `address`, paced so the kernel keeps all of it; the
    number certainly malformed."""
    certain = 0
    with sender(address) as s:
        for i, (data, malformed) in enumerate(junk(seed)):
            s.sendto(data, ("127.0.0.1", port))
            certain += malformed
            if i % 50 == 0:
                await asyncio.sleep(0)  # let the receiver read
    return certain


def assert_clean(text: str) -> None:
    assert "Traceback" not in text
    assert COMMUNITY not in text
    assert "\\x" not in text and "b'" not in text  # no quoted bytes of any datagram


@pytest.fixture
async def receiver(
    loop_errors: list[dict[str, Any]],
) -> AsyncIterator[tuple[TrapReceiver, list[Trap], FakeClock]]:
    got: list[Trap] = []
    clock = FakeClock()
    user = TrapUser("ops", "sha", "auth-key-123", "aes", "priv-key-123",
                    engine_id="80000000010203040506")  # V3's sender  # fmt: skip
    r = TrapReceiver("127.0.0.1", 0, got.append, communities=[COMMUNITY], users=[user],
                     clock=clock)  # fmt: skip
    await r.start()
    try:
        yield r, got, clock
    finally:
        await r.close()


async def test_junk_is_counted_per_sender_and_logged_once_a_minute_without_payload(
    receiver: tuple[TrapReceiver, list[Trap], FakeClock],
    loop_errors: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    r, got, clock = receiver
    caplog.set_level(logging.DEBUG)
    port = r.bound_port
    certain = await flood(port, 1, "127.0.0.1")
    certain += await flood(port, 2, "127.0.0.2")
    # A real trap after the junk, from the first sender's address: once it is
    # in, everything sent before it has been read.
    await snmptrap("-v", "2c", "-c", COMMUNITY, f"127.0.0.1:{port}", "",
                   LINK_DOWN, "1.3.6.1.2.1.2.2.1.1.7", "i", "7")  # fmt: skip

    async def stored() -> bool:
        return any(t.trap_oid == LINK_DOWN and t.value("1.3.6.1.2.1.2.2.1.1.7") == "7"
                   for t in got)  # fmt: skip

    await wait_until(stored, 5, what="the snmptrap trap")
    assert loop_errors == []
    assert certain <= r.malformed <= 1800
    senders = r.senders()
    assert set(senders) == {"127.0.0.1", "127.0.0.2"}
    assert sum(c["malformed"] for c in senders.values()) == r.malformed
    assert sum(c["rejected"] for c in senders.values()) == r.rejected
    assert senders["127.0.0.1"]["malformed"] >= 500 and senders["127.0.0.2"]["malformed"] >= 500

    lines = [rec.getMessage() for rec in caplog.records if rec.name == "collectors.traps"]
    assert lines and all(LOG_LINE.fullmatch(line) for line in lines), lines
    kinds = [LOG_LINE.fullmatch(line).groups() for line in lines]  # type: ignore[union-attr]
    assert len(kinds) == len(set(kinds))  # once per sender and kind in the minute
    assert {address for _, address in kinds} == {"127.0.0.1", "127.0.0.2"}

    clock.now += LOG_EVERY_S + 1  # a minute later, the same sender is logged again
    caplog.clear()
    before = r.malformed
    with sender("127.0.0.1") as s:
        for _ in range(20):
            s.sendto(VALID[:20], ("127.0.0.1", port))

    async def counted() -> bool:
        return r.malformed == before + 20

    await wait_until(counted, 5, what="20 more malformed")
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "collectors.traps"]
    assert len(lines) == 1 and LOG_LINE.fullmatch(lines[0]), lines
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert_clean(text)
    assert loop_errors == []


async def test_junk_shows_in_devices_and_the_health_line(
    isolated: Isolated, loop_errors: list[dict[str, Any]], capfd: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = isolated.write_config(
        f'[store]\npath = "{isolated.root / "bridge.db"}"\n[local]\nenabled = false\n'
        f'[traps]\nenabled = true\nport = {port}\ncommunities = ["{COMMUNITY}"]\n'
        '[[devices]]\nname = "edge"\naddress = "127.0.0.1"\ncommunity = "x"\n'
        '[[devices]]\nname = "core"\naddress = "127.0.0.3"\ncommunity = "x"\n'
    )
    config, _ = load_config(str(path))
    store = await open_store(config.store.resolved_path())
    runner = CollectorRunner(store, [], SystemClock(), LevelTracker({}), RuleEngine(config))
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_trap_receiver(config, store, runner, SystemClock(), ready=ready, stats_every=0.05)
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        certain = await flood(port, 3, "127.0.0.1")
        await snmptrap("-v", "2c", "-c", COMMUNITY, f"127.0.0.1:{port}", "",
                       LINK_DOWN, "1.3.6.1.2.1.2.2.1.1.7", "i", "7")  # fmt: skip

        async def stored() -> bool:
            events = await store.list_events(limit=10)
            return any("linkDown" in e.summary for e in events)

        await wait_until(stored, 5, what="the linkDown event")

        async def counted() -> bool:
            snap = await store.snapshot(STATS_SOURCE, STATS_RESOURCE)
            return snap is not None and snap.data["received"] >= 1

        await wait_until(counted, 5, what="the receiver's counters")
        snap = await store.snapshot(STATS_SOURCE, STATS_RESOURCE)
        assert snap is not None
        assert snap.data["malformed"] >= certain
        line, problem = receiver_summary(snap.data)
        assert problem and f"{snap.data['malformed']} malformed" in line
        assert "(most from 127.0.0.1)" in line
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()
    result = run_bridge(isolated, "--config", str(path), "devices", "--json")
    assert result.returncode == 0, result.stderr
    devices = {d["name"]: d for d in json.loads(result.stdout)}
    assert devices["edge"]["traps_malformed"] == snap.data["malformed"]
    assert devices["core"]["traps_malformed"] == 0
    table = run_bridge(isolated, "--config", str(path), "devices")
    head, edge, core = table.stdout.splitlines()
    assert head.split()[-2:] == ["BAD/REFUSED", "TRAPS"]
    assert (
        edge.split()[-1]
        == f"{devices['edge']['traps_malformed']}/{devices['edge']['traps_refused']}"
    )
    assert core.split()[-1] == "0/0"
    out, err = capfd.readouterr()
    assert_clean(out + err + result.stdout + result.stderr + table.stdout)
    assert loop_errors == []


async def test_the_health_pane_tells_of_junk(tmp_path: Path) -> None:
    from seed import HOST, T0, seed_store

    from bridge.config.file import Config
    from bridge.core.clock import FixedClock
    from bridge.ui.app import create_app
    from bridge.ui.panes.health import HealthPane
    from collectors.base import Reading

    path = tmp_path / "bridge.db"
    await seed_store(path)
    store = await open_store(path)
    counters = {"received": 12, "malformed": 1400, "rejected": 3, "dropped": 0,
                "senders": {"192.0.2.9": {"malformed": 1400, "rejected": 0},
                            "192.0.2.7": {"malformed": 0, "rejected": 3}}}  # fmt: skip
    await store.write_reading(Reading(STATS_SOURCE, STATS_RESOURCE, T0, detail=counters), {})
    await store.close()
    config = Config.model_validate({"traps": {"enabled": True}})
    app = create_app(config, operator="alice", store_path=path, clock=FixedClock(T0),
                     collect=False, hostname=HOST, feed_interval=0.05)  # fmt: skip
    async with app.run_test(size=(180, 40)) as pilot:
        view = app.query_one(HealthPane).host_view

        def text() -> str:
            return "\n".join(view.render_line(y).text for y in range(view.size.height))

        await wait_until(settled(pilot, lambda: "traps:" in text()), 5, what="the traps line")
        line = next(ln for ln in text().splitlines() if "traps:" in ln)
        assert "traps: 1400 malformed, 3 refused (most from 192.0.2.9)" in line


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag, 0x83]) + len(body).to_bytes(3, "big") + body


def test_the_decoder_raises_only_malformed_and_stays_linear() -> None:
    """Every mutation of a real v2c trap and a real v3 authPriv trap decodes or
    raises `Malformed`, nothing else; a 65 KB sub-identifier is refused at once."""
    import time

    from collectors import trap_wire

    v3 = V3
    trap_wire.check_v3(v3)
    assert trap_wire.decode_notification(VALID).varbinds[1] == (
        "1.3.6.1.6.3.1.1.4.1.0", LINK_DOWN,
    )  # fmt: skip
    rnd = random.Random(7)
    samples = [data for data, _ in junk(8)]
    for base in (VALID, v3):
        for _ in range(2000):
            samples.append(bytes(b ^ rnd.randrange(256) if rnd.random() < 0.03 else b
                                 for b in base))  # fmt: skip
            samples.append(base[: rnd.randrange(len(base))] + base[rnd.randrange(len(base)) :])
    for sample in samples:
        with contextlib.suppress(trap_wire.Malformed):
            if trap_wire.message_version(sample) == 3:
                trap_wire.check_v3(sample)
            else:
                trap_wire.decode_notification(sample)
    oid = _tlv(0x06, b"\x2b" + b"\xff" * 65000 + b"\x01")
    pdu = b"\x02\x01\x01" * 3 + _tlv(0x30, _tlv(0x30, oid + b"\x05\x00"))
    huge = _tlv(0x30, b"\x02\x01\x01\x04\x0ctraps-s3cret" + _tlv(0xA7, pdu))
    started = time.perf_counter()
    with pytest.raises(trap_wire.Malformed, match="sub-identifier"):
        trap_wire.decode_notification(huge)
    assert time.perf_counter() - started < 0.05
