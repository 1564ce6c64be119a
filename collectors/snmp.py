"""SNMP devices: v1/v2c over our own codec (`snmp_wire`), v3 through pysnmp 7.

One `SnmpCollector` polls one device. All collectors on an event loop share one
socket for v1/v2c, one pysnmp `SnmpEngine` per v3 credential set (building one
costs most of a second), and one semaphore that bounds how many device polls
are in flight at once (an unbounded burst of requests loses most of them to
timeouts). pysnmp is imported only for a v3 device (`collectors.snmp_v3`): it
is most of a polling process's memory, and v1/v2c never need it.

A standard poll is a GET of the system group, then one GETBULK walk of the
IF-MIB ifTable/ifXTable columns and the HOST-RESOURCES processor and storage
columns together. Each column stops as soon as the agent answers with an OID
outside it (or one that does not increase), and the whole walk stops after a
fixed number of requests, so a broken or endless agent cannot hold a poll.
Objects the agent does not have are simply absent.

Interface rates come from the counter deltas between two polls: 64-bit HC
counters when the agent has them, else the 32-bit ones with wrap handling. No
rate is given on the first poll, after an agent restart (sysUpTime went back) or
after a counter discontinuity, so none of those shows as a false traffic spike.

Device-provided strings are returned as plain `str` (valid, printable UTF-8 as
sent, anything else as hex: see `octets_text`), never interpreted here; the
screen must show them literally. Communities and v3 keys are never part of a
repr, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import socket
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from collectors.base import Reading
from collectors.snmp_oids import (
    HR_PROCESSOR,
    HR_STORAGE,
    IF_TABLE,
    IF_X_TABLE,
    OPER_STATUS,
    SYSTEM,
    Oid,
    Table,
)
from collectors.snmp_wire import (
    END_OF_MIB,
    GET,
    GET_BULK,
    GET_NEXT,
    BerError,
    WireTimeout,
    close_wire,
    shared_wire,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "CounterSample",
    "IfCounters",
    "SnmpCollector",
    "SnmpError",
    "SnmpTarget",
    "SnmpTimeout",
    "close_shared_engine",
    "compute_rates",
    "counter_delta",
    "octets_text",
    "shared_engine",
    "shared_limit",
    "shared_suspect_limit",
]

log = logging.getLogger(__name__)

Version = Literal["1", "2c", "3"]

DEFAULT_CONCURRENCY = 64  # device polls in flight at once, per event loop
# Devices whose last poll failed wait in a pool of their own: a dead device spends
# its timeouts there, never in a slot a healthy device is waiting for.
SUSPECT_CONCURRENCY = 16
MAX_WALK_REQUESTS = 256  # per walk; a 48-port switch needs about 6
VARBINDS_PER_RESPONSE = 200  # GETBULK max-repetitions x columns, before agent truncation

# The names SnmpTarget accepts; collectors.snmp_v3 maps them to pysnmp's protocols.
AUTH_PROTOCOL_NAMES = frozenset({"none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"})
PRIV_PROTOCOL_NAMES = frozenset({"none", "des", "3des", "aes", "aes128", "aes192", "aes256"})


class SnmpError(Exception):
    """A poll failed. The message names the device, never its credentials."""


class SnmpTimeout(SnmpError, TimeoutError):
    """The device did not answer within timeout x (retries + 1)."""


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """One device to poll. Secrets are left out of repr so they never reach a log."""

    name: str
    address: str
    port: int = 161
    version: Version = "2c"
    community: str = field(default="public", repr=False)
    user: str = ""
    auth_protocol: str = "none"  # none, md5, sha, sha224, sha256, sha384, sha512
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "none"  # none, des, 3des, aes (=aes128), aes192, aes256
    priv_key: str = field(default="", repr=False)
    context: str = ""
    timeout: float = 2.0  # seconds per try
    retries: int = 1
    interval: float = 60.0

    def __post_init__(self) -> None:
        if self.version not in ("1", "2c", "3"):
            raise ValueError(f"device {self.name}: SNMP version must be 1, 2c or 3")
        if self.auth_protocol.lower() not in AUTH_PROTOCOL_NAMES:
            raise ValueError(f"device {self.name}: unknown auth protocol {self.auth_protocol!r}")
        if self.priv_protocol.lower() not in PRIV_PROTOCOL_NAMES:
            raise ValueError(f"device {self.name}: unknown privacy protocol {self.priv_protocol!r}")
        if self.version == "3" and not self.user:
            raise ValueError(f"device {self.name}: SNMPv3 needs a user")
        if self.timeout <= 0 or self.retries < 0:
            raise ValueError(f"device {self.name}: timeout must be > 0 and retries >= 0")

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.community, self.auth_key, self.priv_key) if s)

    @property
    def deadline(self) -> float:
        """The longest one request can take before pysnmp gives up on it."""
        return self.timeout * (self.retries + 1)


def mask_secrets(text: str, secrets: Sequence[str]) -> str:
    """`text` with each of `secrets` that stands in it as a value of its own (quoted,
    or between spaces and punctuation) shown as ***; a secret that is only part of
    a longer word ("fw" in "fw-dmz") is not one, and masking it would garble the text."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        pattern = rf"(?<![\w.-]){re.escape(secret)}(?![\w.-])"
        text = re.sub(pattern, "***", text)
    return text


