"""Snapshot tests: the console on a seeded store at a fixed time, at the sizes users run.

Update deliberately with `pytest --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import settled, wait_until
from seed import make_app, seed_store
from textual.pilot import Pilot

SnapCompare = Callable[..., bool]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    asyncio.run(seed_store(path))
    return path


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_console(snap_compare: SnapCompare, db: Path, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(db), terminal_size=size)


def test_help_screen(snap_compare: SnapCompare, db: Path) -> None:
    assert snap_compare(make_app(db), press=["question_mark"], terminal_size=(80, 24))


def test_zoomed_health_80x24(snap_compare: SnapCompare, db: Path) -> None:
    assert snap_compare(make_app(db), press=["3", "z"], terminal_size=(80, 24))


@pytest.mark.parametrize("theme", ["bridge-light", "bridge-contrast", "bridge-colorblind"])
def test_console_theme_80x24(snap_compare: SnapCompare, db: Path, theme: str) -> None:
    """bridge-dark is test_console above; each other theme once at the SSH size."""
    app = make_app(db)
    app.theme = theme
    assert snap_compare(app, terminal_size=(80, 24))


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_wall(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    from wall_seed import make_wall, seed_wall

    path = tmp_path / "wall.db"
    asyncio.run(seed_wall(path))
    app = make_wall(path)

    async def laid_out(pilot: Pilot[None]) -> None:
        # The first read, then the pages the device box lays out after its resize.
        await wait_until(
            settled(pilot, lambda: app.data is not None and app._shown_tiles is not None),
            10,
            what="the wall's first read and its device pages",
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=laid_out)
