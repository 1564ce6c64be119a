"""A failing duty of the lease holder is restarted and does not stop the others."""

from __future__ import annotations

import asyncio

import pytest

from bridge.runtime.poller import supervised


async def test_a_failing_duty_is_restarted_and_the_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = 0
    ticks = 0

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("database is locked")

    async def steady() -> None:
        nonlocal ticks
        while ticks < 50:
            ticks += 1
            await asyncio.sleep(0.001)

    async with asyncio.timeout(5):
        async with asyncio.TaskGroup() as group:
            group.create_task(supervised("flaky", flaky, first_delay=0.01))
            group.create_task(supervised("steady", steady, first_delay=0.01))
    assert attempts == 3 and ticks == 50
    failures = [r for r in caplog.records if "flaky failed" in r.getMessage()]
    assert len(failures) == 2 and "database is locked" in (failures[0].exc_text or "")
