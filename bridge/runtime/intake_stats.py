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


def intake_lines(
    data: dict[str, Any], at: float, now: float, tokens: list[str], *, compact: bool = False
) -> list[tuple[Piece, ...]]:
    """The intake section: where it listens, its rate, refusals by kind, and when
    each configured token (by name) last sent, `never` for one that has not.
    Every text from the snapshot is shown literally and bounded."""
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
    first: list[Piece] = [
        ("intake ", "label"),
        (address, ""),
        (f" · {rate_text} · {requests:,} requests", "muted"),
    ]
    if now - at > STALE_AFTER_S:
        first.append((f" · as of {human_duration(now - at)} ago", "sev-warning"))
    if refused:
        first.append((f" · {refused:,} refused: ", "sev-warning"))
        first.append((safe_text(kinds, limit=200), "muted"))
    if compact:
        return [tuple(first)]
    last = data.get("tokens") if isinstance(data.get("tokens"), dict) else {}
    assert isinstance(last, dict)
    names = list(dict.fromkeys([*tokens, *(str(n) for n in last)]))
    seen: list[str] = []
    for name in names[:20]:
        when = last.get(name)
        shown = safe_text(name, limit=64)
        if isinstance(when, int | float):
            seen.append(f"{shown} {human_duration(now - when)} ago")
        else:
            seen.append(f"{shown} never")
    second: tuple[Piece, ...] = (
        ("  last request ", "label"),
        (" · ".join(seen) if seen else "no tokens", "muted"),
    )
    return [tuple(first), second]