# --- one engine and one limit per event loop ---------------------------------

_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)
_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
_suspect_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def shared_engine(group: str = "") -> Any:
    """The running loop's SnmpEngine for `group`, created on first use.

    Every v1/v2c device shares the default group. pysnmp keeps one USM entry per
    v3 user name in an engine, so devices with the same v3 user but different
    keys would overwrite each other's keys in flight: each distinct v3
    credential set gets an engine of its own (an estate has only a few).
    """
    loop = asyncio.get_running_loop()
    engines = _engines.setdefault(loop, {})
    engine = engines.get(group)
    if engine is None:
        from collectors.snmp_v3 import new_engine

        engine = engines[group] = new_engine()
    return engine


def shared_limit(concurrency: int = DEFAULT_CONCURRENCY) -> asyncio.Semaphore:
    """The running loop's semaphore bounding concurrent device polls (size fixed at creation)."""
    loop = asyncio.get_running_loop()
    limit = _limits.get(loop)
    if limit is None:
        limit = _limits[loop] = asyncio.Semaphore(concurrency)
    return limit


def shared_suspect_limit() -> asyncio.Semaphore:
    """The running loop's pool for devices whose last poll failed."""
    loop = asyncio.get_running_loop()
    limit = _suspect_limits.get(loop)
    if limit is None:
        limit = _suspect_limits[loop] = asyncio.Semaphore(SUSPECT_CONCURRENCY)
    return limit


def close_shared_engine() -> None:
    """Close the running loop's engines and socket; the next poll makes new ones."""
    loop = asyncio.get_running_loop()
    for engine in _engines.pop(loop, {}).values():
        engine.close_dispatcher()
    close_wire()


# --- values --------------------------------------------------------------------

Value = int | str


def _plain(value: Any) -> Value | None:
    """A polled value as a plain int or str; None for 'not there'. Wire values are
    already plain; only a v3 poll brings pysnmp's types (and pysnmp with them)."""
    if value is None or value is END_OF_MIB:
        return None
    if isinstance(value, int | str):
        return value
    if isinstance(value, bytes):
        return octets_text(value)
    from collectors.snmp_v3 import plain

    return plain(value, octets_text)


def _end_of_mib(value: Any) -> bool:
    if value is END_OF_MIB:
        return True
    if value is None or isinstance(value, int | str | bytes):
        return False
    from collectors.snmp_v3 import is_end_of_mib

    return is_end_of_mib(value)


_TEXT_CONTROLS = frozenset("\t\n\r")


def octets_text(data: bytes) -> str:
    """An OCTET STRING as text: itself where it is valid, printable UTF-8, else hex.

    The same type carries names and descriptions (text, often ending in a NUL,
    often multi-line) and MAC addresses and other binary values, and the agent
    does not say which; a lossy decode would show a MAC as replacement
    characters. Hex (`00:16:3e:...`) keeps every byte visible and unambiguous.
    """
    text = data.rstrip(b"\0")
    if not text and data:
        return data.hex(":")  # only NULs: a binary value
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex(":")
    if decoded.isprintable() or all(c.isprintable() or c in _TEXT_CONTROLS for c in decoded):
        return decoded
    return data.hex(":")


