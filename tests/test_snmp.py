"""The SNMP collector against a real agent (snmpsim on 127.0.0.1), and its pure rate logic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import pytest_asyncio
from pysnmp.proto import rfc1902  # type: ignore[import-untyped]
from snmp_agent import (
    V3_AUTH_KEY,
    SnmpAgent,
    free_udp_port,
    snmp_agent_fixture,  # noqa: F401  (registers the session fixture `snmp_agent`)
)

from collectors.snmp import (
    CounterSample,
    IfCounters,
    SnmpCollector,
    SnmpError,
    SnmpTarget,
    SnmpTimeout,
    close_shared_engine,
    compute_rates,
    counter_delta,
    shared_engine,
    shared_limit,
)
from collectors.snmp_oids import IF_TABLE, oid

# Agent tests share one event loop, so they share one SnmpEngine as the poller would.
on_agent = pytest.mark.asyncio(loop_scope="module")

GIG = 1_000_000_000


@pytest_asyncio.fixture(loop_scope="module", scope="module", autouse=True)
async def _engine_closed() -> AsyncIterator[None]:
    yield
    close_shared_engine()


async def poll(collector: SnmpCollector) -> dict[str, Any]:
    readings = await collector.collect()
    assert len(readings) == 1
    reading = readings[0]
    assert reading.source == "snmp"
    assert reading.resource == collector.target.name
    return {"metrics": reading.metrics, "detail": reading.detail, "at": reading.at}


# --- against the real agent ------------------------------------------------------


@on_agent
async def test_system_group(snmp_agent: SnmpAgent) -> None:
    got = await poll(SnmpCollector(snmp_agent.target("switch48")))
    detail = got["detail"]
    assert detail["sysName"] == "sw-access-48"
    assert detail["sysDescr"] == "Acme SwitchOS 12.4(3), 48x1G access switch"
    assert detail["sysObjectID"] == "1.3.6.1.4.1.99999.1.48"
    assert detail["sysLocation"] == "Rack B4"
    assert detail["sysUpTime"] >= 3600  # recorded as 360000 ticks and counting
    assert got["metrics"]["uptime"] == detail["sysUpTime"]
    assert detail["truncated"] is False


@on_agent
async def test_interfaces_cpu_and_storage_match_the_recording(snmp_agent: SnmpAgent) -> None:
    got = await poll(SnmpCollector(snmp_agent.target("switch48")))
    interfaces = got["detail"]["interfaces"]
    assert len(interfaces) == 48
    assert [i["index"] for i in interfaces] == list(range(1, 49))
    first, last = interfaces[0], interfaces[-1]
    assert (first["name"], first["descr"], first["alias"]) == (
        "Gi1/0/1",
        "GigabitEthernet1/0/1",
        "access port 1",
    )
    assert last["alias"] == "uplink to core"
    assert first["speed"] == GIG  # from ifHighSpeed (Mbit/s)
    assert first["oper"] == "up" and first["admin"] == "up"
    assert last["oper"] == "down" and last["admin"] == "up"
    assert got["metrics"]["if_up"] == 40
    assert got["metrics"]["if_down"] == 8
    # HOST-RESOURCES: two processors at 23 % and 41 %; storage in bytes.
    assert got["detail"]["cpu"] == {"load": 32.0, "per_cpu": [23, 41]}
    assert got["metrics"]["cpu"] == 32.0
    storage = {s["descr"]: s for s in got["detail"]["storage"]}
    assert storage["Physical memory"]["size"] == 2 * 1024**3
    assert storage["Physical memory"]["percent"] == 50.0
    assert storage["/flash"]["percent"] == 25.0


@on_agent
async def test_rates_appear_on_the_second_poll_from_hc_counters(snmp_agent: SnmpAgent) -> None:
    collector = SnmpCollector(snmp_agent.target("switch48"))
    first = await poll(collector)
    assert "in_bps" not in first["metrics"] and "out_bps" not in first["metrics"]
    assert all(i["in_bps"] is None for i in first["detail"]["interfaces"])

    second = await poll(collector)
    interfaces = second["detail"]["interfaces"]
    up = [i for i in interfaces if i["oper"] == "up"]
    for i in up:
        assert i["hc"] is True
        for key in ("in_bps", "out_bps", "in_errors", "out_errors", "in_discards"):
            assert i[key] is not None and i[key] >= 0, (i["name"], key)
    # Port n moves its HC counters at 125 000 x n B/s in, half that out; the 32-bit
    # ones at 1 000 B/s. So ~1 Mbit/s on port 1 means the 64-bit counters were used.
    port1 = interfaces[0]
    assert 0.6e6 < port1["in_bps"] < 1.6e6
    assert 0.3e6 < port1["out_bps"] < 0.8e6
    assert second["metrics"]["in_bps"] > 0.6e6 * 40
    assert second["metrics"]["out_bps"] >= 0
    down = [i for i in interfaces if i["oper"] != "up"]
    assert all(i["in_bps"] == 0 for i in down)  # still counters, so a zero rate


@on_agent
async def test_agent_restart_gives_no_rate_that_round(snmp_agent: SnmpAgent) -> None:
    collector = SnmpCollector(snmp_agent.target("switch48"))
    await poll(collector)
    previous = collector._previous
    assert previous is not None and previous.uptime is not None
    previous.uptime += 10**8  # as if the agent had been up far longer before this poll

    after_restart = await poll(collector)
    assert after_restart["detail"]["restarted"] is True
    assert "in_bps" not in after_restart["metrics"]
    assert all(i["in_bps"] is None for i in after_restart["detail"]["interfaces"])

    again = await poll(collector)  # the next round has a sane baseline
    assert again["detail"]["restarted"] is False
    assert again["metrics"]["in_bps"] > 0


@on_agent
async def test_missing_host_resources_means_no_cpu_not_an_error(snmp_agent: SnmpAgent) -> None:
    got = await poll(SnmpCollector(snmp_agent.target("rogue")))
    assert "cpu" not in got["metrics"]
    assert "cpu" not in got["detail"]
    assert got["detail"]["storage"] == []
    assert len(got["detail"]["interfaces"]) == 2
    # No ifXTable counters on this one: the 32-bit counters are used.
    assert [i["hc"] for i in got["detail"]["interfaces"]] == [False, False]


@on_agent
async def test_untrusted_device_text_is_kept_literal(snmp_agent: SnmpAgent) -> None:
    got = await poll(SnmpCollector(snmp_agent.target("rogue")))
    detail = got["detail"]
    aliases = [i["alias"] for i in detail["interfaces"]]
    # Printable UTF-8 is kept as sent, markup and all; control characters or
    # invalid UTF-8 make the whole value hex, every byte visible, none lost.
    assert aliases == [
        "[bold red]ALERT[/bold red] [link=x]y[/link]",
        b"\x1b]0;owned\x07\x1b[2Jcleared".hex(":"),
    ]
    assert detail["sysName"] == "[link=http://evil.example]rogue[/link]"
    sys_descr = b"Evil OS \xff\xfe [bold red]not markup[/] \x1b[31mred\x1b[0m"
    assert detail["sysDescr"] == sys_descr.hex(":")
    for value in (*aliases, detail["sysName"], detail["sysDescr"]):
        assert type(value) is str


@on_agent
async def test_snmpv1_polls_without_getbulk(snmp_agent: SnmpAgent) -> None:
    got = await poll(SnmpCollector(snmp_agent.target("rogue", version="1")))
    assert got["detail"]["sysName"] == "[link=http://evil.example]rogue[/link]"
    assert [i["name"] for i in got["detail"]["interfaces"]] == ["eth0", "eth1"]


@on_agent
async def test_snmpv3_auth_priv(snmp_agent: SnmpAgent) -> None:
    got = await poll(SnmpCollector(snmp_agent.v3_target("switch48")))
    assert got["detail"]["sysName"] == "sw-access-48"
    assert len(got["detail"]["interfaces"]) == 48


@on_agent
async def test_snmpv3_wrong_key_fails_without_leaking_keys(snmp_agent: SnmpAgent) -> None:
    wrong = snmp_agent.v3_target("rogue", auth_key="not-the-right-key", timeout=0.5, retries=0)
    right = snmp_agent.v3_target("rogue")
    # Same user name, different keys, polled at once: neither may spoil the other.
    bad, good = await asyncio.gather(
        SnmpCollector(wrong).collect(), SnmpCollector(right).collect(), return_exceptions=True
    )
    assert isinstance(bad, SnmpError)
    assert not isinstance(good, BaseException)
    assert good[0].detail["sysName"] == "[link=http://evil.example]rogue[/link]"
    for text in (str(bad), repr(wrong), repr(SnmpCollector(wrong))):
        assert "not-the-right-key" not in text
        assert V3_AUTH_KEY not in text


@on_agent
async def test_dead_device_times_out_in_bounded_time(snmp_agent: SnmpAgent) -> None:
    await poll(SnmpCollector(snmp_agent.target("rogue")))  # engine and MIBs warm
    dead = SnmpTarget(
        "dead",
        "127.0.0.1",
        free_udp_port(),
        community="s3cret-community",
        timeout=0.3,
        retries=1,
    )
    started = time.monotonic()
    with pytest.raises(SnmpTimeout) as caught:
        await SnmpCollector(dead).collect()
    elapsed = time.monotonic() - started
    assert elapsed < dead.deadline + 1.5
    assert "dead" in str(caught.value)
    assert "s3cret-community" not in str(caught.value)
    assert "s3cret-community" not in repr(dead)


@on_agent
async def test_walk_stops_at_its_request_cap(snmp_agent: SnmpAgent) -> None:
    got = await poll(SnmpCollector(snmp_agent.target("switch48"), max_walk_requests=2))
    assert got["detail"]["truncated"] is True
    assert got["detail"]["requests"] == 1 + 2  # one GET, two GETBULKs
    assert len(got["detail"]["interfaces"]) < 48


@on_agent
async def test_devices_share_one_engine_and_one_limit(snmp_agent: SnmpAgent) -> None:
    assert shared_engine() is shared_engine()
    assert shared_limit() is shared_limit()
    limit = asyncio.Semaphore(2)
    collectors = [SnmpCollector(snmp_agent.target("rogue"), limit=limit) for _ in range(6)]
    readings = await asyncio.gather(*(c.collect() for c in collectors))
    assert all(r[0].detail["sysName"] for r in readings)
    assert limit._value == 2  # all released


# --- the walk, against fake agents ------------------------------------------------


def _fake(collector: SnmpCollector, answer: Any) -> list[int]:
    """Replace the collector's wire with `answer(asked)`; return a request counter."""
    calls = [0]

    async def request(kind: str, oids: Sequence[tuple[int, ...]], repetitions: int = 0) -> Any:
        calls[0] += 1
        return 0, 0, [(rfc1902.ObjectName(o), v) for o, v in answer(list(oids))]

    collector._request = request  # type: ignore[method-assign]
    return calls


