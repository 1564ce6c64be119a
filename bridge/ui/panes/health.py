"""The Health pane: a host's figures (this one's, or another's where several report),
the SNMP estate and the HTTP checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from bridge.core.models import Change, CollectorHealth, Snapshot
from bridge.core.query import matches
from bridge.core.text import safe_text
from bridge.ui.context import ConsoleContext
from bridge.ui.panes.base import Pane
from bridge.ui.panes.checks_view import add_check_lines
from bridge.ui.panes.health_view import SPARK_METRICS, health_lines, local_disabled_lines
from bridge.ui.panes.wall_server_view import HEALTH_NAME as WALL_HEALTH
from bridge.ui.panes.wall_server_view import SNAPSHOT as WALL_SNAPSHOT
from bridge.ui.panes.wall_server_view import wall_server_lines
from bridge.ui.widgets.cuts import LAYERS, CutMarks
from bridge.ui.widgets.lines import Line, LinesView
from bridge.ui.widgets.rowtable import RowTable

if TYPE_CHECKING:
    from bridge.runtime.hosts import HostStatus
    from bridge.ui.panes.network_view import NetworkView

__all__ = ["HealthPane"]

TREND_WINDOW_S = 300.0
SERIES_EVERY_S = 5.0  # sparkline bars are buckets of several seconds: no need to read more often
WALL_REF = "|".join(WALL_SNAPSHOT)  # the change feed's ref of the wall server's reading
# Hosts re-read with the samples at most this often: another host's stop shows within
# its stale threshold plus this (and the console's lease check covers a silent store).
HOSTS_EVERY_S = 1.0


class HealthPane(Pane):
    title = "Health"
    number = 3

    # Enter on the host lines: where the device table is hidden (80x24), the pane
    # zooms to show it and focuses it, so a second Enter opens a device.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "devices", "Devices", show=False),
        Binding("h", "next_host", "Next host", show=False),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(context, id="health-pane")
        self.snapshot: Snapshot | None = None
        self.series: dict[str, list[tuple[float, float]]] = {m: [] for m in SPARK_METRICS}
        self.collector_errors: dict[str, Any] = {}
        self.intake: Any = None  # the HTTP intake's health record, where one serves
        self.intake_stats: Snapshot | None = None  # its counters (bridge.runtime.intake_stats)
        self.checks: list[Snapshot] = []
        self.traps: Snapshot | None = None  # the trap receiver's counters
        self.wall_server: Snapshot | None = None  # `bridge wall --serve`'s sessions
        self.wall_health: CollectorHealth | None = None  # the wall collector's own health
        self._series_at = float("-inf")
        self._network: NetworkView | None = None
        # Every host reporting to the store and which one this pane shows (None: this one).
        self.hosts: list[HostStatus] = []
        self.shown_host: str | None = None
        self.own_sample_at: float | None = None  # this host's newest sample, for the header
        self._hosts_at = float("-inf")

    @property
    def shown(self) -> str:
        return self.shown_host or self.context.hostname

    def action_next_host(self) -> None:
        """Show the next host's figures (`h`), where more than one reports."""
        from bridge.ui.panes.hosts_view import next_host

        host = next_host(self.hosts, self.shown)
        if host == self.shown:
            return
        self.shown_host = None if host == self.context.hostname else host
        self.snapshot = None
        self.series = {m: [] for m in SPARK_METRICS}
        self._series_at = float("-inf")
        self.run_worker(self.load(None), group="health-host", exclusive=True)

    async def load_hosts(self, local: list[Snapshot] | None = None) -> None:
        """Re-read the hosts and their collectors' leases: a lease lapses without a
        change in the feed, so the console calls this on its lease check too.
        `local`: the local snapshots just read, not read again."""
        from bridge.runtime.hosts import list_hosts

        context = self.context
        self._hosts_at = context.clock.now()
        hosts = await list_hosts(
            context.store, self._hosts_at, context.stale_after, duties=False, local=local
        )
        if hosts != self.hosts:
            self.hosts = hosts
            # The header counts them too: the console's next tick (each second) redraws it.
            self.redraw()

    DEFAULT_CSS = f"""
    HealthPane {{ layers: {LAYERS}; }}
    """

    def compose(self) -> ComposeResult:
        # The host's figures tick every second at the ends of their lines.
        yield CutMarks(id="health-cuts")
        yield LinesView(id="health-view")
        # The network half, only where devices are configured: a hidden table still
        # cost its styling at every style pass of the first screen.
        if self.context.config.devices:
            from bridge.ui.panes.network_view import NetworkView

            self._network = NetworkView(self.context, id="network-table")
            yield self._network

    def on_mount(self) -> None:
        self.set_class(bool(self.context.config.devices), "-devices")

    @property
    def host_view(self) -> LinesView:
        return self.query_one("#health-view", LinesView)

    @property
    def network(self) -> NetworkView | None:
        """The device table, where devices are configured."""
        return self._network

    @property
    def body(self) -> LinesView | RowTable:
        # With devices, focus lands on their table so Enter opens one; `3` again reaches the host lines.
        # In the 80x24 summary the table is hidden (a summary line stands for it).
        table = self.network
        return table if table is not None and table.display else self.host_view

    def open_details(self, key: str) -> None:
        from bridge.ui.panes.network_view import DeviceScreen

        table = self.network
        if table is not None and table.status(key) is not None:
            self.app.push_screen(DeviceScreen(key, table))

    def focus_body(self) -> None:
        # With devices, `3` lands on their table; `3` again reaches the host lines
        # (trends, top processes), which Tab, going on to the next pane, never did.
        table = self.network
        if table is not None and table.has_focus:
            self.host_view.focus()
        else:
            self.body.focus()

    async def action_devices(self) -> None:
        table = self.network
        if table is None:
            return
        if not table.display:
            await self.app.run_action("zoom")
        self.call_after_refresh(table.focus)

    @property
    def compact(self) -> bool:
        # A short pane (80x24, or a small split) gets the one-glance summary.
        return 0 < self.size.height - 2 < 12

    async def load(self, changes: list[Change] | None = None) -> None:
        store = self.context.store
        local = changes is None or any(
            c.kind == "reading" and c.ref.startswith("local|") for c in changes
        )
        http = changes is None or any(
            c.kind == "reading" and c.ref.startswith("http|") for c in changes
        )
        # A device's poll records its health too; the device table shows that, not
        # this pane's host lines: the devices' polls need not re-read every health.
        health = changes is None or any(
            c.kind == "health" and not c.ref.startswith("snmp:") for c in changes
        )
        now = self.context.clock.now()
        snaps: list[Snapshot] | None = None
        if local and self.context.config.local.enabled:  # else old samples are no news
            snaps = await store.snapshots("local")
            own = [s for s in snaps if s.resource == self.context.hostname]
            self.own_sample_at = own[0].at if own else None
            mine = [s for s in snaps if s.resource == self.shown]
            if self.shown_host is None:
                mine = mine or snaps
            self.snapshot = mine[0] if mine else None
            if self.snapshot is not None and now - self._series_at >= SERIES_EVERY_S:
                self._series_at = now
                for metric, points in self.series.items():
                    since = points[-1][0] + 1e-6 if points else now - TREND_WINDOW_S
                    fresh = await store.series("local", self.snapshot.resource, metric, since)
                    points.extend(fresh)
                    cutoff = now - TREND_WINDOW_S
                    while points and points[0][0] < cutoff:
                        points.pop(0)
        if (
            changes is None
            or any(
                c.kind == "lease" or (c.kind == "reading" and c.ref.startswith("collector|"))
                for c in changes
            )
            or (local and now - self._hosts_at >= HOSTS_EVERY_S)
        ):
            await self.load_hosts(snaps)
        if http:
            self.checks = await store.snapshots("http")
        if self.context.config.traps.enabled and (
            changes is None
            or any(c.kind == "reading" and c.ref == "traps|receiver" for c in changes)
        ):
            self.traps = await store.snapshot("traps", "receiver")
        # Not only where this console's config enables it: the lease holder serving
        # the intake may be another process, on another host with PostgreSQL.
        intake_changed = changes is None or any(
            c.kind == "reading" and c.ref == "intake|http" for c in changes
        )
        if intake_changed:
            self.intake_stats = await store.snapshot("intake", "http")
        # As the intake: the lease holder watching the wall server may be elsewhere.
        wall_changed = changes is None or any(
            c.kind == "reading" and c.ref == WALL_REF for c in changes
        )
        if wall_changed:
            self.wall_server = await store.snapshot(*WALL_SNAPSHOT)
        if health:
            records = await store.collector_health()
            self.intake = next((h for h in records if h.name == "intake"), None)
            self.wall_health = next((h for h in records if h.name == WALL_HEALTH), None)
            self.collector_errors = {
                h.name: h
                for h in records
                # A failing device shows in the device table, not as a host problem;
                # a wall server that does not answer, in its own section; another
                # host's local collector, in that host's view.
                if h.consecutive_failures
                and not h.name.startswith("snmp:")
                and h.name != WALL_HEALTH
                and (not h.name.startswith("local:") or h.name == f"local:{self.shown}")
            }
        if (table := self.network) is not None:
            await table.load(changes)
        # Events and jobs do not change this pane's lines, nor do the devices' readings
        # and health but in the compact summary, which counts devices.
        if local or http or health or intake_changed or wall_changed or (self.compact and any(
            c.kind in ("reading", "health") for c in changes or ()
        )):  # fmt: skip
            self.redraw()

    def redraw(self) -> None:
        ctx = self.context
        view = self.host_view
        width = max(20, view.size.width or self.size.width - 2)
        compact = self.compact
        # Lines among the host's: the host's lines get the rows that are left.
        errors: list[Line] = [
            (
                (f"collector {name} failing ({h.consecutive_failures}x): ", "sev-major"),
                (h.last_error or "", ""),
            )
            for name, h in self.collector_errors.items()
        ]
        if self.traps is not None:
            from bridge.runtime.trap_service import receiver_summary

            text, problem = receiver_summary(self.traps.data)
            if problem:  # junk or loss; all well says nothing
                errors.append(((text, "sev-warning"),))
        failing = self.intake is not None and self.intake.consecutive_failures
        if (stats := self.intake_stats) is not None and not failing:
            from bridge.runtime.intake_stats import intake_lines

            names = [t.name for t in ctx.config.intake.tokens]
            errors.extend(
                intake_lines(
                    stats.data, stats.at, ctx.clock.now(), names, width=width, compact=compact
                )
            )
        elif (intake := self.intake) is not None and not intake.consecutive_failures:
            # The intake's record carries "ADDRESS; REFUSALS BY KIND" as its text.
            where, _, kinds = (intake.last_error or "").partition("; ")
            errors.append(
                (
                    ("intake ", "label"),
                    (safe_text(where, limit=60), ""),
                    (f" · {intake.runs} requests, {intake.errors} refused", "muted"),
                    (safe_text(f": {kinds}" if kinds else "", limit=200), "muted"),
                )
            )
        serve = ctx.config.wall.serving
        host = f"[{serve.address}]" if ":" in serve.address else serve.address
        errors.extend(
            wall_server_lines(
                self.wall_server,
                self.wall_health,
                url=f"{'https' if serve.tls_cert else 'http'}://{host}:{serve.port}/",
                now=ctx.clock.now(),
                width=width,
                compact=compact,
            )
        )
        summary: list[Line] = []
        if (table := self.network) is not None and compact:
            from bridge.ui.panes.network_view import device_row, network_summary

            # The devices the filter matches, counted: at 80x24 this line is all the
            # device table shows, and a filter hid it with the rest.
            shown = [
                d
                for d in table.statuses
                if not self.filter_text or matches(device_row(d).cells, self.filter_text)
            ]
            summary.append(network_summary(shown))
        checks: list[Line] = []
        add_check_lines(checks, self.checks, compact=compact)
        # A filter shows a subset, and before the first layout the height is 0:
        # nothing to fit in either case.
        taken = len(errors) + len(summary) + len(checks) + (len(self.hosts) > 1)
        height = 0 if self.filter_text else max(0, view.size.height - taken)
        lines = (
            health_lines(
                self.snapshot,
                self.series,
                width,
                compact=compact,
                now=ctx.clock.now(),
                stale_after=ctx.stale_after,
                trend_window=TREND_WINDOW_S,
                interval=ctx.config.local.interval,
                top_rows=ctx.config.local.top_processes,
                height=height,
            )
            if ctx.config.local.enabled
            else local_disabled_lines(ctx.hostname)
        )
        add_check_lines(lines, self.checks, compact=compact)
        if self.filter_text:  # the host's first line stays: which host this is

            def keep(line: Line) -> bool:
                return matches(tuple(t for t, _ in line), self.filter_text)

            lines = [lines[0], *filter(keep, lines[1:])]
            errors = list(filter(keep, errors))
        lines[1:1] = summary
        lines[0:0] = errors
        if len(self.hosts) > 1:  # above all, filtered or not: which host this is
            from bridge.ui.panes.hosts_view import host_line

            lines.insert(0, host_line(self.hosts, self.shown, ctx.clock.now()))
        self.host_view.set_lines(lines)
        if table is not None and table.filter_text != self.filter_text:
            table.filter_text = self.filter_text
            table.redraw()

    def on_resize(self) -> None:
        self.redraw()
