"""The Health pane's host line: every host reporting to the store, with its
collector's state, and which one the pane shows (`h` moves on)."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.core.text import safe_text
from bridge.core.timefmt import show_time
from bridge.runtime.hosts import HostStatus
from bridge.ui.widgets.lines import Line

__all__ = ["host_line", "next_host"]


def _state(h: HostStatus) -> tuple[str, str]:
    if not h.stale:
        return " ● alive", "sev-ok"
    since = f" since {show_time(h.stale_since, 'second')}" if h.stale_since is not None else ""
    word = "no collector" if not h.alive else "stale"
    return f" ○ {word}{since}", "stale"


def host_line(hosts: Sequence[HostStatus], shown: str) -> Line:
    """One line, each host with its state; the shown one marked. Host names come from
    the store (any host may write one), so they are shown literally and cut short."""
    parts: list[tuple[str, str]] = [("hosts ", "label")]
    for h in hosts:
        mark = "▸" if h.host == shown else " "
        parts.append((f"{mark}{safe_text(h.host, limit=32)}", "heading" if mark != " " else ""))
        parts.append(_state(h))
        parts.append(("  ", ""))
    parts.append(("h: next host", "muted"))
    return tuple(parts)


def next_host(hosts: Sequence[HostStatus], shown: str) -> str:
    """The host after `shown` in the list, wrapping round."""
    names = [h.host for h in hosts]
    if not names:
        return shown
    if shown not in names:
        return names[0]
    return names[(names.index(shown) + 1) % len(names)]
