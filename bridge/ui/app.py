"""The console app. A factory shared by the CLI and the tests builds it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.screen import Screen
from textual.signal import Signal
from textual.theme import Theme

from bridge.config.file import Config
from bridge.core.clock import Clock, SystemClock
from bridge.core.models import Change
from bridge.runtime.feed import ChangeFeed
from bridge.runtime.hosts import host_name
from bridge.runtime.lease import poller_alive
from bridge.runtime.poller import Poller
from bridge.runtime.runner import until_next_multiple
from bridge.store import Store, StoreError, open_store
from bridge.store.sqlite.store import SqliteStore, release_lease_now
from bridge.ui.actions import ChangeSaver
from bridge.ui.breakpoints import breakpoint_classes
from bridge.ui.context import ConsoleContext
from bridge.ui.display import (
    LOW_BW_AGE_REDRAW_S,
    LOW_BW_EVENTS_S,
    LOW_BW_FEED_S,
    SampleThrottle,
    before_app_init,
    configure_app,
)
from bridge.ui.messages import OperatorChange, ShowJob
from bridge.ui.panes.base import Pane
from bridge.ui.panes.events import EventsPane
from bridge.ui.panes.health import HealthPane
from bridge.ui.panes.schedule import SchedulePane
from bridge.ui.preferences import remember_theme, remembered_theme
from bridge.ui.session import end_with_the_terminal
from bridge.ui.theming import next_theme, start_theme
from bridge.ui.widgets.header import BridgeHeader
from bridge.ui.widgets.keybar import KeyBar
from bridge.ui.widgets.rowtable import RowTable
from themes import DEFAULT_THEME, THEMES, VARIABLE_DEFAULTS

if TYPE_CHECKING:
    from textual.widgets import Input

__all__ = ["BridgeApp", "create_app", "run_console"]

log = logging.getLogger(__name__)
SHUTDOWN_S = 5.0
EXIT_STORE = 2  # as the CLI exits for any user mistake; run_console reports the line


AGE_REDRAW_S = 5
NARROW_FOOTER_COLUMNS = 100
LEASE_CHECK_S = 5
# The clock ticks this long after each second, when the local sample taken on the
# second has usually been drawn already, with the clock moved in its frame.
TICK_OFFSET_S = 0.25
FIRST_SAMPLE_WAIT_S = 1.0  # a hung source must not hold the first screen back longer


class BridgeApp(App[int]):
    CSS_PATH = "bridge.tcss"
    TITLE = "bridge"
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [  # type: ignore[misc]
        (0, "-narrow"),
        (110, "-wide"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "focus_pane('events-pane')", "Events", show=False),
        Binding("2", "focus_pane('schedule-pane')", "Schedule", show=False),
        Binding("3", "focus_pane('health-pane')", "Health", show=False),
        Binding("z", "zoom", "Zoom"),
        Binding("slash", "filter", "Filter"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "request_quit", "Quit"),
        Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True),  # Textual's too
        Binding("T", "sign_on", "Take the bridge", show=False),
        Binding("R", "reports", "Reports", show=False),
        Binding("O", "handover", "Handover", show=False),
        Binding("t", "cycle_theme", "Theme", show=False),
        Binding("ctrl+l", "redraw", "Redraw the screen", show=False),
    ]

    def __init__(
        self,
        config: Config,
        *,
        store_path: Path | str,
        operator: str,
        clock: Clock | None = None,
        collect: bool = True,
        hostname: str | None = None,
        feed_interval: float = 0.5,
        user_themes: list[Theme] | None = None,
        remember_theme: bool = False,
    ) -> None:
        before_app_init(config)
        super().__init__()
        configure_app(self, config)
        self.low_bandwidth = config.ui.low_bandwidth
        self._throttle = SampleThrottle() if self.low_bandwidth else None
        self.age_redraw_s = LOW_BW_AGE_REDRAW_S if self.low_bandwidth else AGE_REDRAW_S
        if self.low_bandwidth:
            feed_interval = max(feed_interval, LOW_BW_FEED_S)
        self.config = config
        self.store_path = store_path
        self.operator = operator
        self.clock: Clock = clock or SystemClock()
        self.collect = collect
        self.hostname = hostname or host_name(config)
        self.feed_interval = feed_interval
        self.stale_after = config.ui.stale_after_intervals * config.local.interval
        if self._throttle is not None:  # samples are shown up to a throttle period late
            self.stale_after += self._throttle.period
        self.store_changed: Signal[list[Change]] = Signal(self, "store-changed")
        # What the panes and dialogs are given instead of this app.
        self.context = ConsoleContext(
            config=config,
            clock=self.clock,
            hostname=self.hostname,
            stale_after=self.stale_after,
            store_changed=self.store_changed,
            current_store=lambda: self.store,
            current_operator=lambda: self.operator,
        )
        self._saver = ChangeSaver(
            self, self.context, poke_schedule=self.poke_schedule, sign_on=self.sign_on
        )
        self._store: Store | None = None
        self._poller: Poller | None = None
        self._feed: ChangeFeed | None = None
        self.startup_error: str | None = None  # the store could not be opened
        self._tasks: list[asyncio.Task[None]] = []
        # Our poller's first sample and its polling task, from on_load until on_mount.
        self._first_sample: tuple[asyncio.Task[None], asyncio.Task[None]] | None = None
        self._first_sample_by = 0.0  # monotonic time the first screen stops waiting for it
        self._panes: list[Pane] = []
        self._lease_text = "read-only"
        self._polling = False
        self._stale = False
        self._started_at = self.clock.now()
        self._filter_target: Pane | None = None
        self._terminal_size: Size | None = None
        self._filter_box: Input | None = None  # made at the first filter, not at start
        self.user_theme_names = [t.name for t in user_themes or []]
        for theme in [*THEMES, *(user_themes or [])]:
            self.register_theme(theme)
        # The CLI's console starts with the theme chosen last and keeps a new choice
        # (bridge.ui.preferences); tests and other embedders use the config's.
        self._remember_theme = remember_theme
        chosen = remembered_theme(config.ui.theme) if remember_theme else None
        first = chosen if chosen in self.available_themes else config.ui.theme
        start_theme(self, first if first in self.available_themes else DEFAULT_THEME)

    # -- set-up ------------------------------------------------------------------
    def poke_schedule(self) -> None:
        """Our own poller re-evaluates the schedule at once after an operator's change."""
        if self._poller is not None:
            self._poller.poke_schedule()

    @property
    def store(self) -> Store:
        assert self._store is not None, "the store opens on mount"
        return self._store

    def get_default_screen(self) -> Screen[object]:
        # Textual gives a screen its breakpoint class after laying it out for a
        # size, which restyles and repaints every widget of the first screen.
        # Created with the class, Textual's own update finds nothing to change.
        return Screen(id="_default", classes=" ".join(breakpoint_classes(self)))

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield BridgeHeader(id="header", seconds=not self.low_bandwidth)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield EventsPane(self.context)
                yield SchedulePane(self.context)
            yield HealthPane(self.context)
        footer = KeyBar(id="footer")
        # Fitted now, as on_resize fits it later: the first Resize comes before the
        # screen is composed, and the first screen must not be drawn twice.
        self._fit_footer(footer, self.size.width)
        yield footer

    @property
    def panes(self) -> list[Pane]:
        # The panes never change after compose; a DOM query per store change cost
        # 3 ms each time.
        if not self._panes:
            self._panes = list(self.query(Pane))
        return self._panes

    def on_resize(self, event: events.Resize) -> None:
        if event.size == self._terminal_size:
            # The driver reports the starting size twice; Textual would lay out
            # and paint the whole screen again for it when next idle. Only what
            # Textual's own handler does for a new size is skipped.
            event.prevent_default()
            return
        self._terminal_size = event.size
        with contextlib.suppress(NoMatches):
            self._fit_footer(self.query_one(KeyBar), event.size.width)

    @staticmethod
    def _fit_footer(footer: KeyBar, width: int) -> None:
        # At 80 columns the footer's keys did not fit: "? Help q Quit" were cut.
        # Narrow terminals get the compact footer, without the palette hint
        # (Ctrl+P still works and the help lists it).
        narrow = width < NARROW_FOOTER_COLUMNS
        footer.compact = narrow
        footer.show_command_palette = not narrow

    async def on_load(self) -> None:
        # Before the screen is composed or the terminal touched: a store that
        # cannot open is a one-line error on a normal terminal. Our poller starts
        # here, so its first sample (mostly a wait for a long enough CPU span) is
        # taken while Textual composes and styles the screen; on_mount waits for
        # it before the panes' first read, so the first screen shows this host.
        try:
            self._store = await open_store(self.store_path)
        except StoreError as exc:
            self.startup_error = str(exc)
            self.exit(return_code=EXIT_STORE)
            return
        if self.collect:
            # Our own poller's writes are delivered at once; others' within a feed interval.
            self._poller = Poller(
                self.store, self.config, self.clock, on_write=self._poke_feed, host=self.hostname
            )
            polling = asyncio.create_task(self._poller.run(), name="poller")
            self._tasks.append(polling)
            self._first_sample = (asyncio.create_task(self._poller.first_sample()), polling)
            self._first_sample_by = time.monotonic() + FIRST_SAMPLE_WAIT_S

    async def _wait_for_first_sample(self) -> None:
        """Until our poller's part of the first screen is stored, its task ended, or
        FIRST_SAMPLE_WAIT_S since it started: a hung source must not hold the screen."""
        if self._first_sample is None:
            return
        first, polling = self._first_sample
        self._first_sample = None
        timeout = max(0.0, self._first_sample_by - time.monotonic())
        await asyncio.wait({first, polling}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        first.cancel()

    def _poke_feed(self) -> None:
        if self._feed is not None:
            self._feed.poke()

    async def on_mount(self) -> None:
        # A dropped SSH session (SIGHUP, or a terminal that hung up without one)
        # or a service stop (SIGTERM) ends the app cleanly, so the lease is
        # released at once instead of lapsing.
        end_with_the_terminal(self, on_forced_exit=self._release_lease_now)
        if self._remember_theme:
            self.theme_changed_signal.subscribe(self, self._theme_chosen)
        # The first sample is in the store before the feed starts, so the panes'
        # first load below shows it; it reads everything committed before this
        # point, and the feed delivers what comes after.
        await self._wait_for_first_sample()
        self._feed = feed = ChangeFeed(
            self.store, self.store_changed.publish, interval=self.feed_interval
        )
        await feed.start()
        self.store_changed.subscribe(self, self._on_store_changed)
        self._tasks.append(asyncio.create_task(feed.run(), name="change-feed"))
        if self.low_bandwidth:
            self.query_one(EventsPane).reload_every = LOW_BW_EVENTS_S
        for pane in self.panes:
            await pane.load(None)
        await self._refresh_lease()
        self.query_one(EventsPane).body.focus()
        self._tick()
        self._schedule_tick()

    def _theme_chosen(self, theme: Theme) -> None:
        remember_theme(theme.name, self.config.ui.theme)

    async def _on_store_changed(self, changes: list[Change]) -> None:
        if self._throttle is not None:
            changes = self._throttle.hold(changes, time.monotonic())
            if not changes:
                return
        await self._deliver(changes)

    async def _deliver(self, changes: list[Change]) -> None:
        for pane in self.panes:
            await pane.load(changes)
        if any(c.kind == "lease" for c in changes):
            await self._refresh_lease()
        else:
            # The clock moves on in the same frame as the new sample, so the next
            # tick finds it already drawn: one screen update a second, not two.
            self._show_header()

    async def _refresh_lease(self) -> None:
        self._polling = bool(self._poller and self._poller.holds_lease)
        if self._polling:
            self._lease_text = "● polling"
        elif self._store is None:  # closing
            return
        else:
            alive = await poller_alive(self._store, self.clock.now(), self.hostname)
            self._lease_text = "○ reading" if alive else "○ no poller"
        # Other hosts' collectors lapse without a change in the feed: looked for here too.
        if self._store is not None:
            with contextlib.suppress(NoMatches):
                await self.query_one(HealthPane).load_hosts()
        # A worker may finish while the app closes, after the header's parts are gone.
        with contextlib.suppress(NoMatches):
            self._show_header()

    def data_age(self) -> float:
        """Seconds since the newest local sample, or since start-up if none came yet."""
        pane = self.query_one(HealthPane)
        at = pane.own_sample_at
        if at is None and pane.shown_host is None and pane.snapshot is not None:
            at = pane.snapshot.at  # no sample of this host's own: the one shown
        return self.clock.now() - (self._started_at if at is None else at)

    def _schedule_tick(self) -> None:
        # On the clock, as the local collector samples (`on_the_clock`): an
        # interval timer's phase is wherever on_mount fell, and where a second
        # began between the sample and the tick, both moved the clock: two
        # screen updates a second. Each tick is timed anew, so a clock step
        # cannot leave the phase wrong.
        delay = until_next_multiple(self.clock.now() - TICK_OFFSET_S, 1.0)
        self.set_timer(delay, self._timed_tick, name="tick")

    def _timed_tick(self) -> None:
        self._tick()
        self._schedule_tick()

    def _tick(self) -> None:
        polling = bool(self._poller and self._poller.holds_lease)
        # Heartbeats are not in the change feed, so a lapsed poller is looked for here.
        if polling != self._polling or int(self.clock.now()) % LEASE_CHECK_S == 0:
            self.run_worker(self._refresh_lease(), group="lease", exclusive=True)
        if self._throttle is not None and (held := self._throttle.due(time.monotonic())):
            self.run_worker(self._deliver(held), group="samples")
        try:
            events = self.query_one(EventsPane)
            # Ages move on and highlights fade; only rows whose text changed are re-sent.
            if events.has_fresh() or int(self.clock.now()) % self.age_redraw_s == 0:
                events.redraw()
            stale = self._show_header()
            if stale != self._stale:
                self._stale = stale
                self.query_one(HealthPane).redraw()
        except NoMatches:  # a tick while the app closes, after the panes' parts are gone
            return

    def _hosts_text(self) -> str:
        """This host, and where several report, how many and how many are stale."""
        hosts = self.query_one(HealthPane).hosts
        if len(hosts) < 2:
            return self.hostname
        stale = sum(h.stale for h in hosts)
        return f"{self.hostname} · {len(hosts)} hosts" + (f", {stale} stale" if stale else "")

    def _show_header(self) -> bool:
        """Draw the header; return whether the data is stale."""
        try:
            age = self.data_age()
            # Only the local collector's samples come on a beat to miss; without it,
            # the lease field says whether anyone polls.
            stale = age if self.config.local.enabled and age > self.stale_after else None
            self.query_one(BridgeHeader).show(
                host=self._hosts_text(),
                operator=self.operator,
                lease=self._lease_text,
                polling=self._polling,
                stale_for=stale,
                now=self.clock.now(),
            )
        except NoMatches:  # a lease check finishing while the screen is torn down
            return False
        return stale is not None

    async def on_unmount(self) -> None:
        # However the app ends (q, Ctrl+Q, a crash), give up the lease and close the
        # store: aiosqlite's threads would otherwise keep the process alive.
        await self.shutdown()

    def _release_lease_now(self) -> None:
        """For a console ended by force (its event loop stuck): free the lease from
        the watcher's thread, so another console polls at once (and the estate's duties
        move at once). SQLite only: it needs no event loop there; on a server the
        leases lapse after their TTL."""
        if (poller := self._poller) is not None and isinstance(self._store, SqliteStore):
            for keeper in [poller.lease, *poller.estate.values()]:
                if keeper.held:
                    release_lease_now(self._store.path, keeper.name, keeper.holder)

    async def shutdown(self) -> None:
        """Stop polling (releasing the lease) and close the store."""
        # Workers reading the store (a lease check) must not outlive it.
        for worker in list(self.workers):
            worker.cancel()
        for task in reversed(self._tasks):
            task.cancel()
            # Bounded: a quit must never hang on a collector that does not stop;
            # an unreleased lease lapses by itself within its TTL.
            done, _ = await asyncio.wait({task}, timeout=SHUTDOWN_S)
            if not done:
                stack = io.StringIO()
                task.print_stack(limit=20, file=stack)
                log.warning("%s did not stop within %g s; leaving it\n%s", task.get_name(),
                            SHUTDOWN_S, stack.getvalue())  # fmt: skip
        self._tasks.clear()
        if self._store is not None:
            await self._store.close()
            self._store = None

    # -- the operator's changes, sent up by the panes and dialogs -----------------
    @property
    def in_flight(self) -> int:
        """Operator changes not yet committed to the store."""
        return self._saver.in_flight

    @in_flight.setter
    def in_flight(self, count: int) -> None:
        self._saver.in_flight = count

    @on(OperatorChange)
    def _save_change(self, change: OperatorChange[object]) -> None:
        # In a worker: the app keeps answering keys (and Ctrl+Q sees the count)
        # while the store saves.
        self.run_worker(self._saver.save(change), group="save")

    def on_show_job(self, message: ShowJob) -> None:
        pane = self.query_one(SchedulePane)
        if self.screen.maximized is not None and self.screen.maximized is not pane:
            self.action_zoom()  # restore, so the pane the cursor goes to is on screen
        pane.show_job(message.name)

    # -- actions -------------------------------------------------------------------
    def focused_pane(self) -> Pane | None:
        node = self.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent  # type: ignore[assignment]
        return node

    def action_focus_pane(self, pane_id: str) -> None:
        pane = self.query_one(f"#{pane_id}", Pane)
        if self.screen.maximized is not None and self.screen.maximized is not pane:
            self.screen.minimize()
        pane.focus_body()

    def action_zoom(self) -> None:
        pane = self.focused_pane()
        if self.screen.maximized is not None:
            self.screen.minimize()
            for p in self.panes:
                p.remove_class("-zoomed")
        elif pane is not None:
            pane.add_class("-zoomed")
            self.screen.maximize(pane, container=False)
        for p in self.panes:
            p.redraw()

    async def action_filter(self) -> None:
        pane = self.focused_pane() or self.query_one(EventsPane)
        self._filter_target = pane
        box = self._filter_box
        if box is None:
            # Made when first wanted: at start it was one more widget (and its
            # stylesheet) to build and style for a box nobody sees yet.
            from textual.widgets import Input

            box = self._filter_box = Input(
                placeholder="filter: words that must all appear; Enter keeps, Esc clears",
                id="filter",
            )
            await self.mount(box, before=self.query_one(KeyBar))
        box.value = pane.filter_text
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and self._filter_target is not None:
            self._filter_target.set_filter(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self._close_filter()

    def _close_filter(self, clear: bool = False) -> None:
        box = self._filter_box
        target = self._filter_target
        if clear and target is not None:
            target.set_filter("")
        if box is not None:
            box.display = False
        if target is not None:
            target.body.focus()

    def on_key(self, event: object) -> None:
        from textual.events import Key

        if isinstance(event, Key) and event.key == "escape":
            box = self._filter_box
            if box is not None and box.display and box.has_focus:
                self._close_filter(clear=True)
                event.stop()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        pane = self.focused_pane()
        if pane is not None:
            pane.open_details(event.key)

    # The dialogs (bridge.ui.screens.modals) are imported when first opened, not at start.
    def action_sign_on(self) -> None:
        from bridge.ui.screens.modals import PromptScreen

        def check(text: str) -> str | None:
            name = text.strip()
            if not name:
                return "a name, please"
            if len(name) > 64 or not name.isprintable():
                return "at most 64 printable characters"
            return None

        self.push_screen(
            PromptScreen("Take the bridge: your name", value=self.operator, check=check),
            self._signed_on,
        )

    async def _signed_on(self, name: str | None) -> None:
        if name is not None:
            await self.sign_on(name)

    async def sign_on(self, name: str) -> None:
        """This console acts as `name` from now on (journalled): `T`, and whoever
        accepts the handover at this keyboard, so what they do is in their name."""
        if name.strip() == self.operator:
            return
        previous, self.operator = self.operator, name.strip()
        await self.store.record(
            self.operator, "sign-on", f"took the bridge from {previous}", self.clock.now()
        )
        self._tick()
        self.notify(f"{self.operator} has the bridge", timeout=3, markup=False)

    def action_help(self) -> None:
        from bridge.ui.screens.modals import HelpScreen

        self.push_screen(HelpScreen())

    def action_reports(self) -> None:
        from bridge.ui.screens.reports import ReportsScreen

        self.push_screen(ReportsScreen(self.context))

    def action_handover(self) -> None:
        from bridge.ui.screens.reports import HandoverScreen

        self.push_screen(HandoverScreen(self.context))

    def action_redraw(self) -> None:
        # Another program's output, or a terminal that lost a line over a bad
        # link: what is on the screen is no longer what Textual last drew.
        self.refresh(repaint=True, layout=True)

    def action_cycle_theme(self) -> None:
        self.notify(f"theme {next_theme(self)}", timeout=2, markup=False)

    async def action_request_quit(self) -> None:
        if self.in_flight:
            from bridge.ui.screens.modals import ConfirmScreen

            self.push_screen(
                ConfirmScreen(f"{self.in_flight} action(s) still being saved. Quit anyway?"),
                self._quit_if,
            )
        else:
            await self._quit()

    async def _quit_if(self, confirmed: bool | None) -> None:
        if confirmed:
            await self._quit()

    async def _quit(self) -> None:
        # on_unmount stops polling and closes the store, after the timers and
        # workers that read it have stopped; doing it here raced with them.
        self.exit(0)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        # Textual's Quit skipped the in-flight check, its Keys and Maximize doubled
        # ours (help, zoom): only its theme picker and screenshot are kept.
        for command in super().get_system_commands(screen):
            if command.title in ("Theme", "Screenshot"):
                yield command
        for pane_id, label, key in (
            ("events-pane", "Events", "1"),
            ("schedule-pane", "Schedule", "2"),
            ("health-pane", "Health", "3"),
        ):
            yield SystemCommand(
                f"Go to {label}",
                f"Focus the {label} pane (key {key})",
                lambda p=pane_id: self.action_focus_pane(p),
            )
        # Each with its key, so the palette teaches the keys too.
        yield SystemCommand(
            "Zoom pane", "Show the focused pane full-screen, or restore (key z)", self.action_zoom
        )
        yield SystemCommand("Filter", "Filter the focused pane (key /)", self.action_filter)
        yield SystemCommand("Keys", "Show every key (key ?)", self.action_help)
        yield SystemCommand("Next theme", "Cycle bridge's themes (key t)", self.action_cycle_theme)
        yield SystemCommand(
            "Redraw the screen", "Send every cell again (key Ctrl+L)", self.action_redraw
        )
        yield SystemCommand(
            "Take the bridge", "Sign on by name (shared accounts) (key T)", self.action_sign_on
        )
        yield SystemCommand(
            "Reports",
            "Service levels, job on-time rate, availability, outbox (key R)",
            self.action_reports,
        )
        yield SystemCommand(
            "Shift handover", "Review and accept the handover (key O)", self.action_handover
        )
        yield from self._pane_commands(screen)
        yield SystemCommand("Quit bridge", "Leave the console (key q)", self.action_request_quit)

    def _pane_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every key of the focused pane (the Events pane if none is), named as the
        footer and the help name it."""
        node = screen.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent  # type: ignore[assignment]
        pane = node or self.query_one(EventsPane)
        for binding in pane.BINDINGS:
            # An action that does not apply here (J off a job's event) is not offered.
            name = binding.action.partition("(")[0] if isinstance(binding, Binding) else ""
            if isinstance(binding, Binding) and pane.check_action(name, ()) is not False:
                yield SystemCommand(
                    f"{pane.title}: {binding.description}",
                    f"key {binding.key}",
                    lambda b=binding: self.run_action(b.action, pane),
                )


def create_app(
    config: Config,
    *,
    operator: str,
    store_path: Path | str | None = None,
    clock: Clock | None = None,
    collect: bool = True,
    hostname: str | None = None,
    feed_interval: float = 0.5,
    user_themes: list[Theme] | None = None,
    remember_theme: bool = False,
) -> BridgeApp:
    return BridgeApp(
        config,
        store_path=store_path or config.store.resolved_url(),
        operator=operator,
        clock=clock,
        collect=collect,
        hostname=hostname,
        feed_interval=feed_interval,
        user_themes=user_themes,
        remember_theme=remember_theme,
    )


def run_console(
    config: Config,
    *,
    operator: str,
    collect: bool = True,
    user_themes: list[Theme] | None = None,
    hostname: str | None = None,
) -> int:
    from bridge.ui.console_log import log_to_file

    log_to_file(config.store.resolved_path())  # a log line on stderr would land on the screen
    app = create_app(
        config,
        operator=operator,
        collect=collect,
        user_themes=user_themes,
        remember_theme=True,
        hostname=hostname,
    )
    result = app.run()
    if app.startup_error is not None:
        raise StoreError(app.startup_error)
    return int(result or 0)
