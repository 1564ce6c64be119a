"""The Events pane: the bridge's main job. Detect, show, acknowledge, follow to closure.

It shows a bounded window from the store (the first `list_limit` events in console
order; a filter is applied in the store, so it reaches all of history), and
reloads at most a few times a second however fast events arrive.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer

from bridge.actions import Action, ActionError, check_note
from bridge.durations import parse_duration
from bridge.models import Change, Event, EventState
from bridge.query import EventQuery, QueryError, parse_query
from bridge.text import human_bytes, human_duration, safe_text
from bridge.timefmt import show_time
from bridge.ui.lines import Line, LinesView, plain
from bridge.ui.panes import Pane
from bridge.ui.rowtable import Column, Row, RowTable

__all__ = ["EventDetailsScreen", "EventsPane"]

RELOAD_EVERY_S = 0.25
COUNT_EVERY_S = 2.0
_STATE_LABEL = {
    EventState.OPEN: "open",
    EventState.ACKNOWLEDGED: "ack",
    EventState.SHELVED: "shelvd",
    EventState.SUPPRESSED: "suppr",
    EventState.RESOLVED: "rslvd",
}  # storms: however many commits arrive, redraw at most this often


class EventsPane(Pane):
    title = "Events"
    number = 1

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "act('ack')", "Ack"),
        Binding("u", "act('unack')", "Unack", show=False),
        Binding("n", "act('note')", "Note"),
        Binding("s", "act('shelve')", "Shelve"),
        Binding("e", "act('escalate')", "Escalate", show=False),
        Binding("o", "act('own')", "Own", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("h", "history", "History"),
    ]

    COLUMNS = (
        Column("mark", "", 1),
        Column("severity", "SEV", 8),
        Column("age", "AGE", 6, "right"),
        Column("resource", "RESOURCE", 14),
        Column("check", "CHECK", 12, drop=1),
        Column("summary", "SUMMARY"),
        Column("count", "CNT", 4, "right", drop=2),
        Column("state", "STATE", 6),
        Column("owner", "OWNER", 8, drop=3),
    )

    def __init__(self) -> None:
        super().__init__(id="events-pane")
        self.events: list[Event] = []
        self.total: int | None = 0  # None: more than the window, not counted yet
        self.include_resolved = False
        self.query_: EventQuery = EventQuery()
        self.marked: set[int] = set()
        self._dirty = False
        self._loading = False
        self._counted_at = float("-inf")
        self._count_stale = False
        self._timer: Timer | None = None
        self.reload_every = RELOAD_EVERY_S  # longer in low-bandwidth mode

    def compose(self) -> ComposeResult:
        yield RowTable(self.COLUMNS, empty_text="no open events", id="events-table")

    def _schedule(self) -> None:
        """Reload soon, once, however many changes arrive meanwhile (no idle timer)."""
        if self._timer is None:
            self._timer = self.set_timer(self.reload_every, self._on_timer)

    async def _on_timer(self) -> None:
        self._timer = None
        await self._reload_if_dirty()
        if self._dirty or self._count_stale:
            self._schedule()

    @property
    def body(self) -> RowTable:
        return self.query_one(RowTable)

    # -- data -------------------------------------------------------------------------
    async def load(self, changes: list[Change] | None = None) -> None:
        if changes is not None:
            if any(c.kind in ("events", "maintenance") for c in changes):
                self._dirty = True  # coalesced: see _schedule
                self._schedule()
            return
        await self._reload()

    async def _reload_if_dirty(self) -> None:
        if self._loading:
            return
        if self._dirty:
            self._dirty = False
            await self._reload()
        elif self._count_stale and await self._recount():
            self.redraw()

    async def _recount(self, force: bool = False) -> bool:
        """Count the whole match, at most every COUNT_EVERY_S: it scans a large history,
        so under a storm "of N" may lag by a second or two, but it always catches up."""
        now = time.monotonic()  # a rate limit, not a displayed time: not the app clock
        if not force and now - self._counted_at < COUNT_EVERY_S:
            return False
        app = self.bridge
        self._counted_at = now
        self._count_stale = False
        self.total = await app.store.count_events(
            include_resolved=self.include_resolved,
            query=self.query_,
            keep_unacked_resolved=app.config.events.keep_unacknowledged_resolved,
        )
        return True

    async def _reload(self) -> None:
        self._loading = True
        try:
            app = self.bridge
            keep = app.config.events.keep_unacknowledged_resolved
            self.events = await app.store.list_events(
                include_resolved=self.include_resolved,
                limit=app.config.events.list_limit,
                query=self.query_,
                keep_unacked_resolved=keep,
            )
            if len(self.events) < app.config.events.list_limit:
                self.total = len(self.events)
                self._count_stale = False
            else:
                # Counted by the timer, after this window is on screen: a keypress
                # (history, filter) must not wait for a scan of all history.
                self._count_stale = True
                self._schedule()
                if self.total is not None and self.total < len(self.events):
                    self.total = None
        finally:
            self._loading = False
        self.redraw()

    def redraw(self) -> None:
        now = self.bridge.clock.now()
        fresh_s = self.bridge.config.events.fresh_seconds
        rows = []
        unacked = 0
        for e in self.events:
            # In a maintenance window: stored and listed, but muted and not an alert.
            unacked += e.needs_ack and not e.suppressed
            sev = e.severity.label
            state = _STATE_LABEL[e.state]
            if e.state is EventState.RESOLVED and e.acked_by is None:
                state = "RSLVD"  # resolved, but nobody has seen it yet
            if e.suppressed and e.state is not EventState.RESOLVED:
                state = "maint"
            cells = (
                "*" if e.id in self.marked else "",
                sev.upper(),
                human_duration(now - e.first_seen),
                e.resource,
                e.check,
                e.summary,
                str(e.count),
                state,
                e.owner or "",
            )
            style = ""
            if e.suppressed or e.state in (
                EventState.RESOLVED,
                EventState.SHELVED,
                EventState.SUPPRESSED,
            ):
                style = "muted"
            elif e.opened_at is not None and now - e.opened_at < fresh_s:
                style = "fresh"
            sev_style = "" if e.suppressed else f"sev-{sev}"
            rows.append(Row(str(e.id), cells, style, ("", sev_style)))
        self.body.set_rows(rows)
        self.body.empty_text = (
            "no events match the filter"
            if not self.query_.empty
            else ("no events" if self.include_resolved else "no open events")
        )
        shown = (
            f"{len(self.events)}+"
            if self.total is None
            else f"{len(self.events)} of {self.total}"
            if self.total > len(self.events)
            else str(self.total)
        )
        mode = ", history" if self.include_resolved else ""
        title = f"{self.number} {self.title} ({shown}{mode}; {unacked} to ack)"
        if title != self.border_title:  # setting it repaints the whole border
            self.border_title = plain(title)

    def has_fresh(self) -> bool:
        now = self.bridge.clock.now()
        fresh_s = self.bridge.config.events.fresh_seconds
        return any(e.opened_at is not None and now - e.opened_at < fresh_s + 1 for e in self.events)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        try:
            self.query_ = parse_query(text)
        except QueryError as exc:
            self.border_subtitle = plain(f"filter error: {exc}")
            return
        self.border_subtitle = plain(f"filter: {text}" if text else "")
        self._counted_at = float("-inf")  # a new query needs a new count
        self.total = None
        self._dirty = True
        self._schedule()

    # -- actions ------------------------------------------------------------------------
    def targets(self) -> list[int]:
        """Marked rows if any, else the row under the cursor."""
        if self.marked:
            return sorted(self.marked)
        key = self.body.current_key
        return [int(key)] if key is not None else []

    def action_mark(self) -> None:
        key = self.body.current_key
        if key is None:
            return
        self.marked ^= {int(key)}
        self.redraw()
        self.body.action_cursor(1)

    async def action_history(self) -> None:
        self.include_resolved = not self.include_resolved
        self._counted_at = float("-inf")
        self.total = None
        await self._reload()

    def action_act(self, name: str) -> None:
        from bridge.ui.screens import PromptScreen  # the dialogs: when first opened

        action = Action(name)
        ids = self.targets()
        if not ids:
            self.app.bell()
            return
        which = f"event {ids[0]}" if len(ids) == 1 else f"{len(ids)} marked events"
        if action is Action.SHELVE:
            self.app.push_screen(
                PromptScreen(
                    f"Shelve {which} for how long? (30m, 2h, 1d)",
                    value="1h",
                    check=_duration_error,
                ),
                lambda text: self._shelve(ids, text),
            )
        elif action in (Action.ACK, Action.NOTE):
            what = "Note" if action is Action.NOTE else "Acknowledge; note (optional)"
            self.app.push_screen(
                PromptScreen(
                    f"{what} for {which}:",
                    check=lambda text: _note_error(text, required=action is Action.NOTE),
                ),
                lambda text: self._run(action, ids, note=text) if text is not None else None,
            )
        else:
            self.run_worker(self._act(action, ids))

    def _run(
        self, action: Action, ids: list[int], *, note: str = "", until: float | None = None
    ) -> None:
        self.run_worker(self._act(action, ids, note=note, until=until))

    def _shelve(self, ids: list[int], text: str | None) -> None:
        if text is None:
            return
        until = self.bridge.clock.now() + parse_duration(text)
        self._run(Action.SHELVE, ids, until=until)

    async def _act(
        self, action: Action, ids: list[int], *, note: str = "", until: float | None = None
    ) -> None:
        app = self.bridge
        app.in_flight += 1
        try:
            results = await app.store.act(
                ids, action, app.operator, app.clock.now(), note=note or "", until=until
            )
        except ActionError as exc:
            app.notify(str(exc), title=action.value, severity="error", markup=False)
            return
        finally:
            app.in_flight -= 1
        refused = [r for r in results if not r.ok]
        for r in refused:
            app.notify(r.message, title=f"{action.value} refused", severity="warning", markup=False)
        done = len(results) - len(refused)
        if done:
            app.notify(
                f"{action.value}: {done} event{'s' if done > 1 else ''}", timeout=2, markup=False
            )
        self.marked.clear()
        await self._reload()

    def open_details(self, key: str) -> None:
        self.app.push_screen(EventDetailsScreen(int(key)))


def _duration_error(text: str) -> str | None:
    try:
        parse_duration(text)
    except ValueError as exc:
        return str(exc)
    return None


def _note_error(text: str, *, required: bool) -> str | None:
    try:
        check_note(text, required=required)
    except ActionError as exc:
        return str(exc)
    return None


def _iso(t: float | None) -> str:
    return show_time(t, "second")  # in the zone the header names


def _evidence_lines(evidence: dict[str, Any]) -> list[Line]:
    lines: list[Line] = [
        (("EVIDENCE at raise", "heading"), (f"  {_iso(evidence.get('at'))}", "muted"))
    ]
    metrics = evidence.get("metrics") or {}
    if metrics:
        lines.append(
            (
                ("  values  ", "label"),
                ("  ".join(f"{k} {v:.1f}" for k, v in sorted(metrics.items())), ""),
            )
        )
    for title, key in (("top by CPU", "top_cpu"), ("top by memory", "top_memory")):
        procs = evidence.get(key) or []
        if procs:
            lines.append(((f"  {title}", "label"),))
            lines.extend(
                (
                    (f"    {p.get('pid', '?'):>7} ", "muted"),
                    (f"{p.get('cpu', 0):5.1f}% {human_bytes(p.get('rss', 0)):>7}  ", ""),
                    (str(p.get("name", "?")), ""),
                )
                for p in procs
            )
    extra = {
        k: v for k, v in evidence.items() if k not in ("at", "metrics", "top_cpu", "top_memory")
    }
    for k, v in extra.items():
        lines.append(((f"  {k:<10}", "label"), (json.dumps(v)[:200], "")))
    return lines


class EventDetailsScreen(ModalScreen[None]):
    """Every field, the frozen evidence, the journal, and the runbook."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("c", "copy", "Copy"),
    ]

    def __init__(self, event_id: int) -> None:
        super().__init__()
        self.event_id = event_id
        self.event: Event | None = None
        self.runbook = ""

    def details_text(self) -> str:
        """The details as plain text: what `c` puts on the clipboard."""
        view = self.query_one("#event-lines", LinesView)
        text = "\n".join("".join(safe_text(t) for t, _ in line).rstrip() for line in view.lines)
        if self.runbook:
            text += "\n\nRUNBOOK\n" + self.runbook.strip()
        return f"Event {self.event_id}\n{text}\n"

    def action_copy(self) -> None:
        # OSC 52: the terminal at the far end of SSH puts it on the operator's clipboard.
        self.app.copy_to_clipboard(self.details_text())
        self.app.notify("event details copied to the clipboard (OSC 52)", timeout=2, markup=False)

    def compose(self) -> ComposeResult:
        # Imported here: markdown-it costs start-up time and only details need it.
        from textual.widgets import Markdown

        with VerticalScroll(classes="dialog", id="event-dialog") as box:
            box.border_title = plain(f"Event {self.event_id}")
            box.border_subtitle = "c copies · Esc closes"
            yield LinesView(id="event-lines")
            yield Markdown("", id="runbook")

    async def on_mount(self) -> None:
        from bridge.ui.app import BridgeApp

        app = self.app
        assert isinstance(app, BridgeApp)
        store = app.store
        event = self.event = await store.get_event(self.event_id)
        view = self.query_one("#event-lines", LinesView)
        if event is None:
            view.set_lines([((f"event {self.event_id} no longer exists", "stale"),)])
            return
        evidence = await store.evidence(self.event_id)
        journal = await store.journal(self.event_id)
        sev = event.severity.label
        fields: list[tuple[str, str, str]] = [
            ("severity", sev, f"sev-{sev}"),
            (
                "state",
                event.state.value
                + (f" (maintenance: {event.suppressed_by})" if event.suppressed_by else ""),
                "",
            ),
            ("resource", event.resource, ""),
            ("check", event.check, ""),
            ("source", event.source, ""),
            ("summary", event.summary, ""),
            ("count", str(event.count), ""),
            ("first seen", _iso(event.first_seen), ""),
            ("last seen", _iso(event.last_seen), ""),
            ("owner", event.owner or "—", ""),
            (
                "acknowledged",
                f"{event.acked_by} at {_iso(event.acked_at)}" if event.acked_by else "—",
                "",
            ),
            ("resolved", _iso(event.resolved_at), ""),
            ("shelved until", _iso(event.shelved_until), ""),
        ]
        if event.value is not None:
            fields.insert(7, ("value", f"{event.value:g}", ""))
        lines: list[Line] = [((f"{k:<14}", "label"), (v, cls)) for k, v, cls in fields]
        for i, text in enumerate(event.detail.splitlines()):
            lines.append((("detail".ljust(14) if i == 0 else " " * 14, "label"), (text, "")))
        if evidence:
            lines.append((("", ""),))
            lines.extend(_evidence_lines(evidence))
        lines.append((("", ""),))
        lines.append((("JOURNAL", "heading"),))
        for j in journal:
            lines.append(
                (
                    (f"  {_iso(j.at)}  ", "muted"),
                    (f"{safe_text(j.actor)[:12]:<12} ", ""),
                    (f"{j.action:<9} ", "label"),
                    (j.note, ""),
                )
            )
        view.set_lines(lines)
        rule = app.config.rule_for(event.source, event.resource, event.check)
        self.runbook = rule.runbook or ""
        from textual.widgets import Markdown

        runbook = self.query_one("#runbook", Markdown)
        if rule.runbook:
            await runbook.update("## Runbook\n\n" + rule.runbook)
        else:
            await runbook.update(
                "*No runbook for this check: add one to a `[[rules]]` entry in the config.*"
            )