async def test_an_endless_table_stops_at_the_cap() -> None:
    collector = SnmpCollector(SnmpTarget("loop", "127.0.0.1"), max_walk_requests=5)
    # Always a bigger OID inside the column: a table that never ends.
    calls = _fake(collector, lambda asked: [((*o, 1), rfc1902.Integer(1)) for o in asked])
    walk = await collector._walk([IF_TABLE.column_oid("ifOperStatus")])
    assert walk.truncated is True
    assert calls[0] == 5


async def test_an_agent_repeating_itself_ends_the_walk() -> None:
    collector = SnmpCollector(SnmpTarget("stuck", "127.0.0.1"))
    column = IF_TABLE.column_oid("ifOperStatus")
    first = (*column, 7)
    # Returns row 7 whatever it is asked: the OID stops increasing after one step.
    calls = _fake(collector, lambda asked: [(first, rfc1902.Integer(1)) for _ in asked])
    walk = await collector._walk([column])
    assert walk.truncated is False
    assert calls[0] == 2
    assert walk.columns[column] == {(7,): 1}


async def test_a_walk_stops_when_leaving_its_subtree() -> None:
    collector = SnmpCollector(SnmpTarget("next", "127.0.0.1"))
    column = IF_TABLE.column_oid("ifDescr")
    beyond = oid("1.3.6.1.2.1.2.2.1.3.1")  # first row of the next column

    def answer(asked: list[tuple[int, ...]]) -> list[tuple[tuple[int, ...], Any]]:
        if asked[0] == column:
            return [((*column, 1), rfc1902.OctetString(b"eth0")), (beyond, rfc1902.Integer(6))]
        return [(beyond, rfc1902.Integer(6))]

    calls = _fake(collector, answer)
    walk = await collector._walk([column])
    assert calls[0] == 1
    assert walk.columns[column] == {(1,): "eth0"}


