"""What a received trap means: observations for the rule engine.

Well-known traps have fixed meanings: linkDown/linkUp raise and clear the same
`<device>/<ifName>` oper-status event the poller raises, so a trap-raised link
down is resolved by the poll that sees the interface up again; coldStart and
warmStart are the poller's `restart` check; authenticationFailure is a warning.
Others are mapped by `[[traps.map]]` or raised as info, with their varbinds as
literal evidence.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from bridge.config.file import Config
from bridge.config.network import TrapMapConfig
from bridge.core.models import Severity, Snapshot
from bridge.core.text import safe_text
from bridge.rules.engine import Observation
from bridge.rules.network import OPER_STATUS, RESTART, interface_resource

if TYPE_CHECKING:
    from collectors.traps import Trap

__all__ = ["SOURCE", "WELL_KNOWN", "TrapRules"]

SOURCE = "snmp"

_TRAPS = "1.3.6.1.6.3.1.1.5"
COLD_START, WARM_START = f"{_TRAPS}.1", f"{_TRAPS}.2"
LINK_DOWN, LINK_UP, AUTH_FAILURE = f"{_TRAPS}.3", f"{_TRAPS}.4", f"{_TRAPS}.5"
WELL_KNOWN = {
    COLD_START: "coldStart",
    WARM_START: "warmStart",
    LINK_DOWN: "linkDown",
    LINK_UP: "linkUp",
    AUTH_FAILURE: "authenticationFailure",
}
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"  # a v1 trap's agent-addr
_STATUS = {"1": "up", "2": "down", "3": "testing", "7": "lowerLayerDown"}
EVIDENCE_VARBINDS = 32

SnapshotLookup = Callable[[str], Awaitable[Snapshot | None]]


def _matches(rule: TrapMapConfig, trap_oid: str) -> bool:
    pattern = rule.oid.lstrip(".")
    return fnmatch.fnmatchcase(trap_oid, pattern) if pattern.endswith("*") else trap_oid == pattern


class TrapRules:
    """Turns traps into observations; knows the configured devices by address."""

    def __init__(self, config: Config, snapshot: SnapshotLookup) -> None:
        self.config = config
        self._snapshot = snapshot
        self._by_address: dict[str, str] = {}
        for device in config.devices:
            self._by_address.setdefault(device.address, device.name)

    def device_for(self, trap: Trap) -> str:
        """The configured device that sent it (by its address), else the address itself."""
        agent = trap.value(SNMP_TRAP_ADDRESS)
        for address in (agent, trap.address):
            if address and address in self._by_address:
                return self._by_address[address]
        return trap.address

    async def observations_of(self, traps: Sequence[Trap], at: float) -> list[Observation]:
        """Observations of a batch of traps; each device's last poll is read once."""
        polls: dict[str, Snapshot | None] = {}
        out: list[Observation] = []
        for trap in traps:
            out.extend(await self.observations(trap, at, polls))
        return out

    async def observations(
        self, trap: Trap, at: float, polls: dict[str, Snapshot | None] | None = None
    ) -> list[Observation]:
        """`polls` caches the devices' last polls (by name) across calls."""
        device = self.device_for(trap)
        name = WELL_KNOWN.get(trap.trap_oid)
        evidence = self._evidence(trap)
        for rule in self.config.traps.map:
            if _matches(rule, trap.trap_oid):
                return [self._mapped(rule, trap, device, at, evidence)]
        if trap.trap_oid in (LINK_DOWN, LINK_UP):
            return [await self._link(trap, device, at, evidence, polls)]
        network = self.config.network
        if trap.trap_oid in (COLD_START, WARM_START):
            return [
                Observation(
                    SOURCE, device, RESTART, Severity.parse(network.restart),
                    f"{device}: agent restarted ({name} trap)", at, evidence=evidence,
                )
            ]  # fmt: skip
        if trap.trap_oid == AUTH_FAILURE:
            return [
                Observation(
                    SOURCE, device, "auth-failure", Severity.WARNING,
                    f"{device}: SNMP authentication failure (a request with a wrong community "
                    "or key)", at, evidence=evidence,
                )
            ]  # fmt: skip
        what = safe_text(trap.trap_oid or "(no snmpTrapOID)", limit=80)
        return [
            Observation(
                SOURCE, device, f"trap:{trap.trap_oid or 'unknown'}", Severity.INFO,
                f"{device}: trap {what}", at, detail=self._detail(trap), evidence=evidence,
            )
        ]  # fmt: skip

    def _mapped(
        self, rule: TrapMapConfig, trap: Trap, device: str, at: float, evidence: dict[str, Any]
    ) -> Observation:
        check = rule.check or f"trap:{trap.trap_oid}"
        summary = rule.summary or f"{device}: trap {trap.trap_oid}"
        return Observation(
            SOURCE, device, check, Severity.parse(rule.severity), summary, at,
            detail=self._detail(trap), evidence=evidence,
        )  # fmt: skip

    async def _link(
        self,
        trap: Trap,
        device: str,
        at: float,
        evidence: dict[str, Any],
        polls: dict[str, Snapshot | None] | None,
    ) -> Observation:
        index_value = trap.indexed(IF_INDEX)
        index = index_value[0] if index_value else None
        if index is None:
            for column in (IF_ADMIN, IF_OPER, IF_NAME, IF_DESCR):
                found = trap.indexed(column)
                if found:
                    index = found[0]
                    break
        if_name = await self._if_name(trap, device, index, {} if polls is None else polls)
        down = trap.trap_oid == LINK_DOWN
        oper = _STATUS.get(next((v for n, v in trap.varbinds if n.startswith(IF_OPER + ".")),
                                ""), "down" if down else "up")  # fmt: skip
        label = f"{device} {safe_text(if_name, limit=40)}"
        return Observation(
            SOURCE,
            interface_resource(device, if_name),
            OPER_STATUS,
            Severity.parse(self.config.network.link_down) if down else Severity.OK,
            f"{label} is {oper} (linkDown trap)" if down else f"{label} is up (linkUp trap)",
            at,
            evidence=evidence,
        )

    async def _if_name(
        self, trap: Trap, device: str, index: int | None, polls: dict[str, Snapshot | None]
    ) -> str:
        """ifName from the trap, else from the device's last poll, else the index.

        The poller names interfaces by ifName (else ifDescr), so the trap's event
        key matches the poll's only if it is named the same way.
        """
        found = trap.indexed(IF_NAME)
        if found and found[1]:
            return found[1]
        if index is not None:
            if device not in polls:
                polls[device] = await self._snapshot(device)
            snap = polls[device]
            for row in (snap.data.get("interfaces") or []) if snap is not None else []:
                if row.get("index") == index and row.get("name"):
                    return str(row["name"])
        found = trap.indexed(IF_DESCR)
        if found and found[1]:
            return found[1]
        return str(index) if index is not None else "unknown"

    @staticmethod
    def _detail(trap: Trap) -> str:
        lines = [f"{name} = {value}" for name, value in trap.varbinds[:EVIDENCE_VARBINDS]]
        return "\n".join(lines)

    @staticmethod
    def _evidence(trap: Trap) -> dict[str, Any]:
        return {
            "at": trap.at,
            "from": f"{trap.address}:{trap.port}",
            "version": trap.version,
            "security_name": trap.security_name,
            "trap_oid": trap.trap_oid,
            "trap": WELL_KNOWN.get(trap.trap_oid, ""),
            "varbinds": [list(vb) for vb in trap.varbinds[:EVIDENCE_VARBINDS]],
        }
