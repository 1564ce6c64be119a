"""The Events pane: the bridge's main job. Detect, show, acknowledge, follow to closure.

It shows a bounded window from the store (the first `list_limit` events in console
order; a filter is applied in the store, so it reaches all of history), and
reloads at most a few times a second however fast events arrive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Static

from bridge.config.file import Config
from bridge.config.schedule import JobConfig
from bridge.core.actions import (
    NOTE_REQUIRED,
    SCHEDULE_SOURCE,
    Action,
    ActionError,
    check_name,
    check_note,
)
from bridge.core.durations import parse_duration
from bridge.core.models import Change, Event, EventState, Severity
from bridge.core.query import EventQuery, QueryError, parse_query
from bridge.core.text import human_bytes, human_duration, metric_text, safe_text
from bridge.core.timefmt import show_time
from bridge.ui.context import ConsoleContext
from bridge.ui.messages import ActOnEvents, OpenWindow, ShowJob
from bridge.ui.panes.base import Pane
from bridge.ui.widgets.lines import Line, LinesView, plain
from bridge.ui.widgets.rowtable import Column, Row, RowTable

__all__ = ["EventDetailsScreen", "EventsPane", "job_of"]

RELOAD_EVERY_S = 0.25
COUNT_EVERY_S = 2.0
_STATE_LABEL = {
    EventState.OPEN: "open",
    EventState.ACKNOWLEDGED: "ack",
    EventState.SHELVED: "shelvd",
    EventState.SUPPRESSED: "suppr",
    EventState.RESOLVED: "rslvd",
}  # storms: however many commits arrive, redraw at most this often
FLASH_EVERY_S = 0.4
FLASHES = 3  # the border flashes this many times for a new alarm
ALARM_SCAN = 100  # with a filter on, the newest alarms looked at apart from the list
PROMPT_ROWS = 5  # marked events a prompt lists one by one; it counts the rest
VERB = {
    Action.ACK: "Acknowledge",
    Action.UNACK: "Take back the acknowledgement of",
    Action.NOTE: "Add a note to",
    Action.SHELVE: "Shelve",
    Action.UNSHELVE: "Bring back",
    Action.ESCALATE: "Escalate",
    Action.OWN: "Take ownership of",
    Action.DISOWN: "Release ownership of",
    Action.ASSIGN: "Assign",
    Action.RESOLVE: "Resolve by hand",
}


def job_of(event: Event | None, config: Config) -> JobConfig | None:
    """The configured job an event is about (late, failed, missed, ... from the
    schedule engine), or None: `J` goes from the event to the job."""
    if event is None or event.source != SCHEDULE_SOURCE:
        return None
    return next((j for j in config.jobs if j.name == event.resource), None)


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
        Binding("d", "act('disown')", "Release ownership", show=False),
        Binding("g", "act('assign')", "Assign", show=False),
        Binding("S", "act('unshelve')", "Unshelve", show=False),
        Binding("x", "act('resolve')", "Resolve by hand", show=False),
        Binding("w", "window", "Maintenance window", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("M", "mark_all", "Mark all", show=False),
        Binding("C", "clear_marks", "Clear marks", show=False),
        Binding("h", "history", "History"),
        # Shown (footer, palette) only with a job's event under the cursor: check_action.
        # "Job", not "Job details": at 80 columns the footer then still ends "? Help q Quit".
        Binding("J", "job", "Job"),
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

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(context, id="events-pane")
        self.events: list[Event] = []
        self.total: int | None = 0  # None: more than the window, not counted yet
        self.include_resolved = False
        self.query_: EventQuery = EventQuery()
        self.marked: set[int] = set()
        self._release_cursor = False  # the next reload may drop the cursor's event
        self._kept: set[int] = set()  # listed only because the operator chose them
        # (id, opened_at) of each event that rang, or was already there: rings once.
        self._alarmed: set[tuple[int, float | None]] | None = None  # None: not loaded yet
        self._acting: set[int] = set()  # events the operator's own action changes: no bell
        self.alarms = 0  # times the bell rang
        self._dirty = False
        self._loading = False
        self._counted_at = float("-inf")
        self._count_stale = False
        self._timer: Timer | None = None
        self.reload_every = RELOAD_EVERY_S  # longer in low-bandwidth mode
        self._on_job = False  # a job's event under the cursor: `J` is offered

    def compose(self) -> ComposeResult:
        # A mistyped filter must not pass for an empty estate: its whole message is
        # shown here, wrapped, above the rows it did not filter.
        yield Static("", id="filter-error", markup=False)
        yield RowTable(self.COLUMNS, empty_text="no open events", id="events-table")

    def on_mount(self) -> None:
        self.watch(self.body, "cursor", lambda _: self._cursor_moved(), init=False)

    def current_event(self) -> Event | None:
        key = self.body.current_key
        return next((e for e in self.events if str(e.id) == key), None) if key else None

    def _cursor_moved(self) -> None:
        """Offer `J` in the footer exactly while a job's event is under the cursor."""
        on_job = job_of(self.current_event(), self.context.config) is not None
        if on_job != self._on_job:
            self._on_job = on_job
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "job":
            return self._on_job
        return True

    def action_job(self) -> None:
        job = job_of(self.current_event(), self.context.config)
        if job is None:
            self.app.bell()
            return
        self.post_message(ShowJob(job.name))

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
        ctx = self.context
        self._counted_at = now
        self._count_stale = False
        self.total = await ctx.store.count_events(
            include_resolved=self.include_resolved,
            query=self.query_,
            keep_unacked_resolved=ctx.config.events.keep_unacknowledged_resolved,
        )
        return True

    async def _reload(self) -> None:
        self._loading = True
        try:
            ctx = self.context
            keep = ctx.config.events.keep_unacknowledged_resolved
            events = await ctx.store.list_events(
                include_resolved=self.include_resolved,
                limit=ctx.config.events.list_limit,
                query=self.query_,
                keep_unacked_resolved=keep,
            )
            listed = len(events)
            await self._ring_for_new(events)
            self.events = await self._keep_chosen(events)
            if listed < ctx.config.events.list_limit:
                self.total = listed
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

    async def _ring_for_new(self, events: list[Event]) -> None:
        """Ring the bell and flash the border for a new alarm at `[ui] bell` or above.

        An operator in another tmux window or SSH tab is flagged: a new event, or
        one re-opened or raised to that severity, rings once. Events there at
        start, and changes the operator made here, do not ring.
        """
        level = self.context.config.ui.bell
        if level == "off":
            return
        floor = Severity.CRITICAL if level == "critical" else Severity.MAJOR
        if not self.query_.empty:  # a filter must not hide an alarm
            events = await self.context.store.list_events(
                limit=ALARM_SCAN, query=parse_query(f"sev:{floor.label}+")
            )
        now = {
            (e.id, e.opened_at)
            for e in events
            if e.severity >= floor and e.state is EventState.OPEN and not e.suppressed
        }
        known = self._alarmed
        self._alarmed = now if known is None else known | now
        if known is not None and {a for a in now - known if a[0] not in self._acting}:
            self.alarms += 1
            self.app.bell()
            self._flash(FLASHES * 2)

    def _flash(self, left: int) -> None:
        self.set_class(left % 2 == 0 and left > 0, "-alarm")
        if left > 0:
            self.set_timer(FLASH_EVERY_S, lambda: self._flash(left - 1))

    async def _keep_chosen(self, events: list[Event]) -> list[Event]:
        """Keep the events the operator chose in the list, where they were.

        The event under the cursor and the marked ones stay shown when they leave
        the list (resolved, acknowledged elsewhere, beyond the window), with their
        new state, so the cursor never falls onto a neighbour that the next key
        would act on. The cursor's event is dropped once the cursor has left it,
        at the next reload; a filter or history change lets it go at once.
        """
        chosen = set(self.marked)
        key = self.body.current_key
        if key is not None and not self._release_cursor:
            chosen.add(int(key))
        self._release_cursor = False
        missing = chosen - {e.id for e in events}
        self._kept = set()
        if not missing:
            return events
        found = await self.context.store.events_by_id(sorted(missing))
        self.marked &= {e.id for e in events} | found.keys()  # gone from the store: unmarked
        where = {e.id: i for i, e in enumerate(self.events)}
        for event_id in sorted(found, key=lambda i: where.get(i, len(self.events))):
            events.insert(min(where.get(event_id, len(events)), len(events)), found[event_id])
        self._kept = set(found)
        # The window stays its size: kept rows take the places of the last listed ones.
        excess = len(events) - self.context.config.events.list_limit
        for i in range(len(events) - 1, -1, -1):
            if excess <= 0:
                break
            if events[i].id not in chosen:
                del events[i]
                excess -= 1
        return events

    def redraw(self) -> None:
        now = self.context.clock.now()
        fresh_s = self.context.config.events.fresh_seconds
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
        self._cursor_moved()  # the same row may now hold another event
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
        marks = f"; {len(self.marked)} marked" if self.marked else ""
        title = f"{self.number} {self.title} ({shown}{mode}; {unacked} to ack{marks})"
        if title != self.border_title:  # setting it repaints the whole border
            self.border_title = plain(title)

    def has_fresh(self) -> bool:
        now = self.context.clock.now()
        fresh_s = self.context.config.events.fresh_seconds
        return any(e.opened_at is not None and now - e.opened_at < fresh_s + 1 for e in self.events)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        error = self.query_one("#filter-error", Static)
        try:
            query = parse_query(text)
        except QueryError as exc:
            message = safe_text(f"filter error: {exc} (showing all rows until it is fixed)")
            self.border_subtitle = plain("filter error")
            error.update(message)
            error.display = True
            query = EventQuery()  # the rows shown are the unfiltered ones, said so above
        else:
            error.display = False
            self.border_subtitle = plain(f"filter: {text}" if text else "")
        if query == self.query_:
            return
        self.query_ = query
        self._release_cursor = True
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

    def action_mark_all(self) -> None:
        """Mark every listed event that matches the filter (not those kept for the cursor)."""
        matching = [e.id for e in self.events if e.id not in self._kept]
        if not matching:
            self.app.bell()
            return
        self.marked |= set(matching)
        self.redraw()
        if self.total is None or self.total > len(matching):
            self.app.notify(
                f"marked the {len(matching)} events listed; more match the filter",
                timeout=3,
                markup=False,
            )

    def action_clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self.redraw()

    async def action_history(self) -> None:
        self.include_resolved = not self.include_resolved
        self._release_cursor = True
        self._counted_at = float("-inf")
        self.total = None
        await self._reload()

    def action_act(self, name: str) -> None:
        action = Action(name)
        ids = self.targets()
        if not ids:
            self.app.bell()
            return
        # What the prompt names is what the action acts on: both are taken now,
        # as the prompt opens, whatever the list does while it is open.
        about = f"{VERB[action]} {self.describe(ids)}"
        if action is Action.SHELVE:
            self._ask(
                f"{about}\nFor how long? (30m, 2h, 1d)",
                lambda text: self._ask_note(action, ids, f"{about}\nfor {text.strip()}", span=text),
                value="1h",
                check=_duration_error,
            )
        elif action is Action.ASSIGN:
            self._ask(
                f"{about}\nTo whom? (an operator's name)",
                lambda name: self._ask_note(action, ids, f"{about}\nto {name.strip()}", to=name),
                check=_name_error,
            )
        else:
            self._ask_note(action, ids, about)

    def action_window(self) -> None:
        """A maintenance window for the chosen events' hosts: from now, for how long, why."""
        ids = self.targets()
        if not ids:
            self.app.bell()
            return
        shown = {e.id: e for e in self.events}
        hosts = sorted({shown[i].resource for i in ids if i in shown})
        about = (
            f"Open a maintenance window from now for {', '.join(safe_text(h) for h in hosts)}"
            f"\n(from {self.describe(ids)})"
        )

        def ask_reason(span: str) -> None:
            self._ask(
                f"{about}\nfor {span.strip()}\nReason:",
                lambda reason: self.run_worker(
                    self._open_window(ids, parse_duration(span), reason)
                ),
                check=lambda text: _note_error(text, required=True, label="Reason"),
            )

        self._ask(
            f"{about}\nFor how long? (30m, 2h, 1d)", ask_reason, value="1h", check=_duration_error
        )

    async def _open_window(self, ids: list[int], span: float, reason: str) -> None:
        self._acting |= set(ids)
        try:
            window = OpenWindow(ids, reason, span)
            self.post_message(window)  # the app saves it and says how it went
            hosts = await window.outcome
        finally:
            self._acting -= set(ids)
        if hosts is None:  # refused: the app has said why
            return
        self.marked.clear()
        await self._reload()

    def _ask(
        self,
        question: str,
        then: Callable[[str], object],
        *,
        value: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        """One prompt; `then` gets the answer, and nothing happens on Esc."""
        from bridge.ui.screens.modals import PromptScreen  # the dialogs: when first opened

        def answered(text: str | None) -> None:
            if text is not None:
                then(text)

        self.app.push_screen(PromptScreen(question, value=value, check=check), answered)

    def _ask_note(
        self, action: Action, ids: list[int], about: str, *, span: str = "", to: str = ""
    ) -> None:
        """The last prompt of every action: its note, required where NOTE_REQUIRED says."""
        required = action in NOTE_REQUIRED
        label = "Note" if action in (Action.ACK, Action.NOTE) else "Reason"
        self._ask(
            f"{about}\n{label}{'' if required else ' (optional)'}:",
            lambda note: self._run(action, ids, note=note, span=span, to=to),
            check=lambda text: _note_error(text, required=required, label=label),
        )

    def describe(self, ids: list[int]) -> str:
        """The events as an operator tells them apart: severity, resource, check, summary."""
        shown = {e.id: e for e in self.events}

        def line(event_id: int) -> str:
            e = shown.get(event_id)
            if e is None:
                return f"event {event_id}"
            return (
                f"{e.severity.label.upper()} {safe_text(e.resource, limit=40)} "
                f"{safe_text(e.check, limit=40)}: {safe_text(e.summary, limit=80)}"
                f" (event {e.id})"
            )

        if len(ids) == 1:
            return line(ids[0])
        lines = [f"{len(ids)} marked events:"]
        lines += [f"  {line(i)}" for i in ids[:PROMPT_ROWS]]
        if len(ids) > PROMPT_ROWS:
            lines.append(f"  and {len(ids) - PROMPT_ROWS} more")
        return "\n".join(lines)

    def _run(
        self, action: Action, ids: list[int], *, note: str = "", span: str = "", to: str = ""
    ) -> None:
        # A shelve lasts what was typed from the moment it is confirmed.
        until = self.context.clock.now() + parse_duration(span) if span else None
        self.run_worker(self._act(action, ids, note=note, until=until, to=to.strip() or None))

    async def _act(
        self,
        action: Action,
        ids: list[int],
        *,
        note: str = "",
        until: float | None = None,
        to: str | None = None,
    ) -> None:
        # The operator's own change rings no bell, in the reload that shows it too.
        self._acting |= set(ids)
        try:
            act = ActOnEvents(ids, action, note=note, until=until, to=to)
            self.post_message(act)  # the app saves it and says how it went
            if await act.outcome is None:  # refused as a whole (a bad note): nothing changed
                return
            self.marked.clear()
            await self._reload()
        finally:
            self._acting -= set(ids)

    def open_details(self, key: str) -> None:
        self.app.push_screen(EventDetailsScreen(self.context, int(key)))


def _duration_error(text: str) -> str | None:
    try:
        parse_duration(text)
    except ValueError as exc:
        return str(exc)
    return None


def _name_error(text: str) -> str | None:
    try:
        check_name(text)
    except ActionError as exc:
        return str(exc)
    return None


def _note_error(text: str, *, required: bool, label: str = "Note") -> str | None:
    if required and not text.strip() and label == "Reason":
        # The prompt asks for a reason: "the note is empty" named something not asked for.
        return "a reason is required"
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
                ("  ".join(f"{k} {metric_text(k, v)}" for k, v in sorted(metrics.items())), ""),
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
        lines.append(((f"  {k:<10}", "label"), (json.dumps(v), "")))
    return lines


class EventDetailsScreen(ModalScreen[None]):
    """Every field, the frozen evidence, the journal, and the runbook."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("c", "copy", "Copy"),
        Binding("J", "job", "Job details"),
    ]

    def __init__(self, context: ConsoleContext, event_id: int) -> None:
        super().__init__()
        self.context = context
        self.event_id = event_id
        self.event: Event | None = None
        self.runbook = ""
        self.job: JobConfig | None = None  # the job a schedule event is about

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.job is not None if action == "job" else True

    def action_job(self) -> None:
        """From a job's event to the job: its details, the Schedule pane's cursor on it."""
        job = self.job
        if job is None:
            self.app.bell()
            return
        # To the app itself: this dialog is gone by the time the message is handled.
        self.app.post_message(ShowJob(job.name))
        self.dismiss()

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
            # Wrapped: a 400-character trap summary is read whole, even at 80x24.
            yield LinesView(wrap=True, id="event-lines")
            yield Markdown("", id="runbook")

    async def on_mount(self) -> None:
        ctx = self.context
        store = ctx.store
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
                    (f"{safe_text(j.actor):<12} ", ""),
                    (f"{j.action:<9} ", "label"),
                    (j.note, ""),
                )
            )
        view.set_lines(lines)
        rule = ctx.config.rule_for(event.source, event.resource, event.check)
        self.job = job_of(event, ctx.config)
        # A job's own runbook first (the event is about that job), then the rule's.
        runbooks: list[tuple[str, str]] = []
        if self.job is not None and self.job.runbook:
            runbooks.append((f"Runbook of job {self.job.name}", self.job.runbook))
        if rule.runbook and all(rule.runbook != text for _, text in runbooks):
            runbooks.append(("Runbook", rule.runbook))
        self.runbook = "\n\n".join(text for _, text in runbooks)
        if self.job is not None:
            box = self.query_one("#event-dialog", VerticalScroll)
            box.border_subtitle = "J job details · c copies · Esc closes"
            self.refresh_bindings()
        from textual.widgets import Markdown

        runbook = self.query_one("#runbook", Markdown)
        if runbooks:
            # The title is ours; the runbook is the config's Markdown, the owner's words.
            await runbook.update("\n\n".join(f"## {title}\n\n{text}" for title, text in runbooks))
        elif self.job is not None:
            await runbook.update(
                "*No runbook for this job: add `runbook` to its `[[jobs]]` entry, or to a"
                " `[[rules]]` entry, in the config.*"
            )
        else:
            await runbook.update(
                "*No runbook for this check: add one to a `[[rules]]` entry in the config.*"
            )
