"""Trap capacity: the highest rate of distinct linkDown traps received without loss,
for bridge's trap service and for net-snmp's snmptrapd, in one run.

    python bench/traps.py [--seconds S] [--rates R1,R2,...] [--core N] [--profile]

For each rate R (rising; 1000 to 12000 a second by default), for S seconds (5):

1. bridge: a child process (this script, `--serve`) pinned to core N (1) runs
   the real trap service (bridge.runtime.trap_service.run_trap_receiver) on 127.0.0.1
   with a fresh SQLite store in a temporary folder, [traps] at its defaults but
   the port. Lossless means every trap is stored as its own event: the count of
   `oper-status` events once the child's CPU time has stopped growing for 1 s.
2. snmptrapd: `snmptrapd -f -Lf FILE -C -c CONF -n udp:127.0.0.1:PORT`, pinned
   to the same core, CONF saying `disableAuthorization yes` and the same receive
   buffer as bridge's (`[snmp] serverRecvBuf`); `-F` logs one line per trap.
   Counted once its CPU time stopped growing and it was stopped (SIGTERM).

The same datagrams are sent to both from this process (pinned to another core),
paced by the wall clock in 1 ms ticks: v2c, community `public`, from
127.0.0.1, each a linkDown for its own ifIndex (so a distinct event): sysUpTime,
snmpTrapOID, ifIndex, ifAdminStatus up, ifOperStatus down.

Prints one row per rate: what each kept, its CPU per trap, and when it was
done (seconds from the flood's start until its CPU time stopped growing: more
than S means the flood was worked off from its queue after it ended; 1 / CPU
per trap is the rate it sustains on the core); then the highest lossless rate
of each. With --profile, the bridge child's top functions by own time at the
last rate tried.
Exits 0 (a report), 1 if a receiver did not start or snmptrapd is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

PYTHON = sys.executable
SNMPTRAPD = "/usr/sbin/snmptrapd"
COMMUNITY = b"public"
RECEIVE_BUFFER = 4 * 1024 * 1024  # both receivers ask for this much SO_RCVBUF
LOSS: dict[int, tuple[int | None, int | None]] = {}  # rate: bridge's (kernel drops, not kept)


# -- the traps ------------------------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x82]) + n.to_bytes(2, "big")
    return bytes([tag]) + length + body


def _int(tag: int, value: int) -> bytes:
    return _tlv(tag, value.to_bytes((value.bit_length() + 8) // 8 or 1, "big", signed=True))


def _oid(arcs: tuple[int, ...]) -> bytes:
    out = bytearray([arcs[0] * 40 + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _tlv(0x06, bytes(out))


def link_down(if_index: int) -> bytes:
    """One v2c linkDown trap for `if_index`."""
    column = (1, 3, 6, 1, 2, 1, 2, 2, 1)
    varbinds = [
        _oid((1, 3, 6, 1, 2, 1, 1, 3, 0)) + _int(0x43, if_index & 0x7FFFFFFF),
        _oid((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)) + _oid((1, 3, 6, 1, 6, 3, 1, 1, 5, 3)),
        _oid((*column, 1, if_index)) + _int(0x02, if_index),
        _oid((*column, 7, if_index)) + _int(0x02, 1),
        _oid((*column, 8, if_index)) + _int(0x02, 2),
    ]
    body = b"".join(_tlv(0x30, vb) for vb in varbinds)
    pdu = _tlv(0xA7, _int(0x02, if_index) + _int(0x02, 0) + _int(0x02, 0) + _tlv(0x30, body))
    return _tlv(0x30, _int(0x02, 1) + _tlv(0x04, COMMUNITY) + pdu)


def flood(port: int, datagrams: list[bytes], rate: int) -> float:
    """Send them paced at `rate` a second; the seconds it took."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        start = time.perf_counter()
        sent = 0
        while sent < len(datagrams):
            due = min(len(datagrams), int((time.perf_counter() - start) * rate) + 1)
            while sent < due:
                s.sendto(datagrams[sent], ("127.0.0.1", port))
                sent += 1
            time.sleep(0.001)
        return time.perf_counter() - start


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settle(proc: psutil.Process, quiet: float = 1.0, within: float = 120.0) -> float:
    """Until the process's CPU time stops growing for `quiet` seconds; the
    monotonic time it last grew (when the receiver was done)."""
    deadline = time.monotonic() + within
    last = -1.0
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        times = proc.cpu_times()
        used = times.user + times.system
        if used - last > 0.01:
            last, still_since = used, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            break
        time.sleep(0.1)
    return still_since


# -- the receivers --------------------------------------------------------------


async def serve(port: int, db: str) -> None:
    """The child: bridge's trap service on `port`, until killed (pinned by its caller
    before it starts any thread, so the store's thread shares the core)."""
    from bridge.config.file import Config
    from bridge.core.clock import SystemClock
    from bridge.rules.engine import RuleEngine
    from bridge.rules.thresholds import LevelTracker
    from bridge.runtime.runner import CollectorRunner
    from bridge.runtime.trap_service import run_trap_receiver
    from bridge.store import open_store

    config = Config.model_validate(
        {"local": {"enabled": False}, "store": {"path": db},
         "traps": {"enabled": True, "port": port, "communities": [COMMUNITY.decode()],
                   "receive_buffer": RECEIVE_BUFFER}}
    )  # fmt: skip
    store = await open_store(Path(db))
    runner = CollectorRunner(store, [], SystemClock(), LevelTracker({}), RuleEngine(config))
    ready = asyncio.Event()
    task = asyncio.create_task(run_trap_receiver(config, store, runner, SystemClock(), ready=ready))
    await ready.wait()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await store.close()


