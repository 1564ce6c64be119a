"""What the console's widgets send up to the app: an operator's changes, and
where to go next.

Data flows down (the panes read the store through their ConsoleContext) and the
operator's changes go up as these messages: the app alone writes to the store
(bridge.ui.actions), keeps the count of changes not yet saved (the quit check
asks about it) and tells the operator how each went. A widget that needs the
outcome (to clear its marks, or reload) awaits the message's `outcome`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from textual.message import Message

from bridge.core.actions import Action, ActionResult
from bridge.core.models import ScheduleAction, ScheduleChange

if TYPE_CHECKING:
    from bridge.reports.handover import Handover

__all__ = [
    "AcceptHandover",
    "ActOnEvents",
    "ChangeSchedule",
    "OpenWindow",
    "OperatorChange",
    "ShowJob",
    "WriteHandoverNote",
]

T = TypeVar("T")


class OperatorChange(Message, Generic[T]):
    """An operator's change for the app to save. `outcome` resolves once it is
    done: to what the store returned, or to None when it was refused as a whole
    (the app has already said why)."""

    def __init__(self) -> None:
        super().__init__()
        self.outcome: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()


class ActOnEvents(OperatorChange[list[ActionResult]]):
    """An action (ack, shelve, assign, ...) on these events, by the operator now."""

    def __init__(
        self,
        ids: Sequence[int],
        action: Action,
        *,
        note: str = "",
        until: float | None = None,
        to: str | None = None,
    ) -> None:
        super().__init__()
        self.ids = list(ids)
        self.action = action
        self.note = note
        self.until = until  # a shelve's end
        self.to = to  # whom an assign gives the events to


class OpenWindow(OperatorChange[list[str]]):
    """A maintenance window for these events' hosts, from when it is saved for
    `span` seconds; the outcome is the hosts."""

    def __init__(self, ids: Sequence[int], reason: str, span: float) -> None:
        super().__init__()
        self.ids = list(ids)
        self.reason = reason
        self.span = span


class ChangeSchedule(OperatorChange[ScheduleChange]):
    """Reschedule, hold, release or mark done one occurrence of a job.

    `title` and `what` are the pane's words for it ("Reschedule", "backup 02:00"):
    the app's feedback says them back."""

    def __init__(
        self,
        job: str,
        action: ScheduleAction,
        occurrence: float,
        reason: str,
        *,
        new_time: float | None = None,
        resolves: Sequence[str] = (),
        title: str,
        what: str,
    ) -> None:
        super().__init__()
        self.job = job
        self.action = action
        self.occurrence = occurrence
        self.reason = reason
        self.new_time = new_time
        self.resolves = tuple(resolves)
        self.title = title
        self.what = what


class WriteHandoverNote(OperatorChange[bool]):
    """The outgoing operator's note for the next shift."""

    def __init__(self, note: str) -> None:
        super().__init__()
        self.note = note


class AcceptHandover(OperatorChange[bool]):
    """`incoming` accepts this handover."""

    def __init__(self, handover: Handover, incoming: str) -> None:
        super().__init__()
        self.handover = handover
        self.incoming = incoming


class ShowJob(Message):
    """Go to a job: the Schedule pane focused on it, its details open (`J`)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