def _int(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None


def _str(value: Value | None) -> str:
    return value if isinstance(value, str) else ""


# --- rates -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CounterSample:
    value: int
    bits: Literal[32, 64]


@dataclass(frozen=True, slots=True)
class IfCounters:
    """One interface's counters at one poll."""

    name: str
    speed: int  # bit/s; 0 when unknown
    counters: Mapping[str, CounterSample]  # in_octets, out_octets, in_errors, ...
    discontinuity: int | None = None  # ifCounterDiscontinuityTime


# Per-counter: (rate name, multiplier to the rate unit, bytes per unit for the plausibility bound)
_RATE_OF: dict[str, tuple[str, int, int]] = {
    "in_octets": ("in_bps", 8, 1),
    "out_octets": ("out_bps", 8, 1),
    "in_errors": ("in_errors", 1, 64),  # a frame is at least 64 bytes
    "out_errors": ("out_errors", 1, 64),
    "in_discards": ("in_discards", 1, 64),
    "out_discards": ("out_discards", 1, 64),
}
_WRAP_HEADROOM = 1.1


def counter_delta(prev: int, now: int, bits: int, limit: float | None) -> int | None:
    """How far a counter moved, or None when that cannot be known.

    A 32-bit counter that went backwards wrapped once if the implied delta is
    plausible (at most `limit`, from the interface speed); otherwise, or with
    no known limit, it was reset and the delta is unknown. A 64-bit counter
    never wraps in practice, so going backwards always means a reset.
    """
    if now >= prev:
        return now - prev
    if bits != 32 or limit is None:
        return None
    delta = now + 2**32 - prev
    return delta if delta <= limit else None


def compute_rates(
    prev: Mapping[int, IfCounters] | None,
    now: Mapping[int, IfCounters],
    dt: float,
    prev_uptime: int | None,
    uptime: int | None,
) -> dict[int, dict[str, float]]:
    """Per-interface rates (in_bps, out_bps, errors/s, discards/s) between two polls.

    Nothing on the first poll, for a non-positive interval, or when sysUpTime
    went backwards (the agent restarted: its counters restarted too). An
    interface whose index now names a different interface, or whose counters
    had a discontinuity, gets nothing this round; a counter that switched
    between 32 and 64 bits is skipped.
    """
    if prev is None or dt <= 0:
        return {}
    if prev_uptime is not None and uptime is not None and uptime < prev_uptime:
        return {}
    out: dict[int, dict[str, float]] = {}
    for index, cur in now.items():
        old = prev.get(index)
        if old is None or old.name != cur.name or old.discontinuity != cur.discontinuity:
            continue
        rates: dict[str, float] = {}
        for key, sample in cur.counters.items():
            before = old.counters.get(key)
            spec = _RATE_OF.get(key)
            if before is None or spec is None or before.bits != sample.bits:
                continue
            rate_name, scale, unit_bytes = spec
            limit = cur.speed / 8 / unit_bytes * dt * _WRAP_HEADROOM if cur.speed > 0 else None
            delta = counter_delta(before.value, sample.value, sample.bits, limit)
            if delta is not None:
                rates[rate_name] = delta * scale / dt
        if rates:
            out[index] = rates
    return out


# --- the collector -----------------------------------------------------------------

_WALK_TABLES: tuple[Table, ...] = (IF_TABLE, IF_X_TABLE, HR_PROCESSOR, HR_STORAGE)
_WALK_COLUMNS: tuple[tuple[str, Oid], ...] = tuple(
    (name, table.column_oid(name)) for table in _WALK_TABLES for name in table.columns
)
_NO_SUCH_NAME = 2  # SNMPv1 error-status at the end of the MIB / for a missing object
_TOO_BIG = 1


@dataclass(frozen=True, slots=True)
class _Walk:
    columns: dict[Oid, dict[Oid, Value]]
    requests: int
    truncated: bool


@dataclass(slots=True)
class _Previous:
    mono: float
    uptime: int | None
    interfaces: dict[int, IfCounters]


class SnmpCollector:
    """Polls one device; `collect()` returns one Reading or raises SnmpError."""

    def __init__(
        self,
        target: SnmpTarget,
        *,
        limit: asyncio.Semaphore | None = None,
        max_walk_requests: int = MAX_WALK_REQUESTS,
        varbinds_per_response: int = VARBINDS_PER_RESPONSE,
    ) -> None:
        self.target = target
        self.name = f"snmp:{target.name}"
        self.interval = target.interval
        self.reachability: tuple[str, str] | None = ("snmp", target.name)
        self.on_the_clock = False
        self.max_walk_requests = max_walk_requests
        self.varbinds_per_response = max(1, varbinds_per_response)
        self._limit = limit
        # v1/v2c go over our own BER codec and shared socket (see snmp_wire); v3 via
        # pysnmp (collectors.snmp_v3), imported only here, for a v3 device.
        self._direct = target.version in ("1", "2c")
        self._session: Any = None
        if not self._direct:
            from collectors.snmp_v3 import Session

            self._session = Session(target)
        self._peer: tuple[str, int] | None = None
        self._engine_group = _engine_group(target)
        self._previous: _Previous | None = None
        self.failing = False  # the last poll failed: poll from the suspect pool

    def __repr__(self) -> str:
        return f"SnmpCollector({self.target!r})"

    async def close(self) -> None:
        self._forget_transport()

    def _forget_transport(self) -> None:
        if self._session is not None:
            self._session.transport = None

    async def collect(self) -> list[Reading]:
        if self._limit is not None:
            limit = self._limit
        else:
            limit = shared_suspect_limit() if self.failing else shared_limit()
        async with limit:
            started = time.monotonic()
            try:
                system = await self._get_system()
                walk_started = time.monotonic()
                walk = await self._walk([oid for _, oid in _WALK_COLUMNS])
                walk_ended = time.monotonic()
            except SnmpError:
                self._forget_transport()
                self._peer = None  # re-resolve the address next time
                self.failing = True
                raise
            self.failing = False
        named = {name: walk.columns[col] for name, col in _WALK_COLUMNS}
        return [
            self._reading(
                system, named, (walk_started + walk_ended) / 2, walk, time.monotonic() - started
            )
        ]

    # --- requests ----------------------------------------------------------------

    def _describe(self, what: str) -> str:
        """One line naming the device; `what` may be a library's text, so a secret
        it echoes is masked there, and only there: the device's name and address
        are ours and shown as they are, even if a community equals one of them."""
        return (
            f"SNMP device {self.target.name} ({self.target.endpoint}): "
            f"{mask_secrets(what, self.target.secrets)}"
        )

    def _check(self, error_indication: Any) -> None:
        if not error_indication:
            return
        name = type(error_indication).__name__
        if name == "RequestTimedOut":
            raise SnmpTimeout(
                self._describe(
                    f"no response within {self.target.timeout:g} s x "
                    f"{self.target.retries + 1} tries"
                )
            )
        raise SnmpError(self._describe(str(error_indication)))

    async def _resolve(self) -> tuple[str, int]:
        if self._peer is None:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(
                    self.target.address, self.target.port, family=socket.AF_INET,
                    type=socket.SOCK_DGRAM,
                )  # fmt: skip
            except OSError as exc:
                raise SnmpError(self._describe(f"cannot resolve address: {exc}")) from None
            host, port = infos[0][4][:2]
            self._peer = (str(host), int(port))
        return self._peer

    async def _direct_request(
        self, kind: str, oids: Sequence[Oid], repetitions: int
    ) -> tuple[int, int, list[tuple[Oid, Any]]]:
        peer = await self._resolve()
        wire = await shared_wire()
        try:
            response = await wire.request(
                peer,
                0 if self.target.version == "1" else 1,
                self.target.community.encode(),
                {"get": GET, "next": GET_NEXT}.get(kind, GET_BULK),
                oids,
                max_repetitions=repetitions,
                per_try=self.target.timeout,
                tries=self.target.retries + 1,
            )
        except BerError as exc:
            raise SnmpError(self._describe(f"malformed response: {exc}")) from None
        except WireTimeout:
            raise SnmpTimeout(
                self._describe(
                    f"no response within {self.target.timeout:g} s x "
                    f"{self.target.retries + 1} tries"
                )
            ) from None
        except OSError as exc:
            raise SnmpError(self._describe(f"{type(exc).__name__}: {exc}")) from None
        return response.error_status, response.error_index, response.varbinds

    async def _request(self, kind: str, oids: Sequence[Oid], repetitions: int = 0) -> Any:
        if self._direct:
            return await self._direct_request(kind, oids, repetitions)
        from collectors.snmp_v3 import PySnmpError

        engine = shared_engine(self._engine_group)
        try:
            error_indication, status, index, response = await self._session.request(
                engine, kind, oids, repetitions
            )
        except PySnmpError as exc:
            raise SnmpError(self._describe(f"{type(exc).__name__}: {exc}")) from None
        self._check(error_indication)
        return status, index, response

    async def _get_system(self) -> dict[str, Value]:
        names = list(SYSTEM)
        oids = [SYSTEM[n] for n in names]
        for _ in range(len(oids) + 1):
            status, index, response = await self._request("get", oids)
            if status == _NO_SUCH_NAME and 0 < index <= len(oids):
                # SNMPv1 fails the whole GET for one missing object: drop it and ask again.
                del names[index - 1], oids[index - 1]
                if not oids:
                    break
                continue
            if status:
                raise SnmpError(self._describe(f"agent error-status {status} on GET"))
            out: dict[str, Value] = {}
            for name, (_, value) in zip(names, response, strict=False):
                plain = _plain(value)
                if plain is not None:
                    out[name] = plain
            return out
        return {}

    async def _walk(self, columns: Sequence[Oid]) -> _Walk:
        """Walk several table columns at once; each stops when it leaves its subtree."""
        found: dict[Oid, dict[Oid, Value]] = {c: {} for c in columns}
        cursor: dict[Oid, Oid] = {c: c for c in columns}
        active = list(columns)
        budget = self.varbinds_per_response
        requests = 0
        while active:
            if requests >= self.max_walk_requests:
                log.warning(
                    "%s: walk stopped after %d requests", self._describe("truncated"), requests
                )
                return _Walk(found, requests, truncated=True)
            requests += 1
            asked = [cursor[c] for c in active]
            if self.target.version == "1":
                status, index, response = await self._request("next", asked)
            else:
                reps = max(1, budget // len(active))
                status, index, response = await self._request("bulk", asked, reps)
            if status == _TOO_BIG and budget > len(active):
                budget = max(len(active), budget // 2)
                continue
            if status == _NO_SUCH_NAME and 0 < index <= len(active):
                del active[index - 1]  # SNMPv1 end of MIB for that column
                continue
            if status:
                raise SnmpError(self._describe(f"agent error-status {status} on walk"))
            done: set[Oid] = set()
            progressed: set[Oid] = set()
            width = len(active)
            for i, (name, value) in enumerate(response):
                column = active[i % width]
                if column in done:
                    continue
                current = tuple(name)
                if (
                    _end_of_mib(value)
                    or current[: len(column)] != column
                    or current <= cursor[column]
                ):
                    done.add(column)
                    continue
                cursor[column] = current
                progressed.add(column)
                plain = _plain(value)
                if plain is not None:
                    found[column][current[len(column) :]] = plain
            if not progressed:  # nothing moved: the walk is over (or the agent is stuck)
                break
            # A column the agent gave nothing for (a truncated response) is asked again.
            active = [c for c in active if c not in done]
        return _Walk(found, requests, truncated=False)

    # --- the reading -----------------------------------------------------------

    def _reading(
        self,
        system: dict[str, Value],
        cols: dict[str, dict[Oid, Value]],
        mono: float,
        walk: _Walk,
        latency: float,
    ) -> Reading:
        at = time.time()
        uptime = _int(system.get("sysUpTime"))
        indexes = sorted(
            {idx[0] for idx in cols["ifDescr"] if len(idx) == 1}
            | {idx[0] for idx in cols["ifOperStatus"] if len(idx) == 1}
            | {idx[0] for idx in cols["ifName"] if len(idx) == 1}
        )

        def col(name: str, index: int) -> Value | None:
            return cols[name].get((index,))

        counters: dict[int, IfCounters] = {}
        rows: list[dict[str, Any]] = []
        for index in indexes:
            high = _int(col("ifHighSpeed", index)) or 0
            speed = high * 1_000_000 if high > 0 else (_int(col("ifSpeed", index)) or 0)
            samples: dict[str, CounterSample] = {}
            hc = False
            for key, hc_name, lc_name in (
                ("in_octets", "ifHCInOctets", "ifInOctets"),
                ("out_octets", "ifHCOutOctets", "ifOutOctets"),
            ):
                value = _int(col(hc_name, index))
                if value is not None:
                    samples[key] = CounterSample(value, 64)
                    hc = True
                elif (value := _int(col(lc_name, index))) is not None:
                    samples[key] = CounterSample(value, 32)
            for key, name in (
                ("in_errors", "ifInErrors"),
                ("out_errors", "ifOutErrors"),
                ("in_discards", "ifInDiscards"),
                ("out_discards", "ifOutDiscards"),
            ):
                if (value := _int(col(name, index))) is not None:
                    samples[key] = CounterSample(value, 32)
            name = _str(col("ifName", index)) or _str(col("ifDescr", index)) or str(index)
            counters[index] = IfCounters(
                name, speed, samples, _int(col("ifCounterDiscontinuityTime", index))
            )
            oper = _int(col("ifOperStatus", index))
            admin = _int(col("ifAdminStatus", index))
            rows.append(
                {
                    "index": index,
                    "name": name,
                    "descr": _str(col("ifDescr", index)),
                    "alias": _str(col("ifAlias", index)),
                    "type": _int(col("ifType", index)),
                    "oper": OPER_STATUS.get(oper, str(oper)) if oper is not None else None,
                    "admin": OPER_STATUS.get(admin, str(admin)) if admin is not None else None,
                    "speed": speed,
                    "hc": hc,
                }
            )

        prev = self._previous
        restarted = (
            prev is not None
            and prev.uptime is not None
            and uptime is not None
            and uptime < prev.uptime
        )
        rates = compute_rates(
            prev.interfaces if prev else None,
            counters,
            mono - prev.mono if prev else 0.0,
            prev.uptime if prev else None,
            uptime,
        )
        self._previous = _Previous(mono, uptime, counters)

        for row in rows:
            row.update(
                dict.fromkeys(
                    ("in_bps", "out_bps", "in_errors", "out_errors", "in_discards", "out_discards")
                )
            )
            row.update(rates.get(row["index"], {}))

        up = sum(1 for r in rows if r["oper"] == "up")
        down = sum(1 for r in rows if r["admin"] == "up" and r["oper"] != "up")
        metrics: dict[str, float] = {"if_up": up, "if_down": down}
        if rates:
            for key in ("in_bps", "out_bps"):
                metrics[key] = sum(r.get(key, 0.0) for r in rates.values())
            metrics["errors"] = sum(
                r.get("in_errors", 0.0) + r.get("out_errors", 0.0) for r in rates.values()
            )

        loads = [
            v for idx, v in sorted(cols["hrProcessorLoad"].items()) if isinstance(v, int) and idx
        ]
        cpu: dict[str, Any] | None = None
        if loads:
            cpu = {"load": sum(loads) / len(loads), "per_cpu": loads}
            metrics["cpu"] = cpu["load"]

        storage = _storage(cols)
        if uptime is not None:
            metrics["uptime"] = uptime / 100

        detail: dict[str, Any] = {
            "address": self.target.endpoint,
            "version": self.target.version,
            "sysName": _str(system.get("sysName")),
            "sysDescr": _str(system.get("sysDescr")),
            "sysObjectID": _str(system.get("sysObjectID")),
            "sysContact": _str(system.get("sysContact")),
            "sysLocation": _str(system.get("sysLocation")),
            "sysUpTime": uptime / 100 if uptime is not None else None,
            "restarted": restarted,
            "interfaces": rows,
            "storage": storage,
            "poll_ms": latency * 1000,
            "requests": walk.requests + 1,
            "truncated": walk.truncated,
        }
        if cpu is not None:
            detail["cpu"] = cpu
        return Reading(
            source="snmp", resource=self.target.name, at=at, metrics=metrics, detail=detail
        )


def _storage(cols: Mapping[str, Mapping[Oid, Value]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for idx in sorted(cols["hrStorageSize"]):
        unit = _int(cols["hrStorageAllocationUnits"].get(idx)) or 0
        size = _int(cols["hrStorageSize"].get(idx)) or 0
        used = _int(cols["hrStorageUsed"].get(idx))
        if unit <= 0 or size <= 0 or used is None:
            continue
        out.append(
            {
                "index": ".".join(map(str, idx)),
                "descr": _str(cols["hrStorageDescr"].get(idx)),
                "type": _str(cols["hrStorageType"].get(idx)),
                "size": size * unit,
                "used": used * unit,
                "percent": 100.0 * used / size,
            }
        )
    return out


def _engine_group(target: SnmpTarget) -> str:
    """Which shared engine a target uses: see `shared_engine`. A digest, never the keys."""
    if target.version != "3":
        return ""
    parts = (target.user, target.auth_protocol, target.auth_key, target.priv_protocol)
    material = "\0".join((*parts, target.priv_key))
    return "v3:" + hashlib.sha256(material.encode()).hexdigest()