def pin(pid: int, core: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {core})


def run_bridge(
    datagrams: list[bytes], rate: int, core: int, tmp: Path, profile: Path | None
) -> tuple[int, float, float]:
    """(events stored, CPU seconds of the receiving process, seconds from the flood's
    start until it was done)."""
    port = free_port()
    db = tmp / f"bridge-{rate}.db"
    args = [PYTHON]
    if profile is not None:
        args += ["-m", "cProfile", "-o", str(profile)]
    args += [__file__, "--serve", str(port), str(db)]
    child = subprocess.Popen(
        args, stdout=subprocess.PIPE, text=True, preexec_fn=lambda: pin(0, core)
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise SystemExit("bench/traps.py: the bridge receiver did not start")
        proc = psutil.Process(child.pid)
        before, start = sum(proc.cpu_times()[:2]), time.monotonic()
        flood(port, datagrams, rate)
        done = settle(proc) - start
        used = sum(proc.cpu_times()[:2]) - before
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            (stored,) = conn.execute(
                "SELECT count(*) FROM events WHERE check_name = 'oper-status'"
            ).fetchone()
            row = conn.execute(
                "SELECT data FROM snapshots WHERE source = 'traps' AND resource = 'receiver'"
            ).fetchone()
        counters = json.loads(row[0]) if row else {}
        LOSS[rate] = (counters.get("kernel_drops"), counters.get("dropped"))
        return int(stored), used, done
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run_snmptrapd(
    datagrams: list[bytes], rate: int, core: int, tmp: Path
) -> tuple[int, float, float]:
    """(traps logged, CPU seconds of snmptrapd, seconds until it was done)."""
    port = free_port()
    log, conf = tmp / f"snmptrapd-{rate}.log", tmp / "snmptrapd.conf"
    conf.write_text(f"disableAuthorization yes\n[snmp] serverRecvBuf {RECEIVE_BUFFER}\n")
    log.unlink(missing_ok=True)
    child = subprocess.Popen(
        [SNMPTRAPD, "-f", "-Lf", str(log), "-C", "-c", str(conf), "-n", "-m", "", "-F", "%v\n",
         f"udp:127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "MIBS": ""},
        preexec_fn=lambda: pin(0, core),
    )  # fmt: skip
    try:
        proc = psutil.Process(child.pid)
        deadline = time.monotonic() + 10
        while not any(c.laddr.port == port for c in proc.net_connections("udp")):
            if time.monotonic() > deadline or child.poll() is not None:
                raise SystemExit("bench/traps.py: snmptrapd did not start")
            time.sleep(0.05)
        before, start = sum(proc.cpu_times()[:2]), time.monotonic()
        flood(port, datagrams, rate)
        done = settle(proc) - start
        used = sum(proc.cpu_times()[:2]) - before
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum("3.6.1.6.3.1.1.5.3" in line for line in text.splitlines()), used, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="1000,2000,3000,4000,5000,6000,8000,10000,12000")
    parser.add_argument("--core", type=int, default=1, help="the receivers' CPU")
    parser.add_argument("--profile", action="store_true", help="cProfile the bridge child")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(int(args.serve[0]), args.serve[1]))
        return 0
    if not Path(SNMPTRAPD).exists():
        raise SystemExit(f"bench/traps.py: {SNMPTRAPD} not found (scripts/install-test-deps)")
    cores = os.cpu_count() or 1
    sender = next((c for c in range(cores) if c != args.core), args.core)
    pin(0, sender)
    rates = [int(r) for r in args.rates.split(",")]
    best = {"bridge": 0, "snmptrapd": 0}
    lossy = {"bridge": False, "snmptrapd": False}
    print(f"{args.seconds:g} s per rate; receivers on core {args.core}, sender on core {sender}; "
          f"receive buffer {RECEIVE_BUFFER} bytes asked")  # fmt: skip
    print(f"{'rate/s':>7} {'sent':>7} {'bridge':>8} {'cpu µs/trap':>11} {'done s':>6} "
          f"{'lost: kernel':>12} {'queue':>6} {'snmptrapd':>9} {'cpu µs/trap':>11} "
          f"{'done s':>6}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-traps-") as folder:
        tmp = Path(folder)
        profile = tmp / "bridge.prof" if args.profile else None
        first = 1
        for rate in rates:
            count = int(rate * args.seconds)
            datagrams = [link_down(i) for i in range(first, first + count)]
            first += count
            stored, b_cpu, b_done = run_bridge(datagrams, rate, args.core, tmp, profile)
            logged, s_cpu, s_done = run_snmptrapd(datagrams, rate, args.core, tmp)
            for name, got in (("bridge", stored), ("snmptrapd", logged)):
                if got >= count and not lossy[name]:
                    best[name] = rate
                elif got < count:
                    lossy[name] = True
            kernel, queue = LOSS.get(rate, (None, None))
            print(f"{rate:>7} {count:>7} {stored:>8} {b_cpu / count * 1e6:>11.0f} "
                  f"{b_done:>6.1f} {kernel if kernel is not None else '?':>12} {queue or 0:>6} "
                  f"{logged:>9} {s_cpu / count * 1e6:>11.0f} {s_done:>6.1f}",
                  flush=True)  # fmt: skip
            if all(lossy.values()):
                break
        print(f"highest lossless rate: bridge {best['bridge']}/s, "
              f"snmptrapd {best['snmptrapd']}/s")  # fmt: skip
        if profile is not None and profile.exists():
            import pstats

            print("\nbridge, at the last rate tried, by own time:")
            pstats.Stats(str(profile)).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
