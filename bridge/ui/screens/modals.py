"""Modal screens: help, details, quit confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from bridge.ui.widgets.lines import Line, LinesView, plain

__all__ = ["KEYS", "ConfirmScreen", "DetailsScreen", "HelpScreen", "PromptScreen"]

# Every key the console answers to, grouped as the help screen shows them.
KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Moving around",
        [
            ("1 2 3", "focus the Events, Schedule or Health pane"),
            ("Tab / Shift+Tab", "next / previous pane"),
            ("3 again", "Health: between the devices and the host lines"),
            ("Enter / Esc", "Health, several hosts: a host's view / the table"),
            ("↑ ↓  j k", "move the cursor"),
            ("PgUp PgDn", "a page up / down"),
            ("Home End", "first / last row"),
            ("z", "zoom the focused pane full-screen (again to restore)"),
        ],
    ),
    (
        "Looking closer",
        [
            ("Enter", "details of the row under the cursor"),
            ("c (in details)", "copy its details to the clipboard (OSC 52, over SSH)"),
            ("/", "filter the focused pane (Enter keeps it, Esc clears)"),
            ("Ctrl+P", "command palette: every action, and themes"),
            ("t", "next theme (bridge's and your own)"),
            ("Ctrl+L", "redraw the whole screen (if something wrote over it)"),
            ("?", "this help"),
        ],
    ),
    (
        "Events pane",
        [
            ("a", "acknowledge (with an optional note)"),
            ("u", "take an acknowledgement back"),
            ("n", "add a note"),
            ("s", "shelve for a while (30m, 2h, 1d)"),
            ("S", "bring a shelved event back"),
            ("e", "escalate: raise the severity one step"),
            ("o", "take ownership"),
            ("d", "release ownership"),
            ("g", "assign to a named operator"),
            ("x", "resolve by hand (a reason is required)"),
            ("w", "maintenance window for the event's host (from now)"),
            ("space", "mark rows; actions then apply to every marked row"),
            ("M", "mark every listed event the filter matches"),
            ("C", "clear the marks"),
            ("h", "show history (resolved events) too"),
            ("J", "a job's event: go to the job, its details open"),
        ],
    ),
    (
        "Schedule pane",
        [
            ("r", "reschedule this occurrence (a new time, and a reason)"),
            ("H", "hold this occurrence, or release it (with a reason)"),
            ("m", "mark this occurrence done by hand (with a reason)"),
        ],
    ),
    (
        "Service levels",
        [
            ("R", "reports: service levels and the outbox (p: the period)"),
            ("O", "shift handover (w: write a note, a: accept)"),
            ("T", "take the bridge: sign on by name on a shared account"),
        ],
    ),
    (
        "Leaving",
        [
            ("q Ctrl+Q", "quit (asks first if an action is still being saved)"),
            ("Esc", "close a dialog"),
        ],
    ),
]


class _Dialog(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(False)", "Close"),
        Binding("q", "dismiss(False)", "Close", show=False),
    ]


class HelpScreen(_Dialog):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "dismiss(False)", "Close", show=False)
    ]

    def compose(self) -> ComposeResult:
        lines: list[Line] = []
        for group, keys in KEYS:
            lines.append(((group, "heading"),))
            for key, what in keys:
                lines.append(((f"  {key:<18}", "label"), (what, "")))
            lines.append((("", ""),))
        lines.append((("Esc, q or ? closes this help.", "muted"),))
        view = LinesView(wrap=True, id="help-lines")
        view.set_lines(lines)
        # Scrolls: the keys are longer than an 80x24 screen.
        with VerticalScroll(classes="dialog", id="help-dialog") as box:
            box.border_title = "Keys"
            yield view


class DetailsScreen(_Dialog):
    def __init__(self, title: str, fields: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.fields), default=8) + 2
        lines: list[Line] = []
        for key, value in self.fields:
            text_lines = value.splitlines() or [""]
            lines.append(((f"{key:<{width}}", "label"), (text_lines[0], "")))
            lines.extend(((" " * width, ""), (more, "")) for more in text_lines[1:])
        # Wrapped, not cut: a job's message or output line is read whole at 80x24.
        view = LinesView(wrap=True, id="details-lines")
        view.set_lines(lines)
        with VerticalScroll(classes="dialog", id="details-dialog") as box:
            box.border_title = plain(self.title_text)
            box.border_subtitle = "Esc closes"
            yield view


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Yes"),
        Binding("n,escape", "dismiss(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Static(self.question, markup=False)
            yield Static("y: yes    n / Esc: no", markup=False, classes="muted")


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text; `check` returns an error to show, or None to accept."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        question: str,
        *,
        placeholder: str = "",
        value: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder
        self.initial = value
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="prompt-dialog"):
            yield Static(self.question, markup=False, id="prompt-question")
            yield Input(value=self.initial, placeholder=self.placeholder, id="prompt-input")
            yield Static("", markup=False, id="prompt-error")
            yield Static("Enter: OK    Esc: cancel", markup=False, classes="muted")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.check(event.value) if self.check else None
        if error:
            self.query_one("#prompt-error", Static).update(error)
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
