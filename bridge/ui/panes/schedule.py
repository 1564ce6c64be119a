"""The Schedule pane: today's timeline, the jobs (exceptions first), and the operator's keys.

The pane asks for the rows its jobs needing attention take (as a minimum height,
up to half of what it shares with the Events pane), so at 80x24 they are all in
view; when they still are not, its title says how many are not shown.

It draws what the lease holder's schedule engine stored (job statuses, open
maintenance windows) and reads only the statuses written since the last read
when the change feed says the schedule moved. Operator changes go up to the
app as a ChangeSchedule message; it stores them (journalled with actor and
reason) and the engine picks them up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget

from bridge.config.schedule import JobConfig
from bridge.core.models import (
    Change,
    JobRun,
    JobStatusRecord,
    MaintenanceWindow,
    ScheduleAction,
    ScheduleChange,
)
from bridge.core.query import matches
from bridge.core.text import human_duration, safe_text
from bridge.core.timefmt import display_tzinfo, same_day, show_time
from bridge.schedule.timeline import (
    GLYPH,
    DayTimes,
    Slot,
    day_bounds,
    marks_line,
    scale_line,
)
from bridge.ui.context import ConsoleContext
from bridge.ui.messages import ChangeSchedule
from bridge.ui.panes.base import Pane
from bridge.ui.widgets.lines import Line, LinesView, plain
from bridge.ui.widgets.rowtable import Column, Row, RowTable

# The schedule engine's modules (bridge.schedule.engine, .maintenance, .reschedule,
# bridge.rules.schedule) and the dialogs are imported where an operator's action,
# a job's details or a maintenance window need them: a console without jobs
# never does, and its first screen starts sooner without them.

__all__ = ["SchedulePane"]

TIMELINE_EVERY_S = 30.0  # the now-marker moves one column in ~15 minutes at 100 columns
TIMELINE_LINES = 2  # the hour scale with the now-marker, and the marks under it
# Rows around the job list: the border (2), the timeline and the table's header.
CHROME_ROWS = 2 + TIMELINE_LINES + 1
MIN_PANE_ROWS = 6  # what the narrow layout's stylesheet gives the pane
# The marks' colours; the glyphs (bridge.schedule.timeline.GLYPH) carry the same in monochrome.
SLOT_STYLE = {
    Slot.NONE: "muted",
    Slot.OK: "sev-ok",
    Slot.PENDING: "muted",
    Slot.UNKNOWN: "muted",
    Slot.RUNNING: "sev-info",
    Slot.LATE: "sev-minor",
    Slot.FAILED: "sev-major",
}
STATE_STYLE = {
    "failed": "sev-major",
    "missed": "sev-major",
    "late": "sev-minor",
    "overrunning": "sev-minor",
    "blocked": "sev-warning",
    "succeeded": "sev-ok",
    "held": "muted",
    "rescheduled": "muted",
    "upcoming": "muted",
}
# Exceptions first, worst first; then what is under way; then the quiet ones.
STATE_ORDER = {
    s: i
    for i, s in enumerate(
        ("failed", "missed", "overrunning", "late", "blocked", "running", "due", "held",
         "rescheduled", "upcoming", "succeeded")
    )
}  # fmt: skip
ACTION_WORD = {
    ScheduleAction.RESCHEDULE: "Reschedule",
    ScheduleAction.HOLD: "Hold",
    ScheduleAction.RELEASE: "Release",
    ScheduleAction.DONE: "Mark done",
}


def _when(t: float | None, now: float) -> str:
    """A time as the operator reads it: HH:MM today, else the weekday too."""
    if t is None:
        return "—"
    return show_time(t, "hm" if same_day(t, now) else "day_hm")


def _iso(t: float | None) -> str:
    return show_time(t, "second")


class SchedulePane(Pane):
    title = "Schedule"
    number = 2

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "change('reschedule')", "Reschedule"),
        Binding("H", "change('hold')", "Hold/release"),
        Binding("m", "change('done')", "Mark done"),
    ]

    COLUMNS = (
        Column("name", "JOB"),  # the flexible one: job names are what operators scan
        Column("next", "NEXT", 9),
        Column("last", "LAST", 13, drop=2),
        Column("state", "STATE", 12),
        Column("owner", "OWNER", 10, drop=1),
    )

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(context, id="schedule-pane")
        self.records: dict[str, JobStatusRecord] = {}
        self.windows: list[MaintenanceWindow] = []
        self._seq = 0
        self._day_cache: DayTimes | None = None
        self._attention = 0  # jobs needing attention, configured ones only
        self._attention_listed = 0  # of those, rows in the list (the filter may drop some)
        self._maint_line = False  # whether open maintenance has a timeline line of its own

    def compose(self) -> ComposeResult:
        strip = LinesView(id="schedule-timeline")
        strip.can_focus = False  # Tab goes to the job list; the strip only shows
        yield strip
        yield RowTable(
            self.COLUMNS,
            empty_text="no jobs configured: add [[jobs]] to the config",
            id="schedule-table",
        )

    def on_mount(self) -> None:
        self.set_interval(TIMELINE_EVERY_S, self._draw_timeline)
        # Scrolling the list moves attention rows in or out of view: the title follows.
        self.watch(self.body, "scroll_y", self._show_title, init=False)

    @property
    def _day(self) -> DayTimes:
        """Today's occurrences per job, for the timeline and NEXT without an engine status."""
        if self._day_cache is None:
            config = self.context.config
            self._day_cache = DayTimes({n: config.hours(n) for n in config.calendars})
        return self._day_cache

    @property
    def body(self) -> RowTable:
        return self.query_one("#schedule-table", RowTable)

    @property
    def timeline(self) -> LinesView:
        return self.query_one("#schedule-timeline", LinesView)

    @property
    def jobs(self) -> list[JobConfig]:
        return self.context.config.jobs

    # -- data -------------------------------------------------------------------------
    async def load(self, changes: list[Change] | None = None) -> None:
        store = self.context.store
        kinds = {c.kind for c in changes} if changes is not None else None
        dirty = False
        if kinds is None or "schedule" in kinds:
            fresh = await store.job_statuses(after_seq=0 if kinds is None else self._seq)
            for r in fresh:
                self.records[r.job] = r
                self._seq = max(self._seq, r.seq)
            dirty = dirty or bool(fresh) or kinds is None
        if kinds is None or "maintenance" in kinds:
            self.windows = await store.maintenance_windows()
            dirty = True
        if dirty:
            self.redraw()

    def _state(self, job: JobConfig) -> str:
        record = self.records.get(job.name)
        return record.state if record is not None else "—"

    def redraw(self) -> None:
        now = self.context.clock.now()
        rows: list[tuple[tuple[Any, ...], Row]] = []
        self._attention = self._attention_listed = 0
        for job in self.jobs:
            record = self.records.get(job.name)
            data = record.data if record is not None else {}
            state = record.state if record is not None else "—"
            # The engine's next run (a reschedule applied; after a hold, the next
            # occurrence), so NEXT and the details say the same.
            nxt = (
                data.get("next_run", data.get("next_due"))
                if record is not None
                else self._day.next_after(job, now, display_tzinfo())
            )
            last = data.get("last_run")
            last_text = ""
            if last:
                took = last.get("duration")
                outcome = last.get("status", "")
                last_text = f"{outcome} {human_duration(took)}" if took is not None else outcome
            flags = (data.get("envelope") or {}).get("flags") or []
            state_text = state + ("*" if flags else "")
            cells = (job.name, _when(nxt, now), last_text, state_text, job.owner or "")
            exception = record is not None and record.exception
            self._attention += exception
            if self.filter_text and not matches(cells, self.filter_text):
                continue
            self._attention_listed += exception
            style = STATE_STYLE.get(state, "")
            key = (not exception, STATE_ORDER.get(state, 99), nxt or float("inf"), job.name)
            rows.append((key, Row(job.name, cells, cell_styles=("", "", "", style, ""))))
        rows.sort(key=lambda kr: kr[0])
        table = self.body
        # With jobs configured, an empty list is the filter's doing: saying "no jobs
        # configured" then sent the operator to a config that was fine.
        table.empty_text = (
            "no jobs match the filter"
            if self.jobs and self.filter_text
            else "no jobs configured: add [[jobs]] to the config"
        )
        resting = table.cursor == 0 and not table.scroll_y
        table.set_rows([r for _, r in rows])
        if resting:  # a re-sort does not carry it off its top
            self._rest_at_top()
        self._draw_timeline()

    def _rest_at_top(self) -> None:
        """Where nobody moves the cursor, the list rests at its top, where the jobs
        needing attention are. Kept on its job through a re-sort, the cursor
        scrolled them out of a short pane while the operator looked elsewhere.
        A cursor put on a job from elsewhere (`show_job`) stays until focus
        leaves the list; a prompt over the pane keeps the list's focus."""
        table = self.body
        if table.has_focus:
            return
        if table.cursor != 0:
            table.cursor = 0
        if table.scroll_y:
            table.scroll_to(y=0, animate=False, immediate=True)

    def on_descendant_blur(self) -> None:
        self._rest_at_top()

    def _fit_attention(self) -> None:
        """Ask for the rows every job needing attention takes and one more (where
        the cursor rests on a quiet job, the list scrolls by one to show it), and
        at most half of the height this pane shares with its neighbour: the
        Events pane keeps the other half. A minimum, not a height, so the wide
        layout's share and a zoomed pane's whole screen still apply."""
        need = CHROME_ROWS + self._attention_listed + 1
        parent = self.parent
        shared = parent.size.height if isinstance(parent, Widget) else 0
        wanted = min(need, max(MIN_PANE_ROWS, (shared + 1) // 2)) if shared else MIN_PANE_ROWS
        current = self.styles.min_height
        if current is None or current.value != wanted:
            self.styles.min_height = wanted

    def _list_rows(self) -> int:
        """Job rows the list shows at the pane's height (its header excluded)."""
        timeline = max(TIMELINE_LINES, len(self.timeline.lines))  # with maintenance's line
        return max(0, self.size.height - timeline - 1)  # `size` is within the border

    def _show_title(self, *_: object) -> None:
        """Exceptions in the title, with how many of them are not in view (scrolled
        off or filtered out); in a short pane, open maintenance too (no room for its line)."""
        notes = []
        if self._attention:
            top = int(self.body.scroll_y)
            # Attention rows come first: rows 0 .. listed-1 of the list.
            in_view = max(0, min(self._attention_listed, top + self._list_rows()) - top)
            hidden = self._attention - in_view
            notes.append(
                f"{self._attention} need attention" + (f", {hidden} not shown" if hidden else "")
            )
        if self.windows and not self._maint_line:
            notes.append(f"maint open: {', '.join(w.name for w in self.windows)}")
        title = f"{self.number} {self.title}" + (f" ({'; '.join(notes)})" if notes else "")
        if title != self.border_title:
            self.border_title = plain(title)

    def _draw_timeline(self) -> None:
        self._fit_attention()  # here too: the timer's redraw follows a resize of the screen
        now = self.context.clock.now()
        start, end = day_bounds(now, display_tzinfo())  # the shown zone's day, DST included
        width = max(8, self.timeline.size.width or self.size.width - 2)
        worst = [Slot.NONE] * width
        for job in self.jobs:
            record = self.records.get(job.name)
            data = record.data if record is not None else {}
            # The engine's word on its latest occurrences; a rescheduled one is
            # drawn at its new time, not at the time it left.
            known: dict[float, str] = {}
            moved: list[float] = []
            for key in ("previous", "current"):
                occ = data.get(key)
                if occ:
                    known[occ["due"]] = occ["state"]
                    if occ["scheduled"] != occ["due"]:
                        moved.append(occ["scheduled"])
            for col, slot in self._day.slots(
                job, now, start, end, width, known, moved, judged=record is not None
            ):
                if slot > worst[col]:
                    worst[col] = slot
        scale, _ = scale_line(now, start, end, width, tz=display_tzinfo())
        marks = marks_line(worst)
        lines: list[Line] = [_scale_line(scale), _marks_line(marks)]
        # A third line for maintenance only where every job needing attention keeps its row.
        maint = self._maintenance_line(now)
        spare = self.size.height - TIMELINE_LINES - 1 - 1  # `size` is within the border
        room = spare >= self._attention_listed + 1  # as many as _fit_attention asks for
        self._maint_line = maint is not None and room
        if maint is not None and room:
            lines.append(maint)
        view = self.timeline
        if view.styles.height is None or view.styles.height.value != len(lines):
            view.styles.height = len(lines)
        view.set_lines(lines)
        self._show_title()

    def _maintenance_line(self, now: float) -> Line | None:
        configs = self.context.config.maintenance
        if not configs and not self.windows:
            return None
        from bridge.schedule.maintenance import config_windows

        parts: list[tuple[str, str]] = [("maint ", "label")]
        for w in self.windows:
            until = f" until {_when(w.end, now)}" if w.end is not None else " while it runs"
            parts.append((f"OPEN {w.name}{until} ({', '.join(w.hosts)})  ", "sev-warning"))
        _, coming = config_windows(configs, now)
        open_names = {w.name for w in self.windows}
        for w in sorted(coming, key=lambda w: w.start)[:3]:
            if w.name not in open_names:
                parts.append((f"next {w.name} {_when(w.start, now)}  ", "muted"))
        return tuple(parts)

    def on_resize(self) -> None:
        self._draw_timeline()

    # -- keys -------------------------------------------------------------------------
    def _job(self) -> JobConfig | None:
        key = self.body.current_key
        return next((j for j in self.jobs if j.name == key), None)

    def action_change(self, name: str) -> None:
        from bridge.schedule.reschedule import target_occurrence
        from bridge.ui.screens.modals import PromptScreen

        job = self._job()
        if job is None:
            self.app.bell()
            return
        action = ScheduleAction(name)
        record = self.records.get(job.name)
        held = target_occurrence(record, ScheduleAction.RELEASE) is not None
        if action is ScheduleAction.HOLD and held:
            action = ScheduleAction.RELEASE
        occurrence = target_occurrence(record, action)
        if occurrence is None:
            # Say what state the job is in: "nothing to change" alone left the
            # operator guessing why a mark done on a running job did nothing.
            why = (
                "no status from the schedule engine yet"
                if record is None
                else f"nothing to change while it is {record.state}"
            )
            self.app.notify(
                f"{job.name}: {why}", title=ACTION_WORD[action], severity="warning", markup=False
            )
            return
        now = self.context.clock.now()
        what = f"{job.name} {_when(occurrence, now)}"
        if action is ScheduleAction.RESCHEDULE:
            self.app.push_screen(
                PromptScreen(
                    f"Reschedule {what} to: (14:30, 2026-03-02 14:30, +2h)",
                    check=lambda text: _time_error(text, self.context.clock.now()),
                ),
                lambda text: self._ask_time_reason(job, action, occurrence, text),
            )
        else:
            self._ask_reason(job, action, occurrence, None)

    def _ask_time_reason(
        self, job: JobConfig, action: ScheduleAction, occurrence: float, when: str | None
    ) -> None:
        """The new time is worked out once, when its prompt closes: what the reason
        prompt confirms is what is stored (a `+2h` is not counted again on saving)."""
        from bridge.schedule.reschedule import TimeError, parse_new_time

        if when is None:
            return  # cancelled at the time prompt
        try:
            new_time = parse_new_time(when, self.context.clock.now())
        except TimeError as exc:  # passed the check a moment ago; the minute turned since
            self.app.notify(str(exc), title=ACTION_WORD[action], severity="error", markup=False)
            return
        self._ask_reason(job, action, occurrence, new_time)

    def _ask_reason(
        self, job: JobConfig, action: ScheduleAction, occurrence: float, new_time: float | None
    ) -> None:
        from bridge.ui.screens.modals import PromptScreen

        now = self.context.clock.now()
        target = f" to {_when(new_time, now)}" if new_time is not None else ""
        self.app.push_screen(
            PromptScreen(
                f"{ACTION_WORD[action]} {job.name} {_when(occurrence, now)}{target}: reason",
                check=lambda text: None if text.strip() else "a reason is required",
            ),
            lambda reason: self._apply(job, action, occurrence, new_time, reason),
        )

    def _apply(
        self,
        job: JobConfig,
        action: ScheduleAction,
        occurrence: float,
        new_time: float | None,
        reason: str | None,
    ) -> None:
        if reason is None:
            return
        self.run_worker(self._change(job, action, occurrence, new_time, reason))

    async def _change(
        self,
        job: JobConfig,
        action: ScheduleAction,
        occurrence: float,
        new_time: float | None,
        reason: str,
    ) -> ScheduleChange | None:
        from bridge.rules.schedule import moot_checks

        now = self.context.clock.now()
        record = self.records.get(job.name)
        resolves = moot_checks(record.data, action, occurrence) if record is not None else ()
        change = ChangeSchedule(
            job.name, action, occurrence, reason, new_time=new_time, resolves=resolves,
            title=ACTION_WORD[action], what=f"{job.name} {_when(occurrence, now)}",
        )  # fmt: skip
        self.post_message(change)  # the app saves it and says how it went
        return await change.outcome

    # -- details ------------------------------------------------------------------------
    def show_job(self, name: str) -> bool:
        """Go to a job from elsewhere (`J` on its event): this pane focused, the cursor
        on the job (a filter that hides it is cleared), its details open."""
        if not any(j.name == name for j in self.jobs):
            return False
        if not self.body.move_to(name) and self.filter_text:
            self.set_filter("")
        if not self.body.move_to(name):
            self.redraw()  # before the first load: rows from the config alone
            self.body.move_to(name)
        self.focus_body()
        self.open_details(name)
        return True

    def open_details(self, key: str) -> None:
        job = next((j for j in self.jobs if j.name == key), None)
        if job is not None:
            self.run_worker(self._details(job), group="details", exclusive=True)

    async def _details(self, job: JobConfig) -> None:
        from bridge.rules.schedule import CHECK_OF, ENVELOPE, SOURCE
        from bridge.ui.screens.modals import DetailsScreen

        ctx = self.context
        runs = await ctx.store.job_runs(job.name, limit=20)
        changes = (await ctx.store.schedule_changes(job.name))[-10:]
        fields = job_details(ctx.config.jobs, job, self.records, runs, changes, ctx.clock.now())
        record = self.records.get(job.name)
        state = record.state if record is not None else ""
        check = next((c for s, c in CHECK_OF.items() if s.value == state), "late")
        rule = ctx.config.rule_for(SOURCE, job.name, check)
        used = (
            f"[[rules]] source={rule.source} resource={rule.resource} check={rule.check}"
            if rule in ctx.config.rules
            else "the defaults (no [[rules]] entry matches)"
        )
        if rule.runbook and not job.runbook:
            fields.append(("rule runbook", rule.runbook))
        if rule.severity:
            used += f"; severity {rule.severity}"
        fields.append(("rule", f"{used}\nchecks: {', '.join((*CHECK_OF.values(), ENVELOPE))}"))
        self.app.push_screen(DetailsScreen(f"Job {job.name}", fields))


def _scale_line(scale: str) -> Line:
    """Hour labels muted, the now-marker in the heading colour."""
    return _runs(scale, lambda ch: "heading" if ch == "▼" else "muted")


_GLYPH_STYLE = {GLYPH[slot]: style for slot, style in SLOT_STYLE.items()}


def _marks_line(marks: str) -> Line:
    """Each slot's glyph in its state's colour."""
    return _runs(marks, lambda ch: _GLYPH_STYLE.get(ch, ""))


def _runs(text: str, style_of: Callable[[str], str]) -> Line:
    """Characters grouped into parts of one component class each."""
    parts: list[tuple[str, str]] = []
    for ch in text:
        cls = style_of(ch)
        if parts and parts[-1][1] == cls:
            parts[-1] = (parts[-1][0] + ch, cls)
        else:
            parts.append((ch, cls))
    return tuple(parts)


def _time_error(text: str, now: float) -> str | None:
    from bridge.schedule.reschedule import TimeError, parse_new_time

    try:
        parse_new_time(text, now)
    except TimeError as exc:
        return str(exc)
    return None


def job_details(
    jobs: list[JobConfig],
    job: JobConfig,
    records: dict[str, JobStatusRecord],
    runs: list[JobRun],
    changes: list[ScheduleChange],
    now: float,
) -> list[tuple[str, str]]:
    """Everything about one job: schedule, occurrences, runs with output, envelope."""
    from bridge.schedule.engine import ENVELOPE_MIN, ENVELOPE_SAMPLES

    record = records.get(job.name)
    data = record.data if record is not None else {}
    fields: list[tuple[str, str]] = [
        ("state", record.state if record is not None else "— (no schedule engine running)"),
        ("schedule", f"{job.schedule} ({job.timezone})"),
        ("calendar", job.calendar or "— (every occurrence expected)"),
        ("next due", _iso(data.get("next_run", data.get("next_due")))),
    ]
    for label, key in (("current", "current"), ("previous", "previous")):
        occ = data.get(key)
        if not occ:
            continue
        text = f"{occ['state']}, due {_iso(occ['due'])}"
        if occ["due"] != occ["scheduled"]:
            text += f" (scheduled {_iso(occ['scheduled'])})"
        if occ.get("blocked_by"):
            text += f", waiting for {', '.join(occ['blocked_by'])}"
        ch = occ.get("change")
        if ch:
            text += f"\n{ch['action']} by {ch['actor']}: {ch['reason']}"
        fields.append((label, text))
    grace = human_duration(job.grace)
    limit = human_duration(job.max_runtime) if job.max_runtime else "2x expected"
    expected = data.get("expected")
    fields.append(
        (
            "timing",
            f"grace {grace}, max runtime {limit}\nexpected "
            + (human_duration(expected) if expected is not None else "— (not learned yet)"),
        )
    )
    env = data.get("envelope") or {}
    if env.get("median") is not None:
        env_text = (
            f"median {human_duration(env['median'])} of {env['samples']} runs; normal "
            f"{human_duration(env['low'])} - {human_duration(env['high'])}"
        )
    else:
        env_text = f"not learned yet ({env.get('samples', 0)} of {ENVELOPE_MIN} runs)"
    if env.get("flags"):
        env_text += f"; flagged: {', '.join(env['flags'])}"
    env_text += (
        f"\nrule: median m of the last {ENVELOPE_SAMPLES} successful runs (at least"
        f" {ENVELOPE_MIN});\ntoo short < m/3, too long > 3m,\ntoo often: two runs in one occurrence"
    )
    fields.append(("envelope", env_text))
    deps = []
    for name in job.depends_on:
        dep = records.get(name)
        deps.append(f"{name} ({dep.state if dep is not None else '—'})")
    fields.append(("depends on", ", ".join(deps) or "—"))
    needed_by = [j.name for j in jobs if job.name in j.depends_on]
    fields.append(("needed by", ", ".join(needed_by) or "—"))
    fields.append(("hosts", ", ".join(job.hosts) or "—"))
    if job.maintenance:
        fields.append(("maintenance", "a running occurrence suppresses events for its hosts"))
    fields.append(("owner", job.owner or "—"))
    history = []
    for run in runs:
        took = human_duration(run.duration) if run.duration is not None else "—"
        outcome = f"  {safe_text(run.outcome)}" if run.outcome else ""
        history.append(f"{_iso(run.at)}  {run.status.value:<7} {took:>7}{outcome}")
    fields.append(("runs", "\n".join(history) or "— none recorded"))
    tail_run = next((r for r in runs if r.output_tail), None)
    if tail_run is not None:
        tail = [safe_text(line) for line in tail_run.output_tail.splitlines()]
        fields.append((f"output {tail_run.run_id}", "\n".join(tail)))
    if changes:
        fields.append(
            (
                "changes",
                "\n".join(
                    f"{_iso(c.at)} {c.action.value} {_iso(c.occurrence)}"
                    + (f" -> {_iso(c.new_time)}" if c.new_time else "")
                    + f" by {safe_text(c.actor)}: {safe_text(c.reason)}"
                    for c in reversed(changes)
                ),
            )
        )
    fields.append(("runbook", job.runbook or "—"))
    return fields
