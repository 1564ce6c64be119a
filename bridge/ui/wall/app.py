"""`bridge wall`: the read-only bridge screen, for staff glancing from across a room.

It opens the store read-only (`bridge.ui.wall.data.open_wall_store`, which also refuses a
database role that could write) and has no key but quit
(and Ctrl+L, which redraws the screen), so nothing on it can acknowledge or
change anything. It fills any terminal from
80x24 up: counts and lists stretch, and device tiles that do not fit rotate
through pages.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.theme import Theme
from textual.widgets import Static

from bridge.config.file import Config
from bridge.core.clock import Clock, SystemClock
from bridge.core.models import Severity
from bridge.core.text import human_duration, safe_text
from bridge.core.timefmt import show_time
from bridge.core.wrap import clip
from bridge.runtime.hosts import host_name
from bridge.store import Store
from bridge.ui.display import before_app_init, configure_app
from bridge.ui.session import end_with_the_terminal
from bridge.ui.wall.data import (
    COUNTED,
    DeviceStatus,
    DeviceTile,
    WallData,
    open_wall_store,
    read_wall,
)
from bridge.ui.wall.snapshot import snapshot_of, write_snapshot
from bridge.ui.widgets.bigdigits import big_number
from bridge.ui.widgets.header import BridgeHeader
from bridge.ui.widgets.lines import Line, LinesView, plain
from themes import DEFAULT_THEME, THEMES, VARIABLE_DEFAULTS

__all__ = ["DEVICE_MARKS", "SEVERITY_MARKS", "WallApp", "run_wall"]

# Severity and status are never carried by colour alone: a symbol and a word too.
SEVERITY_MARKS: dict[Severity, str] = {
    Severity.CRITICAL: "✖",
    Severity.MAJOR: "▲",
    Severity.MINOR: "◆",
    Severity.WARNING: "●",
    Severity.INFO: "◇",
}
DEVICE_MARKS: dict[DeviceStatus, str] = {
    DeviceStatus.DOWN: "✖ DOWN",
    DeviceStatus.FLAPPING: "↯ FLAPPING",
    DeviceStatus.ALARM: "▲ ALARM",
    DeviceStatus.STALE: "? STALE",
    DeviceStatus.UNKNOWN: "… UNKNOWN",
    DeviceStatus.UP: "✔ UP",
}
TILE_WIDTH = 20  # cells per device tile, margin included
TILE_HEIGHT = 3
REFRESH_S = 2.0
PAGE_S = 10.0
LOW_BW_WALL_REFRESH_S = 10.0
RESOURCE_CELLS = 20  # the "Newest" rows' resource column: summaries start in one column


def _cells(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with `…` so a cut shows."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


class CountTile(Vertical):
    """One severity: its symbol and name, a big number, and how many are unacknowledged."""

    def __init__(self, sev: Severity) -> None:
        super().__init__(id=f"count-{sev.label}", classes=f"count sev-{sev.label}")
        self.sev = sev
        self.count = 0

    def _draw_number(self) -> None:
        digits = self.query_one(".count-digits", Static)
        size = digits.size
        text = str(self.count) if self.count < 1000 else "999+"
        art = big_number(text, max(size.height, 1), max(size.width, 1))
        if str(digits.content) != art:
            digits.update(art)

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw_number)

    def compose(self) -> ComposeResult:
        yield Static(f"{SEVERITY_MARKS[self.sev]} {self.sev.label.upper()}", classes="count-label")
        yield Static("0", classes="count-digits", markup=False)
        yield Static("", classes="count-unacked", markup=False)

    def show(self, count: int, unacked: int) -> None:
        self.count = count
        self._draw_number()
        self.set_class(count == 0, "-zero")
        self.query_one(".count-unacked", Static).update(
            f"{unacked} unacked" if unacked else ("all acked" if count else "none")
        )


class DevicesBox(Vertical):
    """The device tiles' box: however the terminal changed, its own new size is
    what decides how many tiles fit on a page."""

    def on_resize(self) -> None:
        app = self.app
        if isinstance(app, WallApp):
            self.call_after_refresh(app.devices_resized)


class WallApp(App[int]):
    CSS_PATH = "wall.tcss"
    TITLE = "bridge wall"
    ENABLE_COMMAND_PALETTE = False  # nothing to choose: the wall only shows
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", show=False),
        Binding("ctrl+l", "redraw", "Redraw the screen", show=False),
    ]

    def __init__(
        self,
        config: Config,
        *,
        store_path: Path | str,
        clock: Clock | None = None,
        hostname: str | None = None,
        refresh_s: float = REFRESH_S,
        page_s: float = PAGE_S,
        user_themes: list[Theme] | None = None,
        theme: str | None = None,
        allow_writable: bool = False,
        snapshot: Path | None = None,
    ) -> None:
        before_app_init(config)
        super().__init__()
        configure_app(self, config)
        if config.ui.low_bandwidth:
            refresh_s = max(refresh_s, LOW_BW_WALL_REFRESH_S)
        self.config = config
        self.store_path = store_path
        self.allow_writable = allow_writable
        self.clock: Clock = clock or SystemClock()
        self.hostname = hostname or host_name(config)
        self.refresh_s = refresh_s
        self.page_s = page_s
        self.stale_after = config.ui.stale_after_intervals * config.local.interval
        self.data: WallData | None = None
        self.read_error: str | None = None
        self.page = 0
        self._store: Store | None = None
        self._started_at = self.clock.now()
        self._shown_tiles: tuple[DeviceTile, ...] | None = None
        self.snapshot_path = snapshot  # served in a browser: what is drawn, for /status
        for t in [*THEMES, *(user_themes or [])]:
            self.register_theme(t)
        wanted = theme or config.ui.theme
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield BridgeHeader(id="header", seconds=not self.config.ui.low_bandwidth)
        yield Static("", id="stale-banner", markup=False)
        with Horizontal(id="counts"):
            for sev in COUNTED:
                yield CountTile(sev)
        with Horizontal(id="middle"):
            with Vertical(id="serious-box", classes="box") as box:
                box.border_title = "Newest critical and major"
                yield LinesView(id="serious")
            with Vertical(id="jobs-box", classes="box") as box:
                box.border_title = "Schedule exceptions"
                yield LinesView(id="jobs")
        with DevicesBox(id="devices-box", classes="box") as box:
            box.border_title = "Devices"
            yield Grid(id="devices")
        yield Static("", id="refreshed", markup=False)

    async def on_mount(self) -> None:
        end_with_the_terminal(self)
        self._store = await open_wall_store(self.store_path, allow_writable=self.allow_writable)
        await self.reload()
        self.set_interval(self.refresh_s, self.reload)
        self.set_interval(self.page_s, self.next_page)

    def action_redraw(self) -> None:
        self.refresh(repaint=True, layout=True)

    async def on_unmount(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    async def reload(self) -> None:
        if self._store is None:
            return
        try:
            self.data = await read_wall(self._store, self.config, self.clock.now())
            self.read_error = None
        except Exception as exc:  # a locked or vanished store: say so, keep the last data
            self.read_error = f"cannot read the store: {type(exc).__name__}: {exc}"
        self.redraw()

    def next_page(self) -> None:
        self.page += 1
        self._draw_devices()

    # -- drawing -------------------------------------------------------------------
    def stale_for(self) -> float | None:
        """Seconds the data has been stale, or None: the header's rule, plus a dead poller."""
        now = self.clock.now()
        data = self.data
        newest = data.newest_sample_at if data is not None else None
        age = now - (self._started_at if newest is None else newest)
        dead = data is None or not data.poller_alive or self.read_error is not None
        # Without a local collector no sample is due: only a dead poller is stale.
        if (self.config.local.enabled and age > self.stale_after) or dead:
            return max(age, 0.0)
        return None

    def redraw(self) -> None:
        data = self.data
        now = self.clock.now()
        stale = self.stale_for()
        lease = "○ no poller" if data is None or not data.poller_alive else "○ reading"
        self.query_one(BridgeHeader).show(
            host=self.hostname,
            operator="wall",
            lease=lease,
            polling=False,
            stale_for=stale,
            now=now,
        )
        banner = self.query_one("#stale-banner", Static)
        banner.display = stale is not None
        if stale is not None:
            why = self.read_error or (
                "no collector is running"
                if data is None or not data.poller_alive
                else "no new data from the collector"
            )
            banner.update(f"STALE  {why}  ·  data {human_duration(stale)} old  ·  do not trust")
        if data is not None:
            for tile in self.query(CountTile):
                tile.show(data.counts.get(tile.sev, 0), data.unacked.get(tile.sev, 0))
            self._draw_serious(data)
            self._draw_jobs(data)
        self._draw_devices()
        read_at = data.read_at if data is not None else None
        when = show_time(read_at, "clock") if read_at else "never"
        keys = (
            "" if self.snapshot_path is not None else "   q quits"
        )  # a browser's keys reach nothing
        self.query_one("#refreshed", Static).update(f"refreshed {when}   read-only{keys}")
        if self.snapshot_path is not None:
            self.call_after_refresh(self._write_snapshot, stale)

    def _write_snapshot(self, stale: float | None) -> None:
        if self.snapshot_path is not None:
            write_snapshot(self.snapshot_path, snapshot_of(self, self.data, stale))

    def _draw_serious(self, data: WallData) -> None:
        now = self.clock.now()
        lines: list[Line] = []
        for e in data.serious:
            sev = e.severity.label
            ack = "" if e.acked_by is None else f"  ack {clip(safe_text(e.acked_by), 12)}"
            lines.append(
                (
                    (f"{SEVERITY_MARKS[e.severity]} {sev.upper():<8} ", f"sev-{sev}"),
                    (f"{human_duration(now - (e.opened_at or e.first_seen)):>6} ", "muted"),
                    (_cells(safe_text(e.resource), RESOURCE_CELLS) + "  ", "heading"),
                    (safe_text(e.summary), ""),
                    (ack, "muted"),
                )
            )
        if not lines:
            lines.append((("✔ no open critical or major events", "sev-ok"),))
        self.query_one("#serious", LinesView).set_lines(lines)

    def _draw_jobs(self, data: WallData) -> None:
        lines: list[Line] = []
        for j in data.exceptions:
            due = show_time(j.due, "hm") if j.due else "—"
            lines.append(
                (
                    (f"✖ {j.state.upper():<11} ", "sev-major"),
                    (f"{clip(safe_text(j.job), 18):<18} ", "heading"),
                    (f"due {due}", "muted"),
                )
            )
        if not lines:
            text = "✔ every job on time" if self.config.jobs else "no jobs configured"
            lines.append(((text, "sev-ok" if self.config.jobs else "muted"),))
        self.query_one("#jobs", LinesView).set_lines(lines)

    def _draw_devices(self) -> None:
        tiles = self.data.devices if self.data is not None else []
        grid = self.query_one("#devices", Grid)
        box = self.query_one("#devices-box", DevicesBox)
        width = max(grid.size.width, TILE_WIDTH)
        height = max(grid.size.height, TILE_HEIGHT)
        cols = max(1, width // TILE_WIDTH)
        per_page = cols * max(1, height // TILE_HEIGHT)
        # Worst first, so the first page (and a glance) shows what is wrong.
        order = list(DeviceStatus)
        ranked = sorted(tiles, key=lambda t: (order.index(t.status), t.name))
        pages = max(1, -(-len(ranked) // per_page))
        page = self.page % pages
        shown = tuple(ranked[page * per_page : (page + 1) * per_page])
        down = sum(t.status is not DeviceStatus.UP for t in tiles)
        title = f"Devices  {len(tiles) - down} up, {down} not"
        box.border_title = plain(title + (f"  ·  page {page + 1}/{pages}" if pages > 1 else ""))
        grid.styles.grid_size_columns = cols
        if shown == self._shown_tiles:
            return
        self._shown_tiles = shown
        grid.remove_children()
        if not tiles:
            grid.mount(Static("no devices configured", classes="muted", markup=False))
            return
        grid.mount_all(
            Static(
                f"{clip(safe_text(t.name), TILE_WIDTH - 4)}\n{DEVICE_MARKS[t.status]}",
                classes=f"tile -{t.status.value}",
                markup=False,
            )
            for t in shown
        )

    def on_resize(self, event: events.Resize) -> None:
        # Counts take a quarter of a tall screen, so the numbers grow with it. The
        # event's size, not the app's: this runs before the app records the new one.
        self.query_one("#counts").styles.height = max(7, event.size.height // 4)

    def devices_resized(self) -> None:
        """The device area changed size: lay the tiles and pages out again."""
        self._shown_tiles = None
        self._draw_devices()


def run_wall(
    config: Config,
    *,
    user_themes: list[Theme] | None = None,
    theme: str | None = None,
    snapshot: Path | None = None,
    allow_writable: bool = False,
) -> int:
    store_path = config.store.resolved_url()

    async def check() -> None:  # a missing or writable store is one line on a normal terminal
        store = await open_wall_store(store_path, allow_writable=allow_writable)
        await store.close()

    asyncio.run(check())
    app = WallApp(
        config,
        store_path=store_path,
        user_themes=user_themes,
        theme=theme,
        snapshot=snapshot,
        allow_writable=allow_writable,
    )
    return int(app.run() or 0)
