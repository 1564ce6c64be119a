"""The SNMP objects the poller reads, as data: numeric OIDs under our own names.

pysnmp ships only the core MIBs, and resolving names through it costs CPU on
every response, so the poller works on numeric OIDs only. A table is a base OID
(the `...Entry`) plus the columns we read from it; a row's index is what follows
`base.column.` in a returned OID.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HR_PROCESSOR",
    "HR_STORAGE",
    "IF_TABLE",
    "IF_X_TABLE",
    "OPER_STATUS",
    "SYSTEM",
    "SYS_UPTIME",
    "Oid",
    "Table",
    "oid",
    "oid_str",
]

Oid = tuple[int, ...]


def oid(text: str) -> Oid:
    """'1.3.6.1' -> (1, 3, 6, 1)."""
    return tuple(int(part) for part in text.strip(".").split("."))


def oid_str(value: Oid) -> str:
    return ".".join(str(part) for part in value)


@dataclass(frozen=True, slots=True)
class Table:
    """A conceptual table: `entry` is the ...Entry OID, `columns` our name -> column number."""

    name: str
    entry: Oid
    columns: dict[str, int]

    def column_oid(self, column: str) -> Oid:
        return (*self.entry, self.columns[column])


# SNMPv2-MIB system group (scalars, instance .0).
SYSTEM: dict[str, Oid] = {
    "sysDescr": oid("1.3.6.1.2.1.1.1.0"),
    "sysObjectID": oid("1.3.6.1.2.1.1.2.0"),
    "sysUpTime": oid("1.3.6.1.2.1.1.3.0"),
    "sysContact": oid("1.3.6.1.2.1.1.4.0"),
    "sysName": oid("1.3.6.1.2.1.1.5.0"),
    "sysLocation": oid("1.3.6.1.2.1.1.6.0"),
}
SYS_UPTIME = SYSTEM["sysUpTime"]

# IF-MIB ifTable (ifEntry).
IF_TABLE = Table(
    "ifTable",
    oid("1.3.6.1.2.1.2.2.1"),
    {
        "ifDescr": 2,
        "ifType": 3,
        "ifSpeed": 5,  # Gauge32, bit/s; saturates at 4 294 967 295
        "ifAdminStatus": 7,
        "ifOperStatus": 8,
        "ifInOctets": 10,  # Counter32
        "ifInDiscards": 13,
        "ifInErrors": 14,
        "ifOutOctets": 16,  # Counter32
        "ifOutDiscards": 19,
        "ifOutErrors": 20,
    },
)

# IF-MIB ifXTable (ifXEntry).
IF_X_TABLE = Table(
    "ifXTable",
    oid("1.3.6.1.2.1.31.1.1.1"),
    {
        "ifName": 1,
        "ifHCInOctets": 6,  # Counter64
        "ifHCOutOctets": 10,  # Counter64
        "ifHighSpeed": 15,  # Gauge32, Mbit/s
        "ifAlias": 18,
        "ifCounterDiscontinuityTime": 19,  # TimeTicks; a change means counters reset
    },
)

# HOST-RESOURCES-MIB hrProcessorTable: hrProcessorLoad, percent over the last minute.
HR_PROCESSOR = Table(
    "hrProcessorTable",
    oid("1.3.6.1.2.1.25.3.3.1"),
    {"hrProcessorLoad": 2},
)

# HOST-RESOURCES-MIB hrStorageTable.
HR_STORAGE = Table(
    "hrStorageTable",
    oid("1.3.6.1.2.1.25.2.3.1"),
    {
        "hrStorageType": 2,
        "hrStorageDescr": 3,
        "hrStorageAllocationUnits": 4,
        "hrStorageSize": 5,
        "hrStorageUsed": 6,
    },
)

# ifOperStatus / ifAdminStatus values (IF-MIB).
OPER_STATUS: dict[int, str] = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
