"""The health pane's network half: a device table and a drill-down per device.

Rows are plain strings (RowTable draws them literally and escapes control
characters), so device-provided text such as sysName, sysDescr and ifAlias can
never become markup or terminal control. The table reloads only the devices
named in the change feed and RowTable repaints only rows whose text changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen

from bridge.core.models import Change, CollectorHealth, Snapshot
from bridge.core.text import human_duration, human_rate
from bridge.core.timefmt import show_time
from bridge.reports.devices import NEVER_POLLED, UNREACHABLE, UP, DeviceStatus, device_statuses
from bridge.ui.context import ConsoleContext
from bridge.ui.panes.health_view import bucketed, sparkline
from bridge.ui.widgets.lines import Line, LinesView, plain
from bridge.ui.widgets.rowtable import Column, Row, RowTable

__all__ = [
    "DeviceScreen",
    "NetworkView",
    "device_row",
    "device_screen_lines",
    "interface_rows",
    "network_summary",
]

RESTALE_EVERY_S = 5.0  # staleness moves with the clock, not with the store
DEVICE_TREND_S = 3600.0
# Device series drawn as sparklines in the drill-down: metric -> (label, fixed top).
DEVICE_SPARKS: dict[str, tuple[str, float | None]] = {
    "in_bps": ("IN", None),
    "out_bps": ("OUT", None),
    "errors": ("ERR/s", None),
    "cpu": ("CPU", 100.0),
}

DEVICE_COLUMNS = (
    Column("name", "DEVICE"),
    Column("address", "ADDRESS", 21, drop=9),
    Column("status", "STATUS", 7),
    Column("uptime", "UPTIME", 7, align="right", drop=8),
    Column("cpu", "CPU", 4, align="right", drop=6),
    Column("ifs", "UP/DN", 5, align="right"),
    Column("in", "IN", 7, align="right"),
    Column("out", "OUT", 7, align="right"),
    Column("errors", "ERR/s", 5, align="right", drop=5),
    Column("poll", "POLLED", 8, drop=7),
)

INTERFACE_COLUMNS = (
    Column("name", "IF", 14),
    Column("alias", "ALIAS"),
    Column("status", "ADMIN/OPER", 10),
    Column("speed", "SPEED", 6, align="right", drop=3),
    Column("in", "IN", 9, align="right"),
    Column("out", "OUT", 9, align="right"),
    Column("errors", "ERR/s", 6, align="right", drop=2),
    Column("discards", "DISC/s", 6, align="right", drop=1),
)

_STATUS_STYLE = {UP: "sev-ok", UNREACHABLE: "sev-major", NEVER_POLLED: "muted"}
_STATUS_TEXT = {UP: "up", UNREACHABLE: "unreach", NEVER_POLLED: "never"}


def _rate(value: float | None) -> str:
    return "—" if value is None else human_rate(value).removesuffix("/s")


def _per_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _clock(t: float | None) -> str:
    # A time of day changes only when a poll lands; an age would rewrite the row every second.
    return show_time(t, "clock")


def _speed(bits: Any) -> str:
    if not isinstance(bits, int | float) or bits <= 0:
        return "—"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if bits >= size:
            return f"{bits / size:g}{unit}"
    return f"{bits:g}"


def device_row(d: DeviceStatus) -> Row:
    status = _STATUS_TEXT.get(d.status, d.status)
    status_style = _STATUS_STYLE.get(d.status, "")
    if d.stale and d.status == UP:
        status, status_style = "stale", "stale"
    cells = (
        d.name,
        d.address,
        status,
        # Minutes are enough, and a cell that changes at every poll costs bytes.
        human_duration(d.sys_uptime // 60 * 60) if d.sys_uptime is not None else "—",
        f"{d.cpu:.0f}%" if d.cpu is not None else "—",
        f"{d.if_up}/{d.if_down}" if d.if_up is not None else "—",
        _rate(d.in_bps),
        _rate(d.out_bps),
        _per_s(d.errors),
        _clock(d.last_poll),
    )
    styles = (
        "",
        "muted",
        status_style,
        "",
        "",
        "sev-major" if d.if_down else "",
        "",
        "",
        "sev-warning" if d.errors else "",
        "stale" if d.stale and d.status != NEVER_POLLED else "muted",
    )
    return Row(d.name, cells, cell_styles=styles)


def network_summary(statuses: Sequence[DeviceStatus]) -> Line:
    """One line for the 80x24 summary: how many devices, and how many need a look."""
    up = sum(1 for d in statuses if d.status == UP and not d.stale)
    down = sum(1 for d in statuses if d.status == UNREACHABLE)
    stale = sum(1 for d in statuses if d.status == UP and d.stale)
    never = sum(1 for d in statuses if d.status == NEVER_POLLED)
    links = sum(d.if_down or 0 for d in statuses)
    parts: list[tuple[str, str]] = [
        ("NET ", "label"),
        (f"{len(statuses)} device{'' if len(statuses) == 1 else 's'} ", ""),
    ]
    parts.append((f"{up} up", "sev-ok" if up else "muted"))
    if down:
        parts.append((f"  {down} unreachable", "sev-major"))
    if stale:
        parts.append((f"  {stale} stale", "stale"))
    if never:
        parts.append((f"  {never} not polled", "muted"))
    if links:
        parts.append((f"  {links} links down", "sev-major"))
    return tuple(parts)


def interface_rows(snap: Snapshot | None) -> list[Row]:
    rows: list[Row] = []
    for r in (snap.data.get("interfaces") or []) if snap is not None else []:
        errors = [r.get("in_errors"), r.get("out_errors")]
        discards = [r.get("in_discards"), r.get("out_discards")]
        err = sum(e for e in errors if isinstance(e, int | float)) if any(
            isinstance(e, int | float) for e in errors
        ) else None  # fmt: skip
        disc = sum(e for e in discards if isinstance(e, int | float)) if any(
            isinstance(e, int | float) for e in discards
        ) else None  # fmt: skip
        admin, oper = r.get("admin") or "?", r.get("oper") or "?"
        down = admin == "up" and oper != "up"
        rows.append(
            Row(
                str(r.get("index")),
                (
                    str(r.get("name") or r.get("index")),
                    str(r.get("alias") or ""),
                    f"{admin}/{oper}",
                    _speed(r.get("speed")),
                    _rate(r.get("in_bps")),
                    _rate(r.get("out_bps")),
                    _per_s(err),
                    _per_s(disc),
                ),
                cell_styles=(
                    "",
                    "muted",
                    "sev-major" if down else "sev-ok" if oper == "up" else "muted",
                    "muted",
                    "",
                    "",
                    "sev-warning" if err else "",
                    "sev-warning" if disc else "",
                ),
            )
        )
    return rows


def device_screen_lines(
    status: DeviceStatus,
    snap: Snapshot | None,
    series: dict[str, list[tuple[float, float]]],
    width: int,
    now: float,
    interval: float,
) -> list[Line]:
    """The drill-down's head: identity, self-health and the device's trends."""
    data = snap.data if snap is not None else {}
    state = _STATUS_TEXT.get(status.status, status.status)
    lines: list[Line] = [
        (
            (status.sys_name or status.name, "heading"),
            (f"  {status.address}", "muted"),
            (f"  {state}", _STATUS_STYLE.get(status.status, "")),
            ("  STALE" if status.stale and status.status == UP else "", "stale"),
        ),
        (("descr  ", "label"), (status.sys_descr or "—", "")),
        (
            ("uptime ", "label"),
            (human_duration(status.sys_uptime) if status.sys_uptime is not None else "—", ""),
            ("  cpu ", "label"),
            (f"{status.cpu:.0f}%" if status.cpu is not None else "—", ""),
            ("  location ", "label"),
            (str(data.get("sysLocation") or "—"), ""),
        ),
        (
            ("poll   ", "label"),
            (f"last ok {_clock(status.last_success)}", ""),
            (
                f"  took {status.latency_ms:.0f} ms" if status.latency_ms is not None else "",
                "",
            ),
            (f"  timeouts {status.timeouts}", "sev-warning" if status.timeouts else "muted"),
            (
                f"  failing {status.consecutive_failures}x, next try in "
                f"{status.backoff:g} intervals"
                if status.consecutive_failures
                else "",
                "sev-major",
            ),
        ),
    ]
    if status.last_error and status.consecutive_failures:
        lines.append((("error  ", "label"), (status.last_error, "sev-major")))
    spark_w = max(8, width - 10)
    bucket = max(interval, DEVICE_TREND_S / spark_w)
    lines.append(
        (
            (f"TREND, last {human_duration(DEVICE_TREND_S)}", "heading"),
            (f"  one bar per {bucket:.0f} s", "muted"),
        )
    )
    for metric, (label, top) in DEVICE_SPARKS.items():
        values = bucketed(series.get(metric, []), bucket, now)
        latest = series.get(metric) or []
        tail = (
            f" {_rate(latest[-1][1])}"
            if latest and metric.endswith("bps")
            else f" {latest[-1][1]:.1f}"
            if latest
            else ""
        )
        lines.append(
            (
                (f"{label:<6} ", "label"),
                (sparkline(values, max(4, spark_w - 8), top), "spark"),
                (tail, ""),
            )
        )
    return lines


class NetworkView(RowTable):
    """The device table; it keeps the latest snapshot and self-health per device."""

    def __init__(self, context: ConsoleContext, *, id: str | None = None) -> None:
        super().__init__(
            DEVICE_COLUMNS, empty_text="no devices match the filter", id=id or "network-table"
        )
        self.context = context
        self.snaps: dict[str, Snapshot] = {}
        self.health: dict[str, CollectorHealth] = {}
        self.statuses: list[DeviceStatus] = []
        self.filter_text = ""

    def on_mount(self) -> None:
        if self.context.config.devices:
            self.set_interval(RESTALE_EVERY_S, self.redraw)

    async def load(self, changes: list[Change] | None) -> bool:
        """Read what changed; return whether anything concerning devices did."""
        config = self.context.config
        if not config.devices:
            return False
        store = self.context.store
        if changes is None:
            self.snaps = {s.resource: s for s in await store.snapshots("snmp")}
            self.health = {h.name: h for h in await store.collector_health()}
            self.redraw()
            return True
        names = {c.ref.split("|", 1)[1] for c in changes
                 if c.kind == "reading" and c.ref.startswith("snmp|")}  # fmt: skip
        health = any(c.kind == "health" and c.ref.startswith("snmp:") for c in changes)
        if not names and not health:
            return False
        for name in names:
            snap = await store.snapshot("snmp", name)
            if snap is not None:
                self.snaps[name] = snap
        if health:
            self.health = {h.name: h for h in await store.collector_health()}
        self.redraw()
        return True

    def redraw(self) -> None:
        from bridge.core.query import matches

        self.statuses = device_statuses(
            self.context.config,
            list(self.snaps.values()),
            list(self.health.values()),
            self.context.clock.now(),
        )
        rows = [device_row(d) for d in self.statuses]
        if self.filter_text:
            rows = [r for r in rows if matches(r.cells, self.filter_text)]
        self.set_rows(rows)
        screen = self.app.screen
        if isinstance(screen, DeviceScreen) and screen.source is self:
            screen.redraw()

    def status(self, name: str) -> DeviceStatus | None:
        return next((d for d in self.statuses if d.name == name), None)


class DeviceScreen(ModalScreen[None]):
    """One device: who it is, how its polling goes, its trends and its interfaces."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, name: str, source: NetworkView) -> None:
        super().__init__()
        self.device = name
        self.source = source
        self.context = source.context
        self.series: dict[str, list[tuple[float, float]]] = {m: [] for m in DEVICE_SPARKS}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="device-dialog") as box:
            box.border_title = plain(f"Device {self.device}")
            box.border_subtitle = "Esc closes"
            yield LinesView(id="device-lines")
            yield RowTable(INTERFACE_COLUMNS, empty_text="no interfaces", id="device-interfaces")

    async def on_mount(self) -> None:
        self.context.store_changed.subscribe(self, self._changed)
        await self._load_series(full=True)
        self.redraw()
        self.query_one("#device-interfaces", RowTable).focus()

    async def _changed(self, changes: list[Change]) -> None:
        ref = f"snmp|{self.device}"
        # The table redraws this screen when its data moves; only the series are ours.
        if any(c.kind == "reading" and c.ref == ref for c in changes):
            await self._load_series(full=False)
            self.redraw()

    async def _load_series(self, full: bool) -> None:
        now = self.context.clock.now()
        cutoff = now - DEVICE_TREND_S
        for metric, points in self.series.items():
            since = points[-1][0] + 1e-6 if points and not full else cutoff
            fresh = await self.context.store.series("snmp", self.device, metric, since)
            if full:
                points.clear()
            points.extend(fresh)
            while points and points[0][0] < cutoff:
                points.pop(0)

    def redraw(self) -> None:
        status = self.source.status(self.device)
        if status is None:
            return
        snap = self.source.snaps.get(self.device)
        view = self.query_one("#device-lines", LinesView)
        interval = next(
            (d.interval for d in self.context.config.devices if d.name == self.device), 30.0
        )
        width = max(30, view.size.width or self.size.width - 4)
        view.set_lines(
            device_screen_lines(
                status, snap, self.series, width, self.context.clock.now(), interval
            )
        )
        self.query_one("#device-interfaces", RowTable).set_rows(interface_rows(snap))

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        event.stop()  # an interface has nothing more to open (yet)

    def on_resize(self) -> None:
        self.redraw()