# --- rates, from crafted counter values --------------------------------------------


def _if(name: str = "Gi1/0/1", speed: int = GIG, disc: int | None = 0, **c: Any) -> IfCounters:
    return IfCounters(name, speed, {k: CounterSample(*v) for k, v in c.items()}, disc)


def test_counter_delta_plain_and_wrapped() -> None:
    assert counter_delta(100, 250, 32, None) == 150
    # 32-bit wrap, small real movement, plausible for the link.
    assert counter_delta(2**32 - 100, 50, 32, 10_000) == 150
    # Backwards by more than the link could carry: a reset, not a wrap.
    assert counter_delta(2**32 - 100, 50, 32, 100) is None
    # With no speed there is no way to tell a wrap from a reset.
    assert counter_delta(2**32 - 100, 50, 32, None) is None
    # 64-bit counters do not wrap: backwards is a reset.
    assert counter_delta(10**12, 5, 64, 10**15) is None


def test_32_bit_wrap_within_link_speed_gives_a_rate() -> None:
    prev = {1: _if(in_octets=(2**32 - 1_000_000, 32), out_octets=(10, 32))}
    now = {1: _if(in_octets=(1_500_000, 32), out_octets=(20, 32))}
    rates = compute_rates(prev, now, dt=10.0, prev_uptime=1000, uptime=2000)
    assert rates[1]["in_bps"] == pytest.approx(2_500_000 * 8 / 10)
    assert rates[1]["out_bps"] == pytest.approx(8.0)


