"""The three panes. Each renders what the store says and reloads only on the
kinds of change that concern it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Vertical

from bridge.config import JobConfig
from bridge.models import Change, Event, EventState, Snapshot
from bridge.text import human_duration
from bridge.ui.health_view import SPARK_METRICS, health_lines
from bridge.ui.lines import LinesView
from bridge.ui.rowtable import Column, Row, RowTable

if TYPE_CHECKING:
    from bridge.ui.app import BridgeApp

__all__ = ["EventsPane", "HealthPane", "Pane", "SchedulePane", "matches"]

TREND_WINDOW_S = 300.0


def matches(cells: tuple[str, ...], query: str) -> bool:
    """Every word of the query appears in some cell (case-insensitive)."""
    haystack = " ".join(cells).casefold()
    return all(word in haystack for word in query.casefold().split())


class Pane(Vertical):
    """A bordered pane with one focusable body; `filter_text` narrows what it shows."""

    can_focus = False
    ALLOW_MAXIMIZE = True
    title = ""
    number = 0

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.border_title = f"{self.number} {self.title}"
        self.filter_text = ""

    @property
    def bridge(self) -> BridgeApp:
        from bridge.ui.app import BridgeApp

        assert isinstance(self.app, BridgeApp)
        return self.app

    @property
    def body(self) -> RowTable | LinesView:
        raise NotImplementedError

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.border_subtitle = f"filter: {text}" if text else ""
        self.redraw()

    def redraw(self) -> None:
        """Rebuild the view from data already loaded (no store access)."""

    async def load(self, changes: list[Change] | None = None) -> None:
        """Read from the store what `changes` concern (everything when None)."""

    def describe(self, key: str) -> tuple[str, list[tuple[str, str]]] | None:
        """Title and (field, value) pairs for the details screen."""
        return None


_SEV_CLASS = {"critical", "major", "minor", "warning", "info", "ok"}


class EventsPane(Pane):
    title = "Events"
    number = 1

    COLUMNS = (
        Column("severity", "SEV", 8),
        Column("age", "AGE", 6, "right"),
        Column("resource", "RESOURCE", 14),
        Column("check", "CHECK", 12, drop=1),
        Column("summary", "SUMMARY"),
        Column("count", "CNT", 4, "right", drop=2),
        Column("state", "STATE", 5),
        Column("owner", "OWNER", 8, drop=3),
    )

    def __init__(self) -> None:
        super().__init__(id="events-pane")
        self.events: list[Event] = []
        self.include_resolved = False

    def compose(self) -> ComposeResult:
        yield RowTable(self.COLUMNS, empty_text="no open events", id="events-table")

    @property
    def body(self) -> RowTable:
        return self.query_one(RowTable)

    async def load(self, changes: list[Change] | None = None) -> None:
        if changes is not None and not any(c.kind == "events" for c in changes):
            return
        self.events = await self.bridge.store.list_events(include_resolved=self.include_resolved)
        self.redraw()

    def redraw(self) -> None:
        now = self.bridge.clock.now()
        rows = []
        for e in self.events:
            sev = e.severity.label
            cells = (
                sev.upper(),
                human_duration(now - e.first_seen),
                e.resource,
                e.check,
                e.summary,
                str(e.count),
                "ack" if e.state is EventState.ACKNOWLEDGED else e.state.value,
                e.owner or "",
            )
            if self.filter_text and not matches(cells, self.filter_text):
                continue
            style = "muted" if e.state in (EventState.RESOLVED, EventState.SHELVED) else ""
            rows.append(Row(str(e.id), cells, style, (f"sev-{sev}",)))
        self.body.set_rows(rows)
        self.border_title = f"{self.number} {self.title} ({len(self.events)})"

    def describe(self, key: str) -> tuple[str, list[tuple[str, str]]] | None:
        event = next((e for e in self.events if str(e.id) == key), None)
        if event is None:
            return None
        return (
            f"Event {event.id}: {event.resource} / {event.check}",
            [
                ("severity", event.severity.label),
                ("state", event.state.value),
                ("summary", event.summary),
                ("detail", event.detail),
                ("source", event.source),
                ("count", str(event.count)),
                ("owner", event.owner or "—"),
                ("acknowledged by", event.acked_by or "—"),
            ],
        )


class SchedulePane(Pane):
    title = "Schedule"
    number = 2

    COLUMNS = (
        Column("name", "JOB", 18),
        Column("schedule", "SCHEDULE", 14),
        Column("tz", "TZ", 12, drop=1),
        Column("state", "STATE", 10),
        Column("owner", "OWNER"),
    )

    def __init__(self) -> None:
        super().__init__(id="schedule-pane")

    def compose(self) -> ComposeResult:
        yield RowTable(
            self.COLUMNS,
            empty_text="no jobs configured: add [[jobs]] to the config",
            id="schedule-table",
        )

    @property
    def body(self) -> RowTable:
        return self.query_one(RowTable)

    @property
    def jobs(self) -> list[JobConfig]:
        return self.bridge.config.jobs

    async def load(self, changes: list[Change] | None = None) -> None:
        if changes is None:
            self.redraw()

    def redraw(self) -> None:
        rows = []
        for job in self.jobs:
            cells = (job.name, job.schedule, job.timezone, "scheduled", job.owner or "")
            if self.filter_text and not matches(cells, self.filter_text):
                continue
            rows.append(Row(job.name, cells))
        self.body.set_rows(rows)

    def describe(self, key: str) -> tuple[str, list[tuple[str, str]]] | None:
        job = next((j for j in self.jobs if j.name == key), None)
        if job is None:
            return None
        return (
            f"Job {job.name}",
            [
                ("schedule", f"{job.schedule} ({job.timezone})"),
                ("owner", job.owner or "—"),
                ("depends on", ", ".join(job.depends_on) or "—"),
                ("hosts", ", ".join(job.hosts) or "—"),
                ("runbook", job.runbook or "—"),
            ],
        )


class HealthPane(Pane):
    title = "Health"
    number = 3

    def __init__(self) -> None:
        super().__init__(id="health-pane")
        self.snapshot: Snapshot | None = None
        self.series: dict[str, list[tuple[float, float]]] = {m: [] for m in SPARK_METRICS}
        self.collector_errors: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield LinesView(id="health-view")

    @property
    def body(self) -> LinesView:
        return self.query_one(LinesView)

    @property
    def compact(self) -> bool:
        # A short pane (80x24, or a small split) gets the one-glance summary.
        return 0 < self.size.height - 2 < 12

    async def load(self, changes: list[Change] | None = None) -> None:
        store = self.bridge.store
        if changes is None or any(
            c.kind == "reading" and c.ref.startswith("local|") for c in changes
        ):
            snaps = await store.snapshots("local")
            mine = [s for s in snaps if s.resource == self.bridge.hostname] or snaps
            self.snapshot = mine[0] if mine else None
            if self.snapshot is not None:
                now = self.bridge.clock.now()
                for metric, points in self.series.items():
                    since = points[-1][0] + 1e-6 if points else now - TREND_WINDOW_S
                    fresh = await store.series("local", self.snapshot.resource, metric, since)
                    points.extend(fresh)
                    cutoff = now - TREND_WINDOW_S
                    while points and points[0][0] < cutoff:
                        points.pop(0)
        if changes is None or any(c.kind == "health" for c in changes):
            self.collector_errors = {
                h.name: h for h in await store.collector_health() if h.consecutive_failures
            }
        self.redraw()

    def redraw(self) -> None:
        app = self.bridge
        width = max(20, self.body.size.width or self.size.width - 2)
        lines = health_lines(
            self.snapshot,
            {m: [v for _, v in pts] for m, pts in self.series.items()},
            width,
            compact=self.compact,
            now=app.clock.now(),
            stale_after=app.stale_after,
        )
        for name, h in self.collector_errors.items():
            lines.insert(
                0,
                (
                    (f"collector {name} failing ({h.consecutive_failures}x): ", "sev-major"),
                    (h.last_error or "", ""),
                ),
            )
        if self.filter_text:
            lines = [
                lines[0],
                *(ln for ln in lines[1:] if matches(tuple(t for t, _ in ln), self.filter_text)),
            ]
        self.body.set_lines(lines)

    def on_resize(self) -> None:
        self.redraw()
