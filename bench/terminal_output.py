"""CPU and bytes of the console's screen updates: bridge's shadow screen next to
Textual's own `render_segments`, in the same run, on the same updates.

    python bench/terminal_output.py [--size COLSxROWS] [--passes N] [--idle S]

The real console runs headless (Textual's Pilot) on a fresh store with this
host's collector sampling every second, and every update its screens hand the
terminal is kept: the first screen, S seconds of idle updates, focus changes
(Tab, Tab, 1, 2, 3), zoom in and out, and the help opened and closed. Then each
update is turned into terminal bytes, in order, by Textual's own methods and by
ours (the shadow following along from an empty terminal). Each of the N passes
works on fresh copies of the strips (shared as they were shared), so no cache
of either side carries over from a pass before; the fastest pass is reported.

Also two synthetic full updates of the screen as last recorded: of a terminal
that already shows it (the commonest full update: a focus change repaints the
whole screen to change a border) and of an unknown terminal (after a resize or
Ctrl+L).

Figures are microseconds per update of process CPU: a machine others are busy
on slows both sides alike, and the ratio is what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.screen import Screen
from textual.strip import Strip

from bridge.config import parse_config
from bridge.ui import terminal_output
from bridge.ui.app import create_app

Update = ChopsUpdate | LayoutUpdate
KEYS = ["tab", "tab", "1", "2", "3", "z", "z", "question_mark", "escape"]


async def record(size: tuple[int, int], idle: float) -> tuple[list[Update], float]:
    """Every update the console's screens hand the terminal during a short session,
    and the least CPU seconds of Textual's compositor making a full update of the
    last screen (its widgets' lines cached): the frame's cost before any output."""
    with tempfile.TemporaryDirectory(prefix="bridge-bench-output-") as tmp:
        config = parse_config("[local]\ninterval = 1\n", "bench")
        app = create_app(config, operator="bench", store_path=Path(tmp) / "bridge.db")
        updates: list[Update] = []
        display = app._display

        def keep(screen: Screen[Any], renderable: RenderableType | None) -> None:
            if isinstance(renderable, ChopsUpdate | LayoutUpdate):
                updates.append(renderable)
            display(screen, renderable)

        app._display = keep  # type: ignore[method-assign]
        async with app.run_test(size=size) as pilot:
            deadline = time.monotonic() + 30
            while "load " not in screen_text(app):  # the first sample is drawn
                if time.monotonic() > deadline:
                    raise SystemExit("bench: the console drew no host figures within 30 s")
                await pilot.pause(0.05)
            await pilot.pause(idle)
            for key in KEYS:
                await pilot.press(key)
                await pilot.pause(0.3)
            compositor = app.screen._compositor
            compose = []
            for _ in range(20):
                start = time.process_time()
                compositor.render_update(full=True)
                compose.append(time.process_time() - start)
    return updates, min(compose)


def screen_text(app: Any) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def copied(updates: list[Update]) -> list[Update]:
    """The updates on new Strip objects, so no render or crop cache is warm."""
    fresh: dict[int, Strip] = {}

    def copy(strip: Strip) -> Strip:
        found = fresh.get(id(strip))
        if found is None:
            found = fresh[id(strip)] = Strip(strip._segments, strip._cell_length)
        return found

    out: list[Update] = []
    for update in updates:
        if isinstance(update, LayoutUpdate):
            strips = [[copy(strip) for strip in line] for line in update.strips]
            out.append(LayoutUpdate(list(strips), update.region))
        else:
            chops = [
                {x: None if strip is None else copy(strip) for x, strip in line.items()}
                for line in update.chops
            ]
            out.append(ChopsUpdate(chops, update.spans, update.chop_ends))
    return out


@dataclass
class Tally:
    """Per update of the session, in order: its kind, CPU seconds and bytes."""

    kinds: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    def per_update(self, kind: str) -> tuple[int, float, float]:
        """How many updates of `kind`, their mean µs and mean bytes."""
        picked = [i for i, k in enumerate(self.kinds) if k == kind]
        n = max(len(picked), 1)
        return (
            len(picked),
            sum(self.seconds[i] for i in picked) / n * 1e6,
            sum(self.sizes[i] for i in picked) / n,
        )


def run_pass(updates: list[Update], render: Callable[[Update, Console], str], console: Console) -> Tally:  # fmt: skip
    tally = Tally()
    clock = time.process_time
    gc.collect()  # the copies' garbage is collected outside the timed calls
    for update in updates:
        start = clock()
        out = render(update, console)
        tally.seconds.append(clock() - start)
        tally.kinds.append("full" if isinstance(update, LayoutUpdate) else "partial")
        tally.sizes.append(len(out.encode()))
    return tally


def textuals(update: Update, console: Console) -> str:
    if isinstance(update, LayoutUpdate):
        return terminal_output._original_layout(update, console)
    return terminal_output._original(update, console)


def ours(update: Update, console: Console) -> str:
    return update.render_segments(console)


def best(updates: list[Update], render: Callable[[Update, Console], str], passes: int, console: Console) -> Tally:  # fmt: skip
    """Each update's least CPU over the passes: the same work every pass (the
    shadow follows the same session), so more is only the machine's noise."""
    tallies = []
    for _ in range(passes):
        terminal_output.reset()
        tallies.append(run_pass(copied(updates), render, console))
    first = tallies[0]
    first.seconds = [min(column) for column in zip(*(t.seconds for t in tallies), strict=True)]
    return first


