"""SNMPv3 polls through pysnmp's engine, and pysnmp values as plain ones.

Apart from `collectors.snmp` because pysnmp is most of a polling process's
memory and much of its start-up: v1/v2c devices go over our own codec
(`collectors.snmp_wire`), so a host whose devices are all v1/v2c never
imports pysnmp at all. This module is imported only for a v3 device (and by
the trap receiver, which needs pysnmp anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pysnmp.error import PySnmpError  # type: ignore[import-untyped]
from pysnmp.hlapi.v3arch.asyncio import (  # type: ignore[import-untyped]
    USM_AUTH_HMAC96_MD5,
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_AUTH_NONE,
    USM_PRIV_CBC56_DES,
    USM_PRIV_CBC168_3DES,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB192_AES,
    USM_PRIV_CFB256_AES,
    USM_PRIV_NONE,
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.proto import rfc1902, rfc1905  # type: ignore[import-untyped]

from collectors.snmp_oids import Oid, oid_str

if TYPE_CHECKING:
    from collectors.snmp import SnmpTarget

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "PySnmpError",
    "Session",
    "is_end_of_mib",
    "new_engine",
    "plain",
]

AUTH_PROTOCOLS: dict[str, Any] = {
    "none": USM_AUTH_NONE,
    "md5": USM_AUTH_HMAC96_MD5,
    "sha": USM_AUTH_HMAC96_SHA,
    "sha224": USM_AUTH_HMAC128_SHA224,
    "sha256": USM_AUTH_HMAC192_SHA256,
    "sha384": USM_AUTH_HMAC256_SHA384,
    "sha512": USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS: dict[str, Any] = {
    "none": USM_PRIV_NONE,
    "des": USM_PRIV_CBC56_DES,
    "3des": USM_PRIV_CBC168_3DES,
    "aes": USM_PRIV_CFB128_AES,
    "aes128": USM_PRIV_CFB128_AES,
    "aes192": USM_PRIV_CFB192_AES,
    "aes256": USM_PRIV_CFB256_AES,
}

_ABSENT = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)


def new_engine() -> Any:
    return SnmpEngine()


def is_end_of_mib(value: Any) -> bool:
    return isinstance(value, rfc1905.EndOfMibView)


def plain(value: Any, octets: Any) -> int | str | None:
    """A pysnmp value as a plain int or str (OCTET STRINGs through `octets`);
    None for 'not there'."""
    if isinstance(value, (*_ABSENT, rfc1902.Null)):
        return None
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in bytes(value))
    if isinstance(value, rfc1902.OctetString):
        text: str = octets(bytes(value))
        return text
    if isinstance(value, rfc1902.ObjectIdentifier):
        return oid_str(tuple(value))
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _auth_data(target: SnmpTarget) -> Any:
    if target.version in ("1", "2c"):
        return CommunityData(target.community, mpModel=0 if target.version == "1" else 1)
    auth = AUTH_PROTOCOLS[target.auth_protocol.lower()]
    priv = PRIV_PROTOCOLS[target.priv_protocol.lower()]
    return UsmUserData(
        target.user,
        authKey=target.auth_key or None,
        privKey=target.priv_key or None,
        authProtocol=auth,
        privProtocol=priv,
    )


class Session:
    """One device's credentials, context and transport in pysnmp's terms."""

    def __init__(self, target: SnmpTarget) -> None:
        self.target = target
        self.auth = _auth_data(target)
        self.context = ContextData(contextName=target.context) if target.context else ContextData()
        self.transport: Any = None

    async def request(
        self, engine: Any, kind: str, oids: Sequence[Oid], repetitions: int = 0
    ) -> tuple[Any, int, int, Any]:
        """(error indication, error status, error index, varbinds)."""
        if self.transport is None:
            self.transport = await UdpTransportTarget.create(
                (self.target.address, self.target.port),
                timeout=self.target.timeout,
                retries=self.target.retries,
            )
        varbinds = [ObjectType(ObjectIdentity(o)) for o in oids]
        args = (engine, self.auth, self.transport, self.context)
        if kind == "get":
            result = await get_cmd(*args, *varbinds, lookupMib=False)
        elif kind == "next":
            result = await next_cmd(*args, *varbinds, lookupMib=False)
        else:
            result = await bulk_cmd(*args, 0, repetitions, *varbinds, lookupMib=False)
        error_indication, error_status, error_index, response = result
        return error_indication, int(error_status), int(error_index), response
