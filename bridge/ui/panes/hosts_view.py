"""The Health pane's host line: every host reporting to the store, with its
collector's state, and which one the pane shows (`h` moves on)."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.core.text import safe_text
from bridge.core.timefmt import same_day, show_time
from bridge.runtime.hosts import HostStatus
from bridge.ui.widgets.lines import Line

__all__ = ["host_line", "next_host"]


def _state(h: HostStatus, now: float) -> tuple[str, str]:
    """A word each (monochrome and colour-blind readers need no colour): up, stale
    (its collector lives, its samples stopped) or down (no live collector)."""
    if not h.stale:
        return " ● up", "sev-ok"
    word = "down" if not h.alive else "stale"
    if h.stale_since is None:
        return f" ○ {word}", "stale"
    # A time, not an age: the line stays put and is not redrawn every second.
    form = "clock" if same_day(h.stale_since, now) else "minute"
    return f" ○ {word} since {show_time(h.stale_since, form)}", "stale"


def host_line(hosts: Sequence[HostStatus], shown: str, now: float) -> Line:
    """One line, each host with its state; the shown one marked. Host names come from
    the store (any host may write one), so they are shown literally and cut short."""
    parts: list[tuple[str, str]] = [("hosts ", "label")]
    for h in hosts:
        mine = h.host == shown
        parts.append(
            (f"{'▸' if mine else ' '}{safe_text(h.host, limit=32)}", "heading" if mine else "")
        )
        parts.append(_state(h, now))
        parts.append(("  ", ""))
    parts.append(("(h)", "muted"))
    return tuple(parts)


def next_host(hosts: Sequence[HostStatus], shown: str) -> str:
    """The host after `shown` in the list, wrapping round."""
    names = [h.host for h in hosts]
    if not names:
        return shown
    if shown not in names:
        return names[0]
    return names[(names.index(shown) + 1) % len(names)]
