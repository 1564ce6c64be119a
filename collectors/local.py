"""The local host, through psutil.

psutil calls block, so a sample runs in a worker thread of its own. CPU shares
come from the kernel's counters at two moments (_CpuMeter), not from
psutil.cpu_percent: psutil 7 keeps that one's "since the last call" per calling
thread, and a first sample moments after priming measured nothing but its own
start-up (100 % busy, and a critical CPU event on every console start).

The process table is ~95 % of a sample's cost, so it is refreshed on its own,
slower interval and the last table is reused in between; on Linux it is read
from /proc directly (collectors/procscan.py), ~5 times cheaper than psutil's.
"""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psutil

from collectors import procscan
from collectors.base import Reading

__all__ = ["LocalCollector"]

# File systems that are not storage an operator would watch fill up.
_PSEUDO_FS = frozenset(
    {"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "cgroup", "cgroup2", "nsfs"}
)
_SKIP_DISK_PREFIXES = ("loop", "ram", "zram", "sr")
# A process's CPU share is measured from when it was first seen: the table
# waits this long after priming, so its first figures are not noise.
PROCESS_WARMUP_S = 0.5
# The process scan that primes the table starts this long after the first
# sample: meanwhile the console paints its first screen from that sample, and
# the scan (~20 ms here, far more on a busy server) would share the
# interpreter with it. The table still comes after the warm-up that follows.
PROCESS_PRIME_DELAY_S = 0.3
# The shortest span a CPU share is measured over: the kernel counts in ticks of
# 10 ms, so shorter spans give figures like 0, 50 and 100 %.
MIN_CPU_WINDOW_S = 0.25
# The counters read when this module was imported seed the first collector's
# meter, so the console's first sample covers its whole start-up and needs no
# wait; older than this and they describe another time.
_IMPORTED_FRESH_S = 10.0


def _busy_and_total(t: Any) -> tuple[float, float]:
    total = float(sum(t))
    # Linux counts guest time inside user and nice as well.
    total -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    return total - t.idle - getattr(t, "iowait", 0.0), total


def busy_percent(before: Any, after: Any) -> float:
    """The busy share of CPU time between two psutil.cpu_times() readings."""
    busy0, total0 = _busy_and_total(before)
    busy1, total1 = _busy_and_total(after)
    if total1 <= total0:
        return 0.0
    return max(0.0, min(100.0, (busy1 - busy0) / (total1 - total0) * 100.0))


class _CpuMeter:
    def __init__(self, at: float, total: Any, cores: list[Any]) -> None:
        self.at, self._total, self._cores = at, total, cores

    @classmethod
    def now(cls) -> _CpuMeter:
        return cls(time.monotonic(), psutil.cpu_times(), psutil.cpu_times(percpu=True))

    def read(self) -> tuple[float, list[float], float]:
        """Total and per-core busy %, and the seconds they cover, since the last read."""
        wait = self.at + MIN_CPU_WINDOW_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # on the sampling thread, and at most once
        at, total, cores = time.monotonic(), psutil.cpu_times(), psutil.cpu_times(percpu=True)
        result = (
            busy_percent(self._total, total),
            [busy_percent(a, b) for a, b in zip(self._cores, cores, strict=False)],
            at - self.at,
        )
        self.at, self._total, self._cores = at, total, cores
        return result


_IMPORTED = _CpuMeter.now()


@dataclass
class _Counters:
    """Cumulative per-device counters (disk or network) and when they were read:
    a rate needs two readings."""

    at: float
    values: dict[str, tuple[int, int]] = field(default_factory=dict)


def _rates(prev: _Counters | None, now: _Counters) -> dict[str, tuple[float, float]]:
    """Per-device (a, b) rates from two counter readings.

    A counter that went backwards (device reset, hot-plug) gives no rate this
    round rather than a huge false spike.
    """
    if prev is None or now.at <= prev.at:
        return {}
    dt = now.at - prev.at
    out: dict[str, tuple[float, float]] = {}
    for name, (a, b) in now.values.items():
        old = prev.values.get(name)
        if old is None or a < old[0] or b < old[1]:
            continue
        out[name] = ((a - old[0]) / dt, (b - old[1]) / dt)
    return out


class LocalCollector:
    name = "local"
    reachability: tuple[str, str] | None = None
    # Sampled on the second, so its figures and the header's clock change in one
    # frame: one screen update a second instead of two when their phases differ.
    on_the_clock = True

    def __init__(
        self,
        interval: float = 2.0,
        process_interval: float = 10.0,
        top: int = 8,
        hostname: str | None = None,
        process_warmup: float = PROCESS_WARMUP_S,
    ) -> None:
        self.interval = interval
        self.process_interval = process_interval
        self.top = top
        self.hostname = hostname or socket.gethostname()
        # Its health record is named by its host where one is given: hosts sharing a
        # store would otherwise write over each other's.
        self.name = f"local:{hostname}" if hostname else "local"
        self._disk: _Counters | None = None
        self._net: _Counters | None = None
        self._procs: dict[str, Any] = {}
        self.process_warmup = process_warmup
        self._procs_due = time.monotonic() + process_warmup
        self._procs_primed = False
        self._scanner = procscan.ProcScanner() if procscan.available() else None
        self._prime_later: asyncio.TimerHandle | None = None
        seed = _IMPORTED if time.monotonic() - _IMPORTED.at < _IMPORTED_FRESH_S else None
        self._cpu = _CpuMeter(seed.at, seed._total, seed._cores) if seed is not None else None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-sample")
        if self._cpu is None:
            self._thread.submit(self._prime_cpu)

    async def collect(self) -> list[Reading]:
        loop = asyncio.get_running_loop()
        reading = await loop.run_in_executor(self._thread, self._sample)
        if not self._procs_primed:
            # After the first sample, not before it: the console's first screen
            # waits for that sample (and its process table comes after the warm-up).
            self._procs_primed = True
            self._prime_later = loop.call_later(
                PROCESS_PRIME_DELAY_S, self._thread.submit, self._prime_processes
            )
        return [reading]

    async def close(self) -> None:
        if self._prime_later is not None:
            self._prime_later.cancel()
        self._thread.shutdown(wait=False, cancel_futures=True)

    def _prime_cpu(self) -> None:
        if self._cpu is None:
            self._cpu = _CpuMeter.now()

    def _prime_processes(self) -> None:
        # A process's cpu_percent measures since its previous call; psutil
        # caches the Process objects between scans. A table already read (no
        # warm-up) needs no priming.
        if self.top and not self._procs:
            if self._scanner is not None:
                self._scanner.scan()
            else:
                for _ in psutil.process_iter(["cpu_percent"]):
                    pass
            self._procs_due = max(self._procs_due, time.monotonic() + self.process_warmup)

    def _sample(self) -> Reading:
        at = time.time()
        mono = time.monotonic()
        if self._cpu is None:  # not primed yet (made long after import)
            self._prime_cpu()
        assert self._cpu is not None
        cpu_total, per_core, cpu_window = self._cpu.read()
        cores = psutil.cpu_count() or max(1, len(per_core))
        load = psutil.getloadavg()
        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
        disks = self._disks()
        disk_io = self._disk_io(mono)
        net_io = self._net_io(mono)
        if self.top and mono >= self._procs_due:
            self._procs = self._processes(at)
            self._procs_due = mono + self.process_interval
        metrics: dict[str, float] = {
            "cpu": cpu_total,
            "memory": vm.percent,
            "swap": sw.percent,
            "load": load[0] / cores,
            "net_rx": sum(n["rx_bps"] for n in net_io),
            "net_tx": sum(n["tx_bps"] for n in net_io),
            "disk_read": sum(d["read_Bps"] for d in disk_io),
            "disk_write": sum(d["write_Bps"] for d in disk_io),
        }
        for d in disks:
            metrics[f"disk:{d['mount']}"] = d["percent"]
        detail: dict[str, Any] = {
            "hostname": self.hostname,
            "cpu": {
                "total": cpu_total,
                "per_core": per_core,
                "cores": cores,
                "window": round(cpu_window, 3),
            },
            "load": list(load),
            "memory": {"total": vm.total, "used": vm.total - vm.available, "percent": vm.percent},
            "swap": {"total": sw.total, "used": sw.used, "percent": sw.percent},
            "disks": disks,
            "disk_io": disk_io,
            "net_io": net_io,
            "uptime": max(0.0, at - psutil.boot_time()),
            "processes": self._procs,
            "temperatures": self._temperatures(),
        }
        return Reading(
            source="local", resource=self.hostname, at=at, metrics=metrics, detail=detail
        )

    @staticmethod
    def _disks() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for part in psutil.disk_partitions(all=False):
            if part.fstype in _PSEUDO_FS or part.device in seen:
                continue
            try:
                usage = psutil.disk_usage(part.mountpoint)
            except OSError:  # unmounted meanwhile, or no permission
                continue
            if usage.total == 0:
                continue
            seen.add(part.device)
            out.append(
                {
                    "mount": part.mountpoint,
                    "device": part.device,
                    "fstype": part.fstype,
                    "total": usage.total,
                    "used": usage.used,
                    "percent": usage.percent,
                }
            )
        return out

    def _disk_io(self, mono: float) -> list[dict[str, Any]]:
        counters = psutil.disk_io_counters(perdisk=True) or {}
        now = _Counters(
            mono,
            {
                name: (c.read_bytes, c.write_bytes)
                for name, c in counters.items()
                if not name.startswith(_SKIP_DISK_PREFIXES)
            },
        )
        rates = _rates(self._disk, now)
        self._disk = now
        return [{"name": n, "read_Bps": r, "write_Bps": w} for n, (r, w) in sorted(rates.items())]

    def _net_io(self, mono: float) -> list[dict[str, Any]]:
        counters = psutil.net_io_counters(pernic=True)
        now = _Counters(
            mono,
            {n: (c.bytes_recv, c.bytes_sent) for n, c in counters.items() if n != "lo"},
        )
        rates = _rates(self._net, now)
        self._net = now
        return [
            {"name": n, "rx_bps": rx * 8, "tx_bps": tx * 8} for n, (rx, tx) in sorted(rates.items())
        ]

    def _processes(self, at: float) -> dict[str, Any]:
        rows = self._scanner.scan() if self._scanner is not None else self._psutil_processes()
        by_cpu = sorted(rows, key=lambda r: r["cpu"], reverse=True)[: self.top]
        by_mem = sorted(rows, key=lambda r: r["rss"], reverse=True)[: self.top]
        return {"at": at, "count": len(rows), "by_cpu": by_cpu, "by_mem": by_mem}

    @staticmethod
    def _psutil_processes() -> list[dict[str, Any]]:
        """Where there is no Linux /proc (procscan): psutil's table."""
        rows: list[dict[str, Any]] = []
        for proc in psutil.process_iter(["pid", "name", "username", "cpu_percent", "memory_info"]):
            info = proc.info
            mem = info.get("memory_info")
            rows.append(
                {
                    "pid": info["pid"],
                    "name": info.get("name") or "?",
                    "user": info.get("username") or "?",
                    "cpu": info.get("cpu_percent") or 0.0,
                    "rss": mem.rss if mem else 0,
                }
            )
        return rows

    @staticmethod
    def _temperatures() -> list[dict[str, Any]]:
        read = getattr(psutil, "sensors_temperatures", None)
        if read is None:
            return []
        try:
            sensors = read()
        except (OSError, RuntimeError):
            return []
        out = []
        for chip, entries in sensors.items():
            for t in entries:
                out.append(
                    {
                        "label": f"{chip} {t.label}".strip(),
                        "current": t.current,
                        "high": t.high,
                        "critical": t.critical,
                    }
                )
        return out
