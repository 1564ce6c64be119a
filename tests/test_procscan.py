"""The /proc process table agrees with psutil's, on real processes of this host."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from collectors import procscan
from collectors.procscan import ProcScanner

pytestmark = pytest.mark.skipif(not procscan.available(), reason="no Linux /proc here")


def wait_for(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:g} s waiting for {what}")
        time.sleep(0.02)  # a polling interval, bounded by the deadline


@pytest.fixture
def busy() -> Iterator[psutil.Process]:
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def long_named(tmp_path: Path) -> Iterator[psutil.Process]:
    """A process whose name is longer than the kernel's 15 characters."""
    link = tmp_path / "bridge-test-long-process-name"
    link.symlink_to(Path(sys.executable))
    proc = subprocess.Popen([str(link), "-c", "import time; time.sleep(60)"])
    try:
        yield psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def rows_by_pid(scanner: ProcScanner) -> dict[int, dict[str, Any]]:
    return {row["pid"]: row for row in scanner.scan()}


def test_names_users_and_memory_agree_with_psutil(long_named: psutil.Process) -> None:
    wait_for(lambda: len(long_named.cmdline()) > 1, 10, "the child to exec")

    def read() -> dict[int, dict[str, Any]]:
        return {p.pid: p.info for p in psutil.process_iter(["name", "username"])}

    # Read before and after our scan: some processes rename themselves (a kernel
    # worker's name says what it works on now), and only those that kept their
    # name meanwhile can be compared.
    before = read()
    ours = rows_by_pid(ProcScanner())
    after = read()
    theirs = {pid: info for pid, info in after.items() if before.get(pid) == info}
    both = ours.keys() & theirs.keys()
    assert len(both) > 3
    for pid in both:
        assert ours[pid]["name"] == theirs[pid]["name"], pid
        assert ours[pid]["user"] == theirs[pid]["username"], pid
    assert ours[long_named.pid]["name"] == "bridge-test-long-process-name"
    me = psutil.Process()
    rss = me.memory_info().rss
    mine = rows_by_pid(ProcScanner())[me.pid]["rss"]
    assert abs(mine - rss) < rss * 0.1


def test_cpu_shares_between_scans(busy: psutil.Process) -> None:
    scanner = ProcScanner()
    first = rows_by_pid(scanner)
    assert first[busy.pid]["cpu"] == 0.0  # first seen: nothing measured yet
    start = busy.cpu_times()
    wait_for(lambda: sum(busy.cpu_times()) - sum(start) >= 0.3, 20, "0.3 s of busy CPU")
    second = rows_by_pid(scanner)
    share = second[busy.pid]["cpu"]
    assert 20.0 < share <= 105.0  # a core, less what others took
    me = psutil.Process().pid
    assert second[me]["cpu"] < share  # this test mostly waited
