"""The console's first screen: this host's figures in the very first frame.

The poller stores its first local sample before the panes first read the store,
so Textual paints the Health pane once, with data, instead of an empty pane and
then the same screen again a moment later. Nothing here waits on a sample that
another process (the lease holder) is taking, nor longer than a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_until
from textual.css.parse import parse as real_parse

from bridge.clock import SystemClock
from bridge.config import Config
from bridge.lease import LEASE_NAME
from bridge.poller import Poller
from bridge.store import Store, open_store
from bridge.ui import css_cache
from bridge.ui.app import FIRST_SAMPLE_WAIT_S, BridgeApp, ConsoleScreen, create_app
from bridge.ui.lines import LinesView
from bridge.ui.panes import HealthPane
from collectors.base import Reading

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


def styles_of(app: BridgeApp) -> dict[str, tuple[str, dict[str, str]]]:
    """Every node's computed CSS, its component classes' included."""
    out = {}
    for node in app.screen.walk_children(with_self=True):
        # Every declared component class: asking styles any not drawn yet (lazily,
        # bridge.ui.lines.LazyComponentStyles), and the restyle then redoes them.
        declared = set().union(
            *(c.__dict__.get("COMPONENT_CLASSES", ()) for c in type(node).__mro__)
        )
        components = {name: node.get_component_styles(name).css for name in sorted(declared)}
        out[f"{type(node).__name__}#{node.id}"] = (node.styles.css, components)
    return out


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"ui": {"monochrome": True, "low_bandwidth": True}},
        {"ui": {"theme": "bridge-light"}},
        {"devices": [{"name": "sw1", "address": "127.0.0.1"}]},
    ],
)
async def test_the_first_screen_is_styled_as_a_full_restyle_would_style_it(
    tmp_path: Path, size: tuple[int, int], settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The console's screen skips Textual's restyle of every node at its first
    # resume (each was styled as it mounted): nothing may depend on that pass.
    # Monochrome sets NO_COLOR for the process (bridge.ui.display): undone after the test.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("NO_COLOR")
    app = create_app(
        Config.model_validate(settings),
        operator="alice",
        store_path=tmp_path / "bridge.db",
        collect=False,
    )
    async with app.run_test(size=size) as pilot:
        assert isinstance(app.screen, ConsoleScreen)
        await pilot.pause()
        first = styles_of(app)
        app.screen.update_node_styles(animate=False)
        await pilot.pause()
        assert styles_of(app) == first


async def test_garbage_collection_is_back_on_once_the_first_screen_is_drawn(
    tmp_path: Path,
) -> None:
    # `bridge` turns the collector off for its start (cmd_console); the console
    # turns it back on after its first refresh.
    gc.disable()
    try:
        app = create_app(
            Config.model_validate(LOCAL),
            operator="alice",
            store_path=tmp_path / "bridge.db",
            collect=False,
        )
        async with app.run_test(size=(120, 40)) as pilot:

            async def enabled() -> bool:
                await pilot.pause()
                return gc.isenabled()

            await wait_until(enabled, within=5.0, what="gc.enable after the first screen")
    finally:
        gc.enable()


def cached_app(tmp_path: Path, settings: dict[str, Any]) -> BridgeApp:
    return create_app(
        Config.model_validate(settings),
        operator="alice",
        store_path=tmp_path / "bridge.db",
        collect=False,
        css_cache=True,
    )


@pytest.mark.parametrize("settings", [{}, {"ui": {"theme": "bridge-light"}}])
async def test_parsed_stylesheets_load_back_and_style_the_screen_as_parsing_does(
    tmp_path: Path, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = tmp_path / "cache" / "bridge"

    first = cached_app(tmp_path, settings)
    async with first.run_test(size=(120, 40)) as pilot:
        assert first._css_kept == frozenset()  # nothing kept yet

        async def written() -> bool:
            await pilot.pause()
            return any(cache.glob("tcss-*.pickle"))

        await wait_until(written, within=5.0, what="the parsed stylesheets written")
        parsed = styles_of(first)

    parses: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        parses.append(args[2])  # where the CSS was read from
        return real_parse(*args, **kwargs)

    monkeypatch.setattr("textual.css.stylesheet.parse", counting)
    second = cached_app(tmp_path, settings)
    async with second.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert second._css_kept  # the first run's rules came back ...
        assert parses == []  # ... so nothing was tokenized again
        assert styles_of(second) == parsed


async def test_a_cache_file_not_ours_alone_or_unreadable_is_parsed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = cached_app(tmp_path, {})
    async with first.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        (path,) = (tmp_path / "cache" / "bridge").glob("tcss-*.pickle")
        good = path.read_bytes()
        # Someone else could have written it: unpickling it would run their code.
        path.chmod(0o666)
        assert css_cache.load(first.stylesheet) == frozenset()
        path.chmod(0o600)
        assert css_cache.load(first.stylesheet)  # the same file, ours alone
        path.write_bytes(good[: len(good) // 2])  # cut short
        assert css_cache.load(first.stylesheet) == frozenset()

    second = cached_app(tmp_path, {})
    async with second.run_test(size=(120, 40)) as pilot:
        assert second._css_kept == frozenset()  # parsed as usual ...

        async def rewritten() -> bool:
            await pilot.pause()
            return path.read_bytes() != good[: len(good) // 2]

        await wait_until(rewritten, within=5.0, what="the cut-short cache written again")
        assert css_cache.load(second.stylesheet)  # ... and kept whole again


async def test_only_the_command_line_console_writes_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    app = create_app(Config.model_validate({}), operator="alice", store_path=tmp_path / "bridge.db")
    async with app.run_test(size=(120, 40)) as pilot:

        async def enabled() -> bool:
            await pilot.pause()
            return gc.isenabled()

        await wait_until(enabled, within=5.0, what="the first screen")
    assert not (tmp_path / "cache").exists()


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