def synthetic(last: LayoutUpdate, passes: int, console: Console) -> list[tuple[str, float, float]]:
    """µs of one full update of `last`'s screen: (case, Textual's, ours)."""
    rows = []
    for case, known in (("terminal shows it already", True), ("terminal unknown", False)):
        theirs, mine = [], []
        for _ in range(passes):
            (update,) = copied([last])
            gc.collect()
            start = time.process_time()
            textuals(update, console)
            theirs.append(time.process_time() - start)
            terminal_output.reset()
            if known:
                ours(copied([last])[0], console)
            (update,) = copied([last])
            gc.collect()
            start = time.process_time()
            ours(update, console)
            mine.append(time.process_time() - start)
        rows.append((case, min(theirs) * 1e6, min(mine) * 1e6))
    return rows


def parse_size(text: str) -> tuple[int, int]:
    cols, _, rows = text.partition("x")
    return int(cols), int(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=parse_size, default=(120, 40), help="COLSxROWS")
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--idle", type=float, default=5.0, help="idle seconds recorded")
    parser.add_argument("--colors", default="256", choices=["standard", "256", "truecolor"])
    args = parser.parse_args(argv)
    updates, compose = asyncio.run(record(args.size, args.idle))
    if not terminal_output.install():
        print("bench: this Textual is not the one terminal_output patches", file=sys.stderr)
        return 1
    console = Console(color_system=args.colors, force_terminal=True)
    theirs = best(updates, textuals, args.passes, console)
    mine = best(updates, ours, args.passes, console)
    cols, rows = args.size
    fulls, partials = theirs.kinds.count("full"), theirs.kinds.count("partial")
    print(f"{cols}x{rows}, {args.colors} colours, Python {sys.version.split()[0]}; "
          f"{fulls} full and {partials} partial updates recorded; "
          f"each update's least CPU over {args.passes} passes")  # fmt: skip
    print()
    print(f"{'per update':<22}{'Textual':>10}{'ours':>10}{'ratio':>8}")
    for kind in ("full", "partial"):
        _, t_us, t_b = theirs.per_update(kind)
        _, o_us, o_b = mine.per_update(kind)
        print(f"{kind + ' (µs CPU)':<22}{t_us:>10.0f}{o_us:>10.0f}{o_us / t_us:>8.2f}")
        print(f"{kind + ' (bytes)':<22}{t_b:>10,.0f}{o_b:>10,.0f}{o_b / max(t_b, 1):>8.2f}")
    total_t, total_o = sum(theirs.sizes), sum(mine.sizes)
    print(f"{'session (bytes)':<22}{total_t:>10,}{total_o:>10,}{total_o / total_t:>8.2f}")
    last = next(u for u in reversed(updates) if isinstance(u, LayoutUpdate))
    print()
    print("one full update of the last screen (µs CPU):")
    for case, t_us, o_us in synthetic(last, args.passes, console):
        print(f"  {case:<28}Textual {t_us:>6.0f}   ours {o_us:>6.0f}   ratio {o_us / t_us:.2f}")
    print(f"  for scale, Textual's compositor making that update: {compose * 1e6:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
