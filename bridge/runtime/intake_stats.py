"""The HTTP intake's counters as every console reads them: the snapshot `intake/http`.

The lease holder serving the intake writes it (a console elsewhere cannot see
that process's memory); the Health pane draws it. Apart from `bridge.runtime.intake` so
a console draws it without importing aiohttp. Token names only: a token is a
secret and never goes into the store.
"""

from __future__ import annotations

from typing import Any

from bridge.core.text import human_duration, safe_text

__all__ = ["STATS_RESOURCE", "STATS_SOURCE", "intake_lines"]

STATS_SOURCE, STATS_RESOURCE = "intake", "http"
STALE_AFTER_S = 30.0  # older counters are shown with their age: the holder may be gone

# A Health pane line: (text, style) pieces, as bridge.ui.widgets.lines draws them.
Piece = tuple[str, str]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _pack(groups: list[list[Piece]], width: int) -> list[tuple[Piece, ...]]:
    """Groups of pieces packed into lines of at most `width` cells (a group too long
    for any line is left to be cut); each group after the first starts with " · ",
    dropped where it begins a continuation line, which is indented."""
    lines: list[list[Piece]] = []
    used = 0
    for group in groups:
        size = sum(len(text) for text, _ in group)
        if lines and used + size > width:
            text, style = group[0]
            group = [("  " + text.removeprefix(" · "), style), *group[1:]]
            size = sum(len(text) for text, _ in group)
            lines.append([])
            used = 0
        if not lines:
            lines.append([])
        lines[-1].extend(group)
        used += size
    return [tuple(line) for line in lines]


def intake_lines(
    data: dict[str, Any],
    at: float,
    now: float,
    tokens: list[str],
    *,
    width: int = 200,
    compact: bool = False,
) -> list[tuple[Piece, ...]]:
    """The intake section: where it listens, its rate, refusals by kind, and when
    each configured token (by name) last sent, `never` for one that has not;
    wrapped to `width`. Every text from the snapshot is shown literally and bounded."""
    address = safe_text(str(data.get("address", "?")), limit=60)
    rate = data.get("rate")
    rate_text = f"{rate:,.1f} req/s" if isinstance(rate, int | float) else "? req/s"
    requests = _count(data.get("requests"))
    errors = data.get("errors") if isinstance(data.get("errors"), dict) else {}
    assert isinstance(errors, dict)
    refused = sum(_count(n) for n in errors.values())
    kinds = ", ".join(
        f"{safe_text(str(kind), limit=20)} {_count(n)}"
        for kind, n in sorted(errors.items(), key=lambda kv: -_count(kv[1]))
    )
    groups: list[list[Piece]] = [
        [("intake ", "label"), (address, "")],
        [(f" · {rate_text}", "muted")],
        [(f" · {requests:,} request{'' if requests == 1 else 's'}", "muted")],
    ]
    if now - at > STALE_AFTER_S:
        groups.append([(f" · as of {human_duration(now - at)} ago", "sev-warning")])
    if refused:
        groups.append(
            [(f" · {refused:,} refused: ", "sev-warning"), (safe_text(kinds, limit=200), "muted")]
        )
    if compact:
        return [tuple(piece for group in groups for piece in group)]
    last = data.get("tokens") if isinstance(data.get("tokens"), dict) else {}
    assert isinstance(last, dict)
    names = list(dict.fromkeys([*tokens, *(str(n) for n in last)]))
    seen: list[list[Piece]] = []
    for i, name in enumerate(names[:20]):
        when = last.get(name)
        shown = safe_text(name, limit=64)
        ago = f"{human_duration(now - when)} ago" if isinstance(when, int | float) else "never"
        seen.append([(f"{' · ' if i else ''}{shown} {ago}", "muted")])
    if not seen:
        seen = [[("no tokens", "muted")]]
    seen[0].insert(0, ("last request ", "label"))
    return _pack(groups, width) + [
        (("  " + line[0][0], line[0][1]), *line[1:]) for line in _pack(seen, width - 2)
    ]
