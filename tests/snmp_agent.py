"""A real SNMP agent for the tests: snmpsim on 127.0.0.1, on a free UDP port.

Use it by importing the fixture into a test module:

    from snmp_agent import SnmpAgent, snmp_agent_fixture  # noqa: F401  (registers it)

and ask for `snmp_agent: SnmpAgent` in a test.

Communities are the recordings' file names in tests/data/snmp (`switch48`,
`rogue`); SNMPv3 (authPriv, SHA-256 + AES-128) selects a recording by context name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pysnmp.proto import api  # type: ignore[import-untyped]

from collectors.snmp import SnmpTarget

__all__ = [
    "V3_AUTH_KEY",
    "V3_PRIV_KEY",
    "V3_USER",
    "SnmpAgent",
    "free_udp_port",
    "snmp_agent_fixture",
]

DATA = Path(__file__).resolve().parent / "data" / "snmp"
RESPONDER = Path(sys.executable).with_name("snmpsim-command-responder")
READY_WITHIN = 20.0  # seconds for snmpsim to answer its first GET

V3_USER = "opsbridge"
V3_AUTH_KEY = "auth-key-not-for-logs"
V3_PRIV_KEY = "priv-key-not-for-logs"

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


@dataclass(frozen=True)
class SnmpAgent:
    host: str
    port: int
    data_dir: Path
    log: Path

    def target(self, community: str, **kw: Any) -> SnmpTarget:
        options: dict[str, Any] = {"timeout": 2.0, "retries": 1, "interval": 1.0}
        options.update(kw)
        return SnmpTarget(
            name=community, address=self.host, port=self.port, community=community, **options
        )

    def v3_target(self, context: str, **kw: Any) -> SnmpTarget:
        options: dict[str, Any] = {
            "version": "3",
            "user": V3_USER,
            "auth_protocol": "sha256",
            "auth_key": V3_AUTH_KEY,
            "priv_protocol": "aes",
            "priv_key": V3_PRIV_KEY,
            "context": context,
            "timeout": 2.0,
            "retries": 1,
        }
        options.update(kw)
        return SnmpTarget(name=f"v3-{context}", address=self.host, port=self.port, **options)


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _get_request(community: str, request_id: int) -> bytes:
    """An SNMPv2c GET of sysUpTime.0, encoded by hand (no engine, no event loop)."""
    mod = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = mod.GetRequestPDU()
    mod.apiPDU.set_defaults(pdu)
    mod.apiPDU.set_request_id(pdu, request_id)
    mod.apiPDU.set_varbinds(pdu, [(SYS_UPTIME, mod.Null(""))])
    msg = mod.Message()
    mod.apiMessage.set_defaults(msg)
    mod.apiMessage.set_community(msg, community)
    mod.apiMessage.set_pdu(msg, pdu)
    data: bytes = encoder.encode(msg)
    return data


def _answers(host: str, port: int, community: str, wait: float) -> bool:
    """True when the agent answers a real GET with a value."""
    mod = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(wait)
        sock.sendto(_get_request(community, 4242), (host, port))
        try:
            data, _ = sock.recvfrom(65535)
        except (TimeoutError, ConnectionRefusedError):
            return False
    msg, _ = decoder.decode(data, asn1Spec=mod.Message())
    pdu = mod.apiMessage.get_pdu(msg)
    if int(mod.apiPDU.get_error_status(pdu)):
        return False
    return any(oid == SYS_UPTIME for oid, _ in mod.apiPDU.get_varbinds(pdu))


def _start(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
    argv = [
        str(RESPONDER),
        f"--data-dir={root / 'data'}",
        f"--cache-dir={root / 'cache'}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        f"--v3-user={V3_USER}",
        f"--v3-auth-key={V3_AUTH_KEY}",
        "--v3-auth-proto=SHA256",
        f"--v3-priv-key={V3_PRIV_KEY}",
        "--v3-priv-proto=AES",
        "--logging-method=stderr",
        "--log-level=error",
    ]
    with (root / "snmpsim.log").open("wb") as log:
        return subprocess.Popen(
            argv, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@pytest.fixture(scope="session", name="snmp_agent")
def snmp_agent_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpAgent]:
    """snmpsim serving tests/data/snmp; started once, always killed at the end."""
    root = tmp_path_factory.mktemp("snmpsim")
    shutil.copytree(DATA, root / "data")
    (root / "cache").mkdir()
    log = root / "snmpsim.log"
    for _attempt in range(3):  # the free port can be taken between finding and binding it
        port = free_udp_port()
        proc = _start(root, port)
        try:
            deadline = time.monotonic() + READY_WITHIN
            while proc.poll() is None and time.monotonic() < deadline:
                if _answers("127.0.0.1", port, "switch48", wait=0.2):
                    yield SnmpAgent("127.0.0.1", port, root / "data", log)
                    return
            if proc.poll() is None:
                pytest.fail(
                    f"snmpsim did not answer within {READY_WITHIN:g} s:\n{log.read_text()[-2000:]}"
                )
        finally:
            _stop(proc)
    pytest.fail(f"snmpsim would not start:\n{log.read_text()[-2000:]}")
