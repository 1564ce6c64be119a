"""Send only the changed cells of a line to the terminal, not the line.

Textual 8 crops a partial screen update at its right end but not at its left:
when a value at the end of a health line ticks, the line is re-sent from the
widget's left edge, label and bar included, once a second, for every changing
line. Over SSH that was most of the console's output. This replaces
`ChopsUpdate.render_segments` with the same loop cropping both ends.

`install()` patches only the Textual it was written against (the method's code
is checked first); on another version it changes nothing and the console keeps
Textual's own output.
"""

from __future__ import annotations

import hashlib
import inspect

from rich.console import Console
from rich.segment import Segment
from textual._compositor import ChopsUpdate

__all__ = ["install", "installed"]

# The code this replaces, so a Textual release that changes it is left alone.
_EXPECTED = "4c1cdb567e0b8354"

_original = ChopsUpdate.render_segments


def _render_segments(self: ChopsUpdate, console: Console) -> str:
    sequences: list[str] = []
    append = sequences.append
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        line = self.chops[y]
        for end, (x, strip) in zip(self.chop_ends[y], line.items(), strict=False):
            if strip is None or x >= x2 or end <= x1:
                continue
            start, stop = max(x, x1), min(end, x2)
            if start > x or stop < end:
                strip = strip.crop(start - x, stop - x)
            append(f"\x1b[{y + 1};{start + 1}H")
            append(strip.render(console))
        if y != last_y:
            append(Segment.line().text)
    return "".join(sequences)


def _fingerprint() -> str:
    source = inspect.getsource(_original)
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def install() -> bool:
    """Patch Textual's partial updates; False when this Textual is not the expected one."""
    if ChopsUpdate.render_segments is _render_segments:
        return True
    if _fingerprint() != _EXPECTED:
        return False
    ChopsUpdate.render_segments = _render_segments  # type: ignore[method-assign]
    return True


def installed() -> bool:
    return ChopsUpdate.render_segments is _render_segments
