"""The Reports view (`R`) and the Handover view (`O`): the same figures as
`bridge report` and `bridge handover`, drawn from the same tables.

The rows are read on the event loop (the store's reads are async) and the
figures computed in a thread: a month of a busy store takes seconds of pure
Python, and the console must keep its clock and keys meanwhile. A newer request
(`p`, or closing the view) sets the older computation's stop flag, and a result
that is not the latest request's is never drawn.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen

from bridge.config.file import Config
from bridge.core.outbox import OutboxItem
from bridge.core.text import safe_text
from bridge.core.wrap import table_layout
from bridge.reports.handover import (
    Handover,
    HandoverData,
    compute_handover,
    handover_counts,
    handover_heading,
    handover_tables,
    read_handover_data,
)
from bridge.reports.levels import (
    Period,
    Report,
    ReportData,
    Superseded,
    Table,
    compute_report,
    read_report_data,
    report_heading,
    report_tables,
)
from bridge.ui.context import ConsoleContext
from bridge.ui.messages import AcceptHandover, WriteHandoverNote
from bridge.ui.widgets.lines import Line, LinesView, plain

__all__ = ["HandoverScreen", "ReportsScreen", "table_lines"]

PERIODS: list[tuple[str, float]] = [("24 h", 86400.0), ("7 days", 7 * 86400.0), ("30 days", 30 * 86400.0)]  # fmt: skip
OUTBOX_SHOWN = 8
COMPUTING = "computing…"

# The pure parts, run in a thread; a test passes its own to hold one at a gate.
ReportCompute = Callable[[ReportData, Config, Period, float, threading.Event], Report]
HandoverCompute = Callable[[HandoverData, Config, float], Handover]


def table_lines(
    heading: Sequence[str], tables: Sequence[Table], width: int | None = None
) -> list[Line]:
    """Tables as styled lines `width` cells wide: titles as headings, column names as
    labels; cells too long for their column wrap inside it (see bridge.core.wrap)."""
    lines: list[Line] = [((heading[0], "heading"),)]
    lines.extend(((h, "muted"),) for h in heading[1:])
    for table in tables:
        lines += [(("", ""),), ((table.title, "heading"),)]
        if not table.rows:
            lines.append(((f"  {table.empty}", "muted"),))
            continue
        head, body = table_layout(table.headers, table.rows, width)
        lines.extend(((h, "label"),) for h in head)
        lines.extend(((row, ""),) for row in body)
    return lines


def outbox_table(counts: dict[str, int], items: Sequence[OutboxItem]) -> Table:
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    return Table(
        f"Notifications outbox ({summary})",
        ("id", "target", "rule", "event", "status", "tries", "last error"),
        [
            (
                str(i.id),
                safe_text(i.target),
                safe_text(i.rule),
                str(i.event_id),
                i.status.value,
                str(i.attempts),
                safe_text(i.last_error or ""),
            )
            for i in items[:OUTBOX_SHOWN]
        ],
        "nothing sent yet",
    )


class _ServiceScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    .service-dialog LinesView { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(False)", "Close"),
        Binding("q", "dismiss(False)", "Close", show=False),
    ]
    dialog_id = ""
    title_text = ""
    subtitle = "Esc closes"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog service-dialog", id=self.dialog_id) as box:
            box.border_title = plain(self.title_text)
            box.border_subtitle = plain(self.subtitle)
            # Wrapped: a heading longer than the view goes on to the next line.
            yield LinesView(wrap=True)

    @property
    def view(self) -> LinesView:
        return self.query_one(LinesView)

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.generation = 0  # of the latest request; only its result is drawn
        self._stop = threading.Event()
        self.computing = False
        # What is shown, kept to be laid out again at a new width.
        self.content: tuple[Sequence[str], Sequence[Table]] | None = None
        self._laid_out_at = 0

    def on_mount(self) -> None:
        self.view.focus()
        self.start()

    def on_unmount(self) -> None:
        self._stop.set()

    def start(self, what: str = "") -> None:
        """Supersede any computation under way and begin the one now wanted."""
        self._stop.set()
        self._stop = threading.Event()
        self.generation += 1
        self.computing = True
        self.view.set_lines([((f"{COMPUTING} {what}".rstrip(), "muted"),)])
        self.run_worker(self.reload(self.generation, self._stop), group="compute", exclusive=True)

    def current(self, generation: int) -> bool:
        return generation == self.generation and self.is_attached

    def show(self, generation: int, heading: Sequence[str], tables: Sequence[Table]) -> bool:
        """Draw a result only if it answers the latest request, fitted to the view."""
        if not self.current(generation):
            return False
        self.computing = False
        self.content = (heading, tables)
        self._lay_out()
        return True

    def _lay_out(self) -> None:
        if self.content is None:
            return
        view = self.view
        # Before the first layout the view has no width: the dialog's widest is used,
        # and fit() lays it out again once the width is known.
        width = view.wrap_width or max(20, self.size.width - 5)
        self._laid_out_at = view.size.width
        view.set_lines(table_lines(*self.content, width))

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Lay the tables out again for the view's width (it settles after the lines came)."""
        view = self.view
        if self.content is not None and view.size.width != self._laid_out_at:
            self._lay_out()
        elif view.virtual_size.width != view.size.width:
            view.set_lines(list(view.lines))

    async def reload(
        self, generation: int, stop: threading.Event
    ) -> None:  # pragma: no cover - each view has its own
        raise NotImplementedError


