"""net-snmp's command-line tools as real peers (installed by scripts/install-test-deps)."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest

__all__ = ["needs", "net_snmp"]


def needs(command: str) -> str:
    """The tool's path, or skip the test that needs it."""
    path = shutil.which(command) or shutil.which(command, path="/usr/sbin")
    if path is None:
        pytest.skip(f"{command} not installed (scripts/install-test-deps installs net-snmp)")
    return path


async def net_snmp(command: str, *args: str) -> tuple[int, str]:
    """Run a net-snmp client without blocking the loop a receiver under test runs on;
    (exit status, stderr). MIBs are not loaded: every OID is numeric."""
    proc = await asyncio.create_subprocess_exec(
        needs(command), "-m", "", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "MIBS": ""},
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, err.decode(errors="replace")
