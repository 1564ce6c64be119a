"""The console's first screen: this host's figures in the very first frame.

The poller stores its first local sample (taken while Textual composes the
screen) before the panes first read the store, so Textual paints the Health pane
once, with data, instead of an empty pane and then the same screen again a
moment later. Nothing here waits on a sample that
another process (the lease holder) is taking, nor longer than a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import wait_until

from bridge.config.file import Config
from bridge.core.clock import SystemClock
from bridge.runtime.hosts import collector_lease, host_name
from bridge.runtime.poller import Poller
from bridge.store import Store, open_store
from bridge.ui.app import FIRST_SAMPLE_WAIT_S, BridgeApp, create_app
from bridge.ui.panes.health import HealthPane
from bridge.ui.widgets.lines import LinesView
from collectors.base import Reading

LEASE_NAME = collector_lease(host_name())  # this host's collector lease

LOCAL = {"local": {"interval": 1, "top_processes": 0}}
LOOP_TURNS = 1000  # far more than Textual takes from load to mount


@contextlib.asynccontextmanager
async def running(store: Store, config: Config) -> AsyncIterator[Poller]:
    """A poller running on `store` for the block, stopped after it."""
    poller = Poller(store, config, SystemClock())
    task = asyncio.create_task(poller.run())
    try:
        yield poller
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def health_text(app: BridgeApp) -> str:
    view = app.query_one("#health-view", LinesView)
    return "\n".join("".join(text for text, _ in line) for line in view.lines)


async def test_a_polling_console_shows_this_host_in_its_first_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collectors.local import LocalCollector

    real = LocalCollector.collect

    async def unhurried(self: LocalCollector) -> list[Reading]:
        # A sample that takes many turns of the event loop, as one does while Textual
        # builds the screen: the panes must still not read the store before it is in.
        for _ in range(LOOP_TURNS):
            await asyncio.sleep(0)
        return await real(self)

    monkeypatch.setattr(LocalCollector, "collect", unhurried)
    app = create_app(
        Config.model_validate(LOCAL), operator="alice", store_path=tmp_path / "bridge.db"
    )
    async with app.run_test(size=(120, 40)):
        # No pause: what on_mount left is what the first frame draws.
        pane = app.query_one(HealthPane)
        assert pane.snapshot is not None
        assert pane.snapshot.resource == app.hostname
        assert "load " in health_text(app)
        assert "waiting for the first local sample" not in health_text(app)


async def test_the_screen_is_built_while_the_first_sample_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first sample is mostly a wait for a long enough CPU span: Textual composes
    and styles the screen meanwhile, and the panes still first read after it."""
    from collectors.local import LocalCollector

    real = LocalCollector.collect
    app = create_app(
        Config.model_validate(LOCAL), operator="alice", store_path=tmp_path / "bridge.db"
    )
    composed_during_sample: list[bool] = []

    def composed() -> bool:
        try:
            return bool(app.screen.query(HealthPane))
        except Exception:  # no screen yet
            return False

    async def watched(self: LocalCollector) -> list[Reading]:
        if not composed_during_sample:
            for _ in range(LOOP_TURNS):
                if composed():
                    break
                await asyncio.sleep(0)
            composed_during_sample.append(composed())
        return await real(self)

    monkeypatch.setattr(LocalCollector, "collect", watched)
    async with app.run_test(size=(120, 40)):
        assert composed_during_sample == [True]
        # No pause: what on_mount left is what the first frame draws.
        assert app.query_one(HealthPane).snapshot is not None
        assert "load " in health_text(app)


async def test_first_sample_returns_at_once_when_another_process_polls(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "bridge.db")
    try:
        assert await store.try_lease(LEASE_NAME, "someone-else", 60.0, time.time())
        async with running(store, Config.model_validate(LOCAL)) as poller:
            await asyncio.wait_for(poller.first_sample(), 5.0)
            assert not poller.holds_lease
            assert await store.snapshots("local") == []  # nothing was waited for
    finally:
        await store.close()


async def test_first_sample_returns_once_the_local_reading_is_stored(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "bridge.db")
    try:
        async with running(store, Config.model_validate(LOCAL)) as poller:
            await asyncio.wait_for(poller.first_sample(), 5.0)
            assert poller.holds_lease
            (snap,) = await store.snapshots("local")
            assert "load" in snap.data
    finally:
        await store.close()


async def test_without_a_local_collector_there_is_no_sample_to_wait_for(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "bridge.db")
    try:
        config = Config.model_validate({"local": {"enabled": False}})
        async with running(store, config) as poller:
            await asyncio.wait_for(poller.first_sample(), 5.0)
            assert poller.holds_lease
    finally:
        await store.close()


async def test_a_hung_local_sample_holds_the_first_screen_back_a_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collectors.local import LocalCollector

    release = asyncio.Event()

    async def hung(self: LocalCollector) -> list[Reading]:
        await release.wait()
        return []

    monkeypatch.setattr(LocalCollector, "collect", hung)
    app = create_app(
        Config.model_validate(LOCAL), operator="alice", store_path=tmp_path / "bridge.db"
    )
    began = time.monotonic()
    async with app.run_test(size=(120, 40)):
        took = time.monotonic() - began
        assert app.query_one(HealthPane).snapshot is None
        assert "waiting for the first local sample" in health_text(app)
        release.set()
    assert took < FIRST_SAMPLE_WAIT_S + 5.0, took  # the bound, plus a slow machine's start


async def test_pruning_waits_for_the_first_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a large store the prune's DELETE holds the store's thread; the first
    # screen waits on the first sample's writes, so the prune comes after them.
    from collectors.local import LocalCollector

    release = asyncio.Event()
    real = LocalCollector.collect

    async def held(self: LocalCollector) -> list[Reading]:
        await release.wait()
        return await real(self)

    monkeypatch.setattr(LocalCollector, "collect", held)
    store = await open_store(tmp_path / "bridge.db")
    pruned: list[float] = []
    real_prune = store.prune

    async def prune(now: float, sample_retention_s: float) -> int:
        pruned.append(now)
        return await real_prune(now, sample_retention_s)

    monkeypatch.setattr(store, "prune", prune)
    try:
        async with running(store, Config.model_validate(LOCAL)) as poller:

            async def polling() -> bool:
                return poller.holds_lease and poller._work is not None

            await wait_until(polling, within=5.0, what="the lease taken and duties started")
            for _ in range(LOOP_TURNS):  # every duty has had its turns by now
                await asyncio.sleep(0)
            assert pruned == []
            release.set()

            async def done() -> bool:
                return bool(pruned)

            await wait_until(done, within=5.0, what="the prune after the first sample")
    finally:
        await store.close()
