"""The trap receiver against net-snmp's own senders (`snmptrap`, `snmpinform`) on
127.0.0.1: v1, v2c and v3 traps and informs, each as a device would send it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import wait_until
from net_snmp import net_snmp

from bridge.config.file import Config
from bridge.core.clock import SystemClock
from bridge.rules.engine import RuleEngine
from bridge.rules.thresholds import LevelTracker
from bridge.runtime.runner import CollectorRunner
from bridge.runtime.trap_service import run_trap_receiver
from bridge.store import open_store
from collectors.traps import Trap, TrapReceiver, TrapUser

ENGINE_ID = "80000000010203040506"  # the sender's (snmptrap -e); an inform uses the receiver's
LINK_DOWN, COLD_START = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.1"
IF_INDEX_7 = "1.3.6.1.2.1.2.2.1.1.7"
USERS = [
    TrapUser("priv-user", "sha", "auth-key-123", "aes", "priv-key-123", engine_id=ENGINE_ID),
    TrapUser("auth-user", "sha256", "auth-key-456", engine_id=ENGINE_ID),
]
V3_PRIV = ["-v", "3", "-u", "priv-user", "-l", "authPriv", "-a", "SHA", "-A", "auth-key-123",
           "-x", "AES", "-X", "priv-key-123"]  # fmt: skip
V3_AUTH = ["-v", "3", "-u", "auth-user", "-l", "authNoPriv", "-a", "SHA-256", "-A", "auth-key-456"]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[TrapReceiver, list[Trap]]]:
    got: list[Trap] = []
    r = TrapReceiver("127.0.0.1", 0, got.append, communities=["traps-s3cret"], users=USERS)
    await r.start()
    try:
        yield r, got
    finally:
        await r.close()


async def _one(got: list[Trap], version: str, user: str) -> Trap:
    async def there() -> bool:
        return any(t.version == version and t.security_name == user for t in got)

    await wait_until(there, 10, what=f"a v{version} notification from {user}")
    return next(t for t in got if t.version == version and t.security_name == user)


async def _send(command: str, *args: str) -> None:
    status, err = await net_snmp(command, "-r", "1", "-t", "2", *args)
    assert status == 0, err


async def test_one_v3_user_entry_takes_both_traps_and_informs(
    receiver: tuple[TrapReceiver, list[Trap]],
) -> None:
    """A trap is authenticated with the sender's engine id, an inform with the
    receiver's (the sender discovers it first): one [[traps.users]] entry serves both."""
    r, got = receiver
    to = f"127.0.0.1:{r.bound_port}"
    await _send("snmptrap", *V3_PRIV, "-e", f"0x{ENGINE_ID}", to, "", LINK_DOWN,
                IF_INDEX_7, "i", "7")  # fmt: skip
    trap = await _one(got, "3", "priv-user")
    assert (trap.trap_oid, trap.value(IF_INDEX_7)) == (LINK_DOWN, "7")
    got.clear()
    await _send("snmpinform", *V3_PRIV, to, "", COLD_START)  # exits 0 only once acknowledged
    assert (await _one(got, "3", "priv-user")).trap_oid == COLD_START
    got.clear()
    await _send("snmpinform", *V3_AUTH, to, "", LINK_DOWN, IF_INDEX_7, "i", "7")
    assert (await _one(got, "3", "auth-user")).value(IF_INDEX_7) == "7"
    await _send("snmptrap", *V3_AUTH, "-e", f"0x{ENGINE_ID}", to, "", COLD_START)

    async def both() -> bool:
        return len(got) >= 2

    await wait_until(both, 10, what="the authNoPriv trap")
    assert r.malformed == 0


async def test_v1_and_v2c_traps_and_informs_from_net_snmp(
    receiver: tuple[TrapReceiver, list[Trap]],
) -> None:
    r, got = receiver
    to = f"127.0.0.1:{r.bound_port}"
    await _send("snmpinform", "-v", "2c", "-c", "traps-s3cret", to, "", LINK_DOWN,
                IF_INDEX_7, "i", "7", "1.3.6.1.2.1.2.2.1.2.7", "s", "Gi1/0/7")  # fmt: skip
    inform = await _one(got, "2c", "community-0")
    assert inform.value("1.3.6.1.2.1.2.2.1.2.7") == "Gi1/0/7"
    await _send("snmptrap", "-v", "1", "-c", "traps-s3cret", to, "1.3.6.1.4.1.99", "10.1.2.3",
                "2", "0", "", IF_INDEX_7, "i", "7")  # fmt: skip
    v1 = await _one(got, "1", "community-0")
    assert (v1.trap_oid, v1.value("1.3.6.1.6.3.18.1.3.0")) == (LINK_DOWN, "10.1.2.3")
    assert v1.value(IF_INDEX_7) == "7"
    status, _ = await net_snmp("snmpinform", "-r", "0", "-t", "1", "-v", "2c", "-c", "guessed",
                               to, "", COLD_START)  # fmt: skip
    assert status != 0  # a wrong community is not acknowledged
    assert r.rejected == 1 and r.malformed == 0


async def test_the_trap_service_stores_a_v3_inform_and_a_v2c_inform(tmp_path: Path) -> None:
    """The service decodes in pull mode (when it is ready to store): informs are
    still acknowledged, v3 ones through pysnmp, and become events."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config.model_validate(
        {"local": {"enabled": False},
         "traps": {"enabled": True, "port": port, "communities": ["traps-s3cret"],
                   "users": [{"user": "priv-user", "auth_protocol": "SHA",
                              "auth_key": "auth-key-123", "priv_protocol": "AES",
                              "priv_key": "priv-key-123", "engine_id": ENGINE_ID}]}}
    )  # fmt: skip
    store = await open_store(tmp_path / "bridge.db")
    runner = CollectorRunner(store, [], SystemClock(), LevelTracker({}), RuleEngine(config))
    ready = asyncio.Event()
    task = asyncio.create_task(run_trap_receiver(config, store, runner, SystemClock(), ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        to = f"127.0.0.1:{port}"
        await _send("snmpinform", *V3_PRIV, to, "", LINK_DOWN, IF_INDEX_7, "i", "7")
        await _send("snmpinform", "-v", "2c", "-c", "traps-s3cret", to, "", COLD_START)

        async def stored() -> bool:  # acknowledged when decoded, stored just after
            keys = ("snmp|127.0.0.1/7|oper-status", "snmp|127.0.0.1|restart")
            return all([await store.find_event(key) is not None for key in keys])

        await wait_until(stored, 5, what="both informs as events")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()