class ReportsScreen(_ServiceScreen):
    """Service levels for the last day (`p` for a week or a month), and the outbox."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("p", "period", "Period")]
    dialog_id = "reports-dialog"
    title_text = "Reports"
    subtitle = "p period · Esc closes"

    def __init__(self, context: ConsoleContext, compute: ReportCompute = compute_report) -> None:
        super().__init__(context)
        self.period_index = 0
        self.loaded = False
        self.compute = compute

    def action_period(self) -> None:
        self.period_index = (self.period_index + 1) % len(PERIODS)
        self.start(f"(last {PERIODS[self.period_index][0]})")

    async def reload(self, generation: int, stop: threading.Event) -> None:
        ctx = self.context
        now = ctx.clock.now()
        label, span = PERIODS[self.period_index]
        period = Period(now - span, now)
        data = await read_report_data(ctx.store, period)
        outbox = outbox_table(
            await ctx.store.outbox_counts(), await ctx.store.outbox_items(OUTBOX_SHOWN)
        )
        if not self.current(generation):
            return
        try:
            report = await asyncio.to_thread(self.compute, data, ctx.config, period, now, stop)
        except Superseded:
            return
        tables = report_tables(report)
        tables.append(outbox)
        heading = report_heading(report)
        heading[0] = f"{heading[0]} (last {label})"
        if self.show(generation, heading, tables):
            self.loaded = True


class HandoverScreen(_ServiceScreen):
    """The outgoing shift's handover: `w` writes a note for the next shift, `a`
    accepts it as the incoming operator (asked by name, then confirmed)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept handover"),
        Binding("w", "write", "Write a note"),
    ]
    dialog_id = "handover-dialog"
    title_text = "Shift handover"
    subtitle = "a accept · w write a note · Esc closes"

    def __init__(
        self, context: ConsoleContext, compute: HandoverCompute = compute_handover
    ) -> None:
        super().__init__(context)
        self.handover: Handover | None = None
        self.compute = compute

    async def reload(self, generation: int, stop: threading.Event) -> None:
        ctx = self.context
        now = ctx.clock.now()
        data = await read_handover_data(ctx.store, ctx.config, now)
        if not self.current(generation):
            return
        handover = await asyncio.to_thread(self.compute, data, ctx.config, now)
        if self.show(generation, handover_heading(handover), handover_tables(handover)):
            self.handover = handover

    def action_write(self) -> None:
        from bridge.ui.screens.modals import PromptScreen

        self.app.push_screen(
            PromptScreen(
                "A note for the next shift (what to watch, what is under way):",
                check=lambda text: None if text.strip() else "the note is empty",
            ),
            self._write,
        )

    def _write(self, note: str | None) -> None:
        if note is None:
            return

        async def save() -> None:
            written = WriteHandoverNote(note)
            self.post_message(written)  # the app saves it
            if await written.outcome:
                self.start()

        self.run_worker(save(), group="write")

    def action_accept(self) -> None:
        from bridge.ui.screens.modals import PromptScreen

        handover = self.handover
        if handover is None:
            self.app.bell()
            return
        outgoing = handover.outgoing
        frm = f" from {outgoing}" if outgoing else ""
        self.app.push_screen(
            PromptScreen(
                f"Who is taking over{frm}? (your name)",
                value=self.context.operator,
                check=lambda text: None if text.strip() else "a name is required",
            ),
            lambda name: self._confirm(handover, name),
        )

    def _confirm(self, handover: Handover, name: str | None) -> None:
        from bridge.ui.screens.modals import ConfirmScreen

        if name is None:
            return
        incoming = name.strip()
        outgoing = handover.outgoing
        if outgoing and incoming == outgoing:
            question = (
                f"{incoming} is also the outgoing operator. Accept the handover as "
                f"{incoming} anyway? ({handover_counts(handover)})"
            )
        else:
            frm = f" from {outgoing}" if outgoing else ""
            question = f"{incoming} takes over{frm}: {handover_counts(handover)}. Accept?"
        self.app.push_screen(
            ConfirmScreen(question),
            lambda yes: self._accept(handover, incoming) if yes else None,
        )

    def _accept(self, handover: Handover, incoming: str) -> None:
        async def save() -> None:
            accepted = AcceptHandover(handover, incoming)
            self.post_message(accepted)  # the app saves it and says so
            if await accepted.outcome:
                self.dismiss(True)

        self.run_worker(save(), group="accept")
