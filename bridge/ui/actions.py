"""The app's side of an operator's change: the one place the console writes to
the store for the operator.

The panes and dialogs send an OperatorChange (bridge.ui.messages) up; the app
hands it to its ChangeSaver, which saves it, counts it while it is being saved
(Ctrl+Q asks before quitting with one under way), tells the operator how it
went, and resolves the message's outcome for the widget that sent it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App

from bridge.core.actions import ActionError
from bridge.core.models import JobSignalError
from bridge.core.text import safe_text
from bridge.ui.context import ConsoleContext
from bridge.ui.messages import (
    AcceptHandover,
    ActOnEvents,
    ChangeSchedule,
    OpenWindow,
    OperatorChange,
    WriteHandoverNote,
)

__all__ = ["ChangeSaver"]


class ChangeSaver:
    """Saves the operator's changes for one console."""

    def __init__(
        self,
        app: App[Any],
        context: ConsoleContext,
        *,
        poke_schedule: Callable[[], None],
        sign_on: Callable[[str], Awaitable[None]],
    ) -> None:
        self.app = app  # for its notifications
        self.context = context
        self.poke_schedule = poke_schedule  # our own engine re-evaluates at once
        self.sign_on = sign_on  # this console acts as someone else from now on
        self.in_flight = 0  # changes not yet committed to the store

    async def save(self, change: OperatorChange[Any]) -> None:
        self.in_flight += 1
        try:
            result = await self._save(change)
        except BaseException:
            change.outcome.cancel()  # the worker's error ends the console, as it did
            raise
        finally:
            self.in_flight -= 1
        # A sender closed meanwhile (a dialog's worker cancelled) has cancelled its
        # wait: the change is saved all the same, and nobody is told.
        if not change.outcome.done():
            change.outcome.set_result(result)

    async def _save(self, change: OperatorChange[Any]) -> object:
        match change:
            case ActOnEvents():
                return await self._act(change)
            case OpenWindow():
                return await self._open_window(change)
            case ChangeSchedule():
                return await self._change_schedule(change)
            case WriteHandoverNote():
                return await self._write_note(change)
            case AcceptHandover():
                return await self._accept(change)
        raise TypeError(f"no store write for {type(change).__name__}")

    async def _act(self, change: ActOnEvents) -> object:
        ctx, action = self.context, change.action
        try:
            results = await ctx.store.act(
                change.ids, action, ctx.operator, ctx.clock.now(),
                note=change.note, until=change.until, to=change.to,
            )  # fmt: skip
        except ActionError as exc:
            self.app.notify(str(exc), title=action.value, severity="error", markup=False)
            return None
        refused = [r for r in results if not r.ok]
        for r in refused:
            self.app.notify(
                r.message, title=f"{action.value} refused", severity="warning", markup=False
            )
        done = len(results) - len(refused)
        if done:
            self.app.notify(
                f"{action.value}: {done} event{'s' if done > 1 else ''}", timeout=2, markup=False
            )
        return results

    async def _open_window(self, change: OpenWindow) -> object:
        ctx = self.context
        now = ctx.clock.now()
        try:
            hosts = await ctx.store.open_window_for(
                change.ids, ctx.operator, change.reason, now, now + change.span
            )
        except ActionError as exc:
            self.app.notify(str(exc), title="maintenance", severity="error", markup=False)
            return None
        shown = ", ".join(safe_text(h) for h in hosts)
        self.app.notify(f"maintenance window for {shown}", timeout=3, markup=False)
        return hosts

    async def _change_schedule(self, change: ChangeSchedule) -> object:
        ctx = self.context
        try:
            # The store refuses a time that has passed meanwhile.
            saved = await ctx.store.change_schedule(
                change.job, change.action, change.occurrence, ctx.operator, change.reason,
                ctx.clock.now(), new_time=change.new_time, resolves=change.resolves,
            )  # fmt: skip
        except JobSignalError as exc:
            self.app.notify(str(exc), title=change.title, severity="error", markup=False)
            return None
        self.poke_schedule()
        self.app.notify(f"{change.title}: {change.what}", timeout=2, markup=False)
        return saved

    async def _write_note(self, change: WriteHandoverNote) -> object:
        from bridge.reports.handover import write_handover_note

        ctx = self.context
        await write_handover_note(ctx.store, ctx.operator, change.note, ctx.clock.now())
        return True

    async def _accept(self, change: AcceptHandover) -> object:
        from bridge.reports.handover import accept_handover

        ctx, handover = self.context, change.handover
        await accept_handover(ctx.store, handover, change.incoming, ctx.clock.now())
        frm = f" from {handover.outgoing}" if handover.outgoing else ""
        self.app.notify(f"{change.incoming} accepted the handover{frm}", timeout=3, markup=False)
        # The incoming operator is at this keyboard: the console is theirs now, or
        # their first acks would be journalled in the outgoing operator's name.
        await self.sign_on(change.incoming)
        return True
