"""The local-host collector, against the real machine (psutil), plus its rate maths."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from collectors.base import Collector
from collectors.local import (
    MIN_CPU_WINDOW_S,
    LocalCollector,
    _Counters,
    _rates,
    busy_percent,
)


@pytest.fixture
def collector() -> Iterator[LocalCollector]:
    c = LocalCollector(
        interval=1.0, process_interval=60.0, top=5, hostname="testhost", process_warmup=0.0
    )
    yield c
    asyncio.run(c.close())


def test_is_a_collector(collector: LocalCollector) -> None:
    c: Collector = collector
    assert c.name == "local:testhost"  # its health record names its host
    assert c.interval == 1.0


async def test_one_real_collect(collector: LocalCollector) -> None:
    before = time.time()
    readings = await collector.collect()
    after = time.time()
    (reading,) = readings
    assert reading.source == "local"
    assert reading.resource == "testhost"
    assert before <= reading.at <= after

    m = reading.metrics
    assert 0.0 <= m["cpu"] <= 100.0
    assert 0.0 < m["memory"] <= 100.0
    assert 0.0 <= m["swap"] <= 100.0
    assert m["load"] >= 0.0
    disks = [k for k in m if k.startswith("disk:")]
    assert disks, f"no disk metric in {sorted(m)}"
    for key in disks:
        assert 0.0 <= m[key] <= 100.0
    for key in ("net_rx", "net_tx", "disk_read", "disk_write"):
        assert m[key] >= 0.0
    assert all(isinstance(v, float | int) for v in m.values())

    d = reading.detail
    for key in (
        "hostname",
        "cpu",
        "load",
        "memory",
        "swap",
        "disks",
        "disk_io",
        "net_io",
        "uptime",
        "processes",
        "temperatures",
    ):
        assert key in d, key
    assert d["hostname"] == "testhost"
    assert d["cpu"]["cores"] >= 1
    assert len(d["cpu"]["per_core"]) >= 1
    assert d["memory"]["total"] > 0
    assert len(d["disks"]) == len(disks)
    assert {f"disk:{x['mount']}" for x in d["disks"]} == set(disks)
    assert d["processes"]["count"] >= 1
    assert len(d["processes"]["by_cpu"]) <= 5
    assert d["uptime"] > 0
    json.dumps(d)  # the detail is stored as JSON: it must serialise


async def test_second_collect_has_rates_and_reuses_process_table(collector: LocalCollector) -> None:
    first = (await collector.collect())[0]
    second = (await collector.collect())[0]
    # Within process_interval the process table is reused rather than re-read.
    assert second.detail["processes"]["at"] == first.detail["processes"]["at"]
    for nic in second.detail["net_io"]:
        assert nic["rx_bps"] >= 0 and nic["tx_bps"] >= 0
        assert nic["name"] != "lo"


async def test_process_table_waits_for_its_warm_up() -> None:
    # Right after priming every process's CPU share would read 0: the first
    # samples say "not yet" rather than show a table of zeros.
    c = LocalCollector(interval=1.0, process_interval=60.0, top=5, process_warmup=60.0)
    try:
        (first,) = await c.collect()
        assert first.detail["processes"] == {}
        assert first.metrics["memory"] > 0  # the rest of the sample is there
    finally:
        await c.close()


class _Recording(LocalCollector):
    def __init__(self) -> None:
        super().__init__(interval=1.0, top=0)
        self.threads: set[str] = set()

    def _sample(self) -> Any:
        self.threads.add(threading.current_thread().name)
        return super()._sample()


async def test_samples_run_on_the_collectors_own_thread() -> None:
    # psutil 7 keeps cpu_percent's baseline per thread: on a thread pool's
    # fresh thread a sample measures over no time at all and reads 0.
    c = _Recording()
    try:
        for _ in range(3):
            await c.collect()
    finally:
        await c.close()
    assert len(c.threads) == 1
    assert next(iter(c.threads)).startswith("local-sample")


def test_busy_percent_from_two_counter_readings() -> None:
    from collections import namedtuple

    T = namedtuple("T", "user nice system idle iowait guest guest_nice")
    before = T(100, 0, 50, 800, 50, 10, 0)
    # +30 user (of which 10 guest, counted twice by Linux), +10 system, +50 idle, +10 iowait
    after = T(130, 0, 60, 850, 60, 20, 0)
    assert busy_percent(before, after) == pytest.approx(40 / 100 * 100)
    assert busy_percent(after, after) == 0.0  # no time passed: no figure, not a division
    assert busy_percent(after, before) == 0.0  # counters went back (never negative)


async def test_the_first_cpu_share_covers_a_real_span(monkeypatch: pytest.MonkeyPatch) -> None:
    # Measured over a few milliseconds, a first sample read 100 % busy and
    # raised a critical CPU event on every console start. As for a collector
    # made long after import: no import-time counters to start from.
    monkeypatch.setattr("collectors.local._IMPORTED_FRESH_S", 0.0)
    c = LocalCollector(interval=1.0, top=0)
    try:
        (first,) = await c.collect()
        (second,) = await c.collect()
    finally:
        await c.close()
    for reading in (first, second):
        cpu = reading.detail["cpu"]
        assert cpu["window"] >= MIN_CPU_WINDOW_S
        assert 0.0 <= cpu["total"] <= 100.0
        assert len(cpu["per_core"]) == cpu["cores"]


def test_rates_from_two_readings() -> None:
    prev = _Counters(10.0, {"eth0": (1000, 500), "sda": (0, 0)})
    now = _Counters(12.0, {"eth0": (3000, 900), "sda": (4096, 0), "new0": (5, 5)})
    assert _rates(prev, now) == {"eth0": (1000.0, 200.0), "sda": (2048.0, 0.0)}


def test_rates_never_negative_on_counter_reset() -> None:
    prev = _Counters(10.0, {"eth0": (10_000, 10_000), "eth1": (100, 100)})
    now = _Counters(11.0, {"eth0": (50, 20_000), "eth1": (200, 50)})  # each has one reset
    rates = _rates(prev, now)
    assert rates == {}
    assert all(a >= 0 and b >= 0 for a, b in rates.values())


def test_rates_need_a_previous_reading_and_time_moving_forward() -> None:
    now = _Counters(10.0, {"eth0": (100, 100)})
    assert _rates(None, now) == {}
    assert _rates(_Counters(10.0, {"eth0": (0, 0)}), now) == {}  # dt == 0
    assert _rates(_Counters(11.0, {"eth0": (0, 0)}), now) == {}  # clock went back


async def test_the_first_sample_measures_from_counters_read_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As the console's: counters read when the collector module was imported,
    # well over MIN_CPU_WINDOW_S ago, so the first sample needs no wait for its span.
    from collectors.local import _CpuMeter

    imported = _CpuMeter.now()
    imported.at -= 2.0
    monkeypatch.setattr("collectors.local._IMPORTED", imported)
    c = LocalCollector(interval=1.0, top=0)
    try:
        began = time.monotonic()
        (first,) = await c.collect()
        took = time.monotonic() - began
    finally:
        await c.close()
    assert first.detail["cpu"]["window"] >= 2.0
    assert took < MIN_CPU_WINDOW_S, f"waited {took:.3f} s for a span it already had"
