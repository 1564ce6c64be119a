"""Agents that answer garbage, polled beside healthy snmpsim devices on the same socket:
the healthy ones must not notice.

The garbage agents (tests/snmp_garbage.py) run in a process of their own, as they
would on another machine, so what is measured here is only what their answers cost
the poller: random bytes, a 2**31 length, 10 000 nested SEQUENCEs, a wrong request
id, a truncated reply, a late reply, 100 replies per request, 65 KB
sub-identifiers. Healthy cycles with and without them are interleaved round by
round, and the median of the per-round ratios is what is checked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from snmp_agent import SnmpAgent, snmp_agent_fixture  # noqa: F401  (registers it)
from snmp_garbage import KINDS

from collectors.snmp import SnmpCollector, SnmpError, SnmpTarget, close_shared_engine

HERE = Path(__file__).resolve().parent
HEALTHY = 10
ROUNDS = 24
MAX_GROWTH = 0.10


@pytest.fixture
async def garbage_agents() -> AsyncIterator[dict[str, int]]:
    """{kind: UDP port} of one garbage agent per kind, in a child process."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "snmp_garbage.py"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        ports: dict[str, int] = json.loads(line)
        assert sorted(ports) == sorted(KINDS)
        yield ports
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        close_shared_engine()


@dataclasses.dataclass
class Cycle:
    wall: float  # until the last healthy poll ended
    cpu: float  # this process's CPU over the same span


async def _cycle(
    healthy: list[SnmpCollector], garbage: list[SnmpCollector], outcomes: list[object]
) -> Cycle:
    """Poll every healthy device once, and the garbage ones beside them from the same
    instant. Any healthy failure fails the test. Garbage polls still waiting then
    (for a timeout) are cancelled: their garbage has been answered by then."""
    noise = [asyncio.create_task(g.collect()) for g in garbage]
    started, cpu = time.perf_counter(), time.process_time()
    results = await asyncio.gather(*(h.collect() for h in healthy), return_exceptions=True)
    cycle = Cycle(time.perf_counter() - started, time.process_time() - cpu)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert not failed, f"a healthy device failed beside garbage: {failed[0]!r}"
    for task in noise:
        task.cancel()
    for outcome in await asyncio.gather(*noise, return_exceptions=True):
        if not isinstance(outcome, asyncio.CancelledError):
            outcomes.append(outcome)
    return cycle


async def test_garbage_answering_agents_do_not_slow_healthy_devices(
    snmp_agent: SnmpAgent, garbage_agents: dict[str, int]
) -> None:
    # No retries: one healthy answer lost among the junk is a failure, not a delay.
    base = snmp_agent.target("rogue", timeout=2.0, retries=0)
    healthy = [
        SnmpCollector(dataclasses.replace(base, name=f"healthy{i:02d}")) for i in range(HEALTHY)
    ]
    garbage = [
        SnmpCollector(SnmpTarget(kind, "127.0.0.1", port, timeout=0.3, retries=1))
        for kind, port in garbage_agents.items()
    ]
    outcomes: list[object] = []
    await _cycle(healthy, [], outcomes)  # warm: the socket, the address lookups
    alone: list[Cycle] = []
    beside: list[Cycle] = []
    for round_ in range(ROUNDS):
        # Alternate which goes first, so a drift in the machine's load cancels out.
        for with_garbage in (False, True) if round_ % 2 == 0 else (True, False):
            if with_garbage:
                beside.append(await _cycle(healthy, garbage, outcomes))
            else:
                alone.append(await _cycle(healthy, [], outcomes))

    # What a garbage device gives is an SnmpError about it, never Python's text.
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, SnmpError), repr(outcome)
            assert str(outcome).startswith("SNMP device "), str(outcome)

    ratios = sorted(b.wall / a.wall for a, b in zip(alone, beside, strict=True))
    growth = statistics.median(ratios) - 1
    wall = statistics.median(a.wall for a in alone)
    extra_cpu = statistics.median(b.cpu for b in beside) - statistics.median(a.cpu for a in alone)
    report = (
        f"healthy cycle {wall * 1000:.0f} ms alone; beside garbage: median growth "
        f"{growth * 100:+.1f} % (per round {(ratios[0] - 1) * 100:+.0f} .. "
        f"{(ratios[-1] - 1) * 100:+.0f} %), CPU {extra_cpu * 1000:+.1f} ms per cycle"
    )
    print(report)
    assert growth <= MAX_GROWTH, report
