"""Send only the changed cells of a line to the terminal, and only the style
codes that change.

Textual 8 crops a partial screen update at its right end but not at its left:
when a value at the end of a health line ticks, the line is re-sent from the
widget's left edge, label and bar included, once a second, for every changing
line. And it writes every segment as "set all attributes, text, reset", so
most bytes of an idle update were colour codes repeating the same background.
This replaces `ChopsUpdate.render_segments` with the same loop that crops both
ends and emits SGR differences from the terminal's current state (a reset only
when an attribute must be turned off), and no redundant newlines between
absolutely positioned lines.

`install()` patches only the Textual it was written against (the method's code
is checked first); on another version it changes nothing and the console keeps
Textual's own output.
"""

from __future__ import annotations

import hashlib
import inspect

from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.strip import SGR_STYLES, Strip

__all__ = ["install"]

# The code this replaces, so a Textual release that changes it is left alone.
_EXPECTED = "4c1cdb567e0b8354"

_original = ChopsUpdate.render_segments


# An SGR state: attribute codes, foreground codes, background codes.
_Sgr = tuple[frozenset[str], str, str]
_DEFAULT: _Sgr = (frozenset(), "", "")
_sgr_cache: dict[tuple[Style, ColorSystem], _Sgr] = {}


def _sgr(style: Style, system: ColorSystem) -> _Sgr:
    key = (style, system)
    found = _sgr_cache.get(key)
    if found is None:
        bits = style._attributes & style._set_attributes
        attrs = frozenset(SGR_STYLES[b] for b in range(bits.bit_length()) if bits & (1 << b))
        fg = ";".join(style._color.downgrade(system).get_ansi_codes()) if style._color else ""
        bg = (
            ";".join(style._bgcolor.downgrade(system).get_ansi_codes(False))
            if style._bgcolor
            else ""
        )
        found = _sgr_cache[key] = (attrs, fg, bg)
        if len(_sgr_cache) > 4096:  # themes switched many times: start again
            _sgr_cache.clear()
    return found


def _transition(current: _Sgr, new: _Sgr) -> str:
    """The shortest SGR sequence taking the terminal from `current` to `new`."""
    if current == new:
        return ""
    attrs, fg, bg = new
    if not current[0] <= attrs or (current[1] and not fg) or (current[2] and not bg):
        codes = ["0", *sorted(attrs), *(c for c in (fg, bg) if c)]  # something turns off
    else:
        codes = sorted(attrs - current[0])
        codes += [c for c, old in ((fg, current[1]), (bg, current[2])) if c != old]
    return f"\x1b[{';'.join(codes)}m"


def _render_strip(strip: Strip, system: ColorSystem, current: _Sgr, out: list[str]) -> _Sgr:
    for text, style, _ in strip._segments:
        if style is not None and style._link:  # a hyperlink: Textual's own rendering
            if current != _DEFAULT:
                out.append("\x1b[0m")
            out.append(Strip.render_style(style, text, color_system=system))
            current = _DEFAULT
            continue
        new = _DEFAULT if style is None else _sgr(style, system)
        out.append(_transition(current, new))
        out.append(text)
        current = new
    return current


def _render_segments(self: ChopsUpdate, console: Console) -> str:
    sequences: list[str] = []
    append = sequences.append
    system = console._color_system or ColorSystem.TRUECOLOR
    current = _DEFAULT
    for y, x1, x2 in self.spans:
        line = self.chops[y]
        for end, (x, strip) in zip(self.chop_ends[y], line.items(), strict=False):
            if strip is None or x >= x2 or end <= x1:
                continue
            start, stop = max(x, x1), min(end, x2)
            if start > x or stop < end:
                strip = strip.crop(start - x, stop - x)
            append(f"\x1b[{y + 1};{start + 1}H")
            current = _render_strip(strip, system, current, sequences)
    if current != _DEFAULT:
        append("\x1b[0m")  # Textual writes what follows assuming a reset terminal
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