def test_32_bit_counter_going_back_too_far_is_skipped() -> None:
    # 10 Mbit/s link over 10 s can move at most ~12.5 MB; a "wrap" of ~4 GB is a reset.
    prev = {1: _if(speed=10_000_000, in_octets=(3_000_000_000, 32), out_octets=(5, 32))}
    now = {1: _if(speed=10_000_000, in_octets=(1_000, 32), out_octets=(10, 32))}
    rates = compute_rates(prev, now, dt=10.0, prev_uptime=1000, uptime=2000)
    assert "in_bps" not in rates[1]
    assert rates[1]["out_bps"] == pytest.approx(4.0)


def test_agent_restart_gives_no_rates() -> None:
    prev = {1: _if(in_octets=(5_000_000, 64))}
    now = {1: _if(in_octets=(6_000_000, 64))}  # would look like a fine rate
    assert compute_rates(prev, now, dt=10.0, prev_uptime=500_000, uptime=300) == {}


def test_first_poll_and_bad_interval_give_no_rates() -> None:
    now = {1: _if(in_octets=(1, 64))}
    assert compute_rates(None, now, dt=10.0, prev_uptime=None, uptime=100) == {}
    assert compute_rates(now, now, dt=0.0, prev_uptime=100, uptime=100) == {}


def test_64_bit_counter_going_back_is_a_discontinuity() -> None:
    prev = {1: _if(in_octets=(10**12, 64), out_octets=(100, 64))}
    now = {1: _if(in_octets=(10, 64), out_octets=(200, 64))}
    rates = compute_rates(prev, now, dt=1.0, prev_uptime=1, uptime=2)
    assert rates == {1: {"out_bps": 800.0}}


def test_discontinuity_time_reindexing_and_width_change_skip_the_interface() -> None:
    prev = {
        1: _if(disc=0, in_octets=(100, 64)),
        2: _if(name="Gi1/0/2", in_octets=(100, 64)),
        3: _if(name="Gi1/0/3", in_octets=(100, 64), in_errors=(1, 32)),
    }
    now = {
        1: _if(disc=12345, in_octets=(200, 64)),  # ifCounterDiscontinuityTime moved
        2: _if(name="Vlan2", in_octets=(200, 64)),  # the index now names another interface
        3: _if(name="Gi1/0/3", in_octets=(200, 32), in_errors=(3, 32)),  # HC vanished
    }
    rates = compute_rates(prev, now, dt=1.0, prev_uptime=1, uptime=2)
    assert rates == {3: {"in_errors": 2.0}}


def test_target_validation_and_repr() -> None:
    target = SnmpTarget("sw", "10.0.0.1", community="topsecret", auth_key="k1", priv_key="k2")
    assert "topsecret" not in repr(target)
    assert target.deadline == pytest.approx(target.timeout * (target.retries + 1))
    with pytest.raises(ValueError, match="version"):
        SnmpTarget("sw", "10.0.0.1", version="4")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="user"):
        SnmpTarget("sw", "10.0.0.1", version="3")
    with pytest.raises(ValueError, match="auth protocol"):
        SnmpTarget("sw", "10.0.0.1", version="3", user="u", auth_protocol="rot13")
