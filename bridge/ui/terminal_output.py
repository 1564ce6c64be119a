"""Send the terminal only the cells that differ from what it already shows,
with only the style codes that change.

Textual 8 writes a full update (`LayoutUpdate`: the screen's whole region was
dirty) as every cell of the screen, each segment as "set all attributes, text,
reset": 12-14 KB at 120x40. Focus changes, closing a dialog and a scrollbar
appearing all repaint the whole screen, and most of those bytes are cells the
terminal already shows. Its partial updates (`ChopsUpdate`) are cropped at the
right but re-sent from the widget's left edge.

So this module keeps a shadow of the screen: per cell, the character and the
SGR state it was drawn with. Both kinds of update are compared with it and
only the cells that differ go out, in runs (short gaps of equal cells are
re-sent when that is cheaper than a cursor move), with SGR differences from
the terminal's current state. The cells each update covers are the ones
Textual's own output covers, so the terminal ends up as Textual would leave it.

Where one character is not one cell (double-width, zero-width, control
characters) or a segment is a hyperlink, the strip goes out as a whole and its
cells become unknown, so they are sent again next time. Everything becomes
unknown (`invalidate`) when the screen size changes, when Textual re-enters the
alternate screen after a suspend (`watch`), and on an explicit redraw.

`install()` patches only the Textual it was written against (the code of both
methods and of the updates' constructors is checked first); on another version
it changes nothing and the console keeps Textual's own output.
"""

from __future__ import annotations

import linecache
import re
import zlib
from types import CodeType
from typing import Any

from rich.cells import get_character_cell_size
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.app import App
from textual.strip import SGR_STYLES, Strip

__all__ = ["install", "invalidate", "redraw", "reset", "watch"]

# The code this replaces or relies on, so a Textual release that changes it is left alone.
_EXPECTED = "28bbe06a-2611"

_original = ChopsUpdate.render_segments
_original_layout = LayoutUpdate.render_segments


# An SGR state: attribute codes, foreground codes, background codes.
_Sgr = tuple[frozenset[str], str, str]
_DEFAULT: _Sgr = (frozenset(), "", "")

# The shadow stores a style as one character per cell, so a strip's styles can
# be compared with the shadow's as one string. Ids are never reused while a
# shadow holds them; "\x00" marks an unknown cell (no strip carries it: control
# characters take the whole-strip path).
_UNKNOWN = "\x00"
_MAX_IDS = 50_000  # distinct SGR states before all are forgotten (at a full update)
_ids: dict[_Sgr, str] = {}
_sgr_of: dict[str, _Sgr] = {}
_SAME_ID = re.compile(r"(.)\1*", re.S)


def _new_id(sgr: _Sgr) -> str:
    n = len(_ids) + 1
    found = _ids[sgr] = chr(n if n < 0xD800 else n + 0x800)  # no surrogates: UTF-32 needs none
    _sgr_of[found] = sgr
    return found


_DEFAULT_ID = _new_id(_DEFAULT)


def _sgr(style: Style, system: ColorSystem) -> _Sgr:
    bits = style._attributes & style._set_attributes
    attrs = frozenset(SGR_STYLES[b] for b in range(bits.bit_length()) if bits & (1 << b))
    fg = ";".join(style._color.downgrade(system).get_ansi_codes()) if style._color else ""
    bg = ";".join(style._bgcolor.downgrade(system).get_ansi_codes(False)) if style._bgcolor else ""
    return (attrs, fg, bg)


_Encoded = tuple[str, str] | None  # characters and style ids, one of each per cell


class _Cache:
    """What is derived from Textual's immutable strips and styles for one colour
    system, by identity first: most strips of an update are the same objects as
    in the one before (widgets cache their lines), and a Style hashes in Python.
    Entries keep their key's object alive, so an id stays its object's."""

    LIMIT = 4096
    # A screen is a few hundred strips; each held here keeps its segments and
    # caches alive, so two generations of this many at most.
    STRIPS = 1024

    def __init__(self, system: ColorSystem) -> None:
        self.system = system
        # A style's id; "" for a hyperlink, which the shadow does not follow.
        self.styles: dict[int, tuple[Style | None, str]] = {id(None): (None, _DEFAULT_ID)}
        self.style_by_value: dict[Style, str] = {}
        self.strips: dict[int, tuple[Strip, _Encoded]] = {}
        self.older_strips: dict[int, tuple[Strip, _Encoded]] = {}
        self.moves: dict[str, str] = {}

    def style_id(self, style: Style | None) -> str:
        found = self.styles.get(id(style))
        if found is not None and found[0] is style:
            return found[1]
        assert style is not None
        sid = self.style_by_value.get(style)
        if sid is None:
            sgr = _sgr(style, self.system)
            sid = "" if style._link else _ids.get(sgr) or _new_id(sgr)
            if len(self.style_by_value) > self.LIMIT:  # themes switched many times
                self.style_by_value.clear()
            self.style_by_value[style] = sid
        if len(self.styles) > self.LIMIT:
            self.styles = {id(None): (None, _DEFAULT_ID)}
        self.styles[id(style)] = (style, sid)
        return sid

    def encoded(self, strip: Strip) -> _Encoded:
        key = id(strip)
        found = self.strips.get(key)
        if found is not None and found[0] is strip:
            return found[1]
        found = self.older_strips.get(key)
        if found is None or found[0] is not strip:
            found = (strip, self._encode(strip))
        if len(self.strips) >= self.STRIPS:  # two generations: the strips in recent use
            self.older_strips, self.strips = self.strips, {}
        self.strips[key] = found
        return found[1]

    def _encode(self, strip: Strip) -> _Encoded:
        """None when a character is not one cell or a segment is a hyperlink."""
        styles, style_id = self.styles.get, self.style_id
        texts: list[str] = []
        ids: list[str] = []
        for text, style, _ in strip._segments:
            found = styles(id(style))
            sid = found[1] if found is not None and found[0] is style else style_id(style)
            if not sid:
                return None
            texts.append(text)
            ids.append(sid * len(text))
        text = "".join(texts)
        return (text, "".join(ids)) if _one_cell_each(text) else None

    def move(self, current: str, new: str) -> str:
        """The SGR sequence from style id `current` to `new`."""
        key = current + new
        found = self.moves.get(key)
        if found is None:
            found = self.moves[key] = _transition(_sgr_of[current], _sgr_of[new])
        return found


_caches: dict[ColorSystem, _Cache] = {}


def _cache(system: ColorSystem) -> _Cache:
    found = _caches.get(system)
    if found is None:
        found = _caches[system] = _Cache(system)
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


# Characters that take exactly one cell: most text matches the ranges (rich's
# own) in C; others are measured once and remembered.
_ONE_CELL_RANGES = re.compile(
    "[\x20-\x7e\xa0-\xac\xae-\u02ff\u0370-\u0482\u2500-\u25fc\u2800-\u28ff]*"
)
_one_cell: set[str] = {chr(c) for c in range(0x20, 0x7F)}


def _one_cell_each(text: str) -> bool:
    if _ONE_CELL_RANGES.fullmatch(text) or _one_cell.issuperset(text):
        return True
    new = set(text) - _one_cell
    if any(c == _UNKNOWN or "\ud800" <= c <= "\udfff" or get_character_cell_size(c) != 1
           for c in new):  # fmt: skip
        return False
    _one_cell.update(new)
    return True


class _Shadow:
    """What the terminal shows: per row, one character and one style id per cell."""

    def __init__(self) -> None:
        self.width = self.height = 0
        self.text: list[str] = []
        self.ids: list[str] = []
        self.dirty_sgr = False  # the terminal's SGR state may not be the default

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.invalidate()

    def invalidate(self) -> None:
        self.text = [_UNKNOWN * self.width] * self.height
        self.ids = list(self.text)
        self.dirty_sgr = True

    def forget(self, y: int, start: int, stop: int) -> None:
        """Cells [start, stop) of row y may show anything."""
        start, stop = max(start, 0), min(stop, self.width)
        if 0 <= y < self.height and start < stop:
            row = self.text[y]
            self.text[y] = row[:start] + _UNKNOWN * (stop - start) + row[stop:]


_shadow = _Shadow()


class _Writer:
    """The output of one update: cursor moves, SGR differences and text."""

    __slots__ = ("cache", "cursor", "out", "sid")

    def __init__(self, console: Console) -> None:
        self.cache = _cache(console._color_system or ColorSystem.TRUECOLOR)
        self.out: list[str] = []
        self.sid = _DEFAULT_ID  # the terminal's SGR state, as a style id
        self.cursor: tuple[int, int] | None = None  # where the last update parked it: unknown
        if _shadow.dirty_sgr:  # after an invalidation, assume nothing of the terminal
            self.out.append("\x1b[0m")
            _shadow.dirty_sgr = False

    def move(self, y: int, x: int) -> None:
        if self.cursor != (y, x):
            self.out.append(f"\x1b[{y + 1};{x + 1}H")

    def run(self, y: int, x: int, text: str, ids: str, start: int, stop: int) -> None:
        """Cells [start, stop) of a strip drawn at (x, y)."""
        self.move(y, x + start)
        out, move = self.out, self.cache.move
        for same in _SAME_ID.finditer(ids, start, stop):
            sid = same[1]
            if sid != self.sid:
                out.append(move(self.sid, sid))
                self.sid = sid
            out.append(text[same.start() : same.end()])
        # Past the last column a terminal may wrap or not, but no cell is there to
        # move to, so this is never taken for the cursor being in place.
        self.cursor = (y, x + stop)

    def whole(self, strip: Strip) -> None:
        """A strip the shadow cannot follow, as Textual would send it, from the cursor."""
        out, cache = self.out, self.cache
        for text, style, _ in strip._segments:
            if style is not None and style._link:  # a hyperlink: Textual's own rendering
                if self.sid != _DEFAULT_ID:
                    out.append("\x1b[0m")
                out.append(Strip.render_style(style, text, color_system=cache.system))
                self.sid = _DEFAULT_ID
                continue
            sid = cache.style_id(style)
            out.append(cache.move(self.sid, sid))
            out.append(text)
            self.sid = sid
        self.cursor = None

    def finish(self) -> str:
        if self.sid != _DEFAULT_ID:
            self.out.append("\x1b[0m")  # Textual writes what follows assuming a reset terminal
        return "".join(self.out)


_UTF32 = "utf-32-le"
_LOW_BYTES: dict[int, int] = {}  # per width: the low byte of each cell's four
_CHANGED = re.compile(rb"[^\x00]+")


def _changes(new: tuple[str, str], old: tuple[str, str]) -> list[list[int]]:
    """The runs of cells where `new` and `old` differ, found in C: the strings as
    four bytes a cell, XORed as integers, each cell's bytes ORed into one."""
    (text, ids), (old_text, old_ids) = new, old
    n = len(text)
    x = int.from_bytes(text.encode(_UTF32), "little") ^ int.from_bytes(
        old_text.encode(_UTF32), "little"
    )
    x |= int.from_bytes(ids.encode(_UTF32), "little") ^ int.from_bytes(
        old_ids.encode(_UTF32), "little"
    )
    low = _LOW_BYTES.get(n)
    if low is None:
        low = _LOW_BYTES[n] = int.from_bytes(b"\xff\x00\x00\x00" * n, "little")
    cells = ((x | x >> 8 | x >> 16) & low).to_bytes(4 * n, "little")[::4]  # code points < 2**21
    return [[m.start(), m.end()] for m in _CHANGED.finditer(cells)]


def _join_gaps(runs: list[list[int]], ids: str, text: str, y: int, x: int) -> list[list[int]]:
    """Merge runs whose gap of equal cells is cheaper to re-send than a cursor move:
    a gap in one style (the style the run before it ends in) of fewer bytes."""
    joined = [runs[0]]
    for run in runs[1:]:
        last = joined[-1]
        gap = run[0] - last[1]
        if gap < 8:
            style = ids[last[1] - 1]
            move = len(f"\x1b[{y + 1};{x + run[0] + 1}H")
            if ids.count(style, last[1], run[0]) == gap and (
                len(text[last[1] : run[0]].encode()) < move
            ):
                last[1] = run[1]
                continue
        joined.append(run)
    return joined


def _draw(writer: _Writer, y: int, x: int, new: tuple[str, str]) -> None:
    """Send the cells of `new` (characters, style ids) at (x, y) that the shadow
    does not already show."""
    text, ids = new
    stop = x + len(text)
    row_text, row_ids = _shadow.text[y], _shadow.ids[y]
    old = (row_text[x:stop], row_ids[x:stop])
    if old == new:
        return
    if old[0].strip(_UNKNOWN):
        runs = _join_gaps(_changes(new, old), ids, text, y, x)
    else:  # nothing known here (a new or redrawn screen): one run
        runs = [[0, len(text)]]
    for start, end in runs:
        writer.run(y, x, text, ids, start, end)
    if x == 0 and stop == _shadow.width:
        _shadow.text[y], _shadow.ids[y] = new
    else:
        _shadow.text[y] = row_text[:x] + text + row_text[stop:]
        _shadow.ids[y] = row_ids[:x] + ids + row_ids[stop:]


def _fits(y: int, x: int, width: int) -> bool:
    return y < _shadow.height and x + width <= _shadow.width


def _render_chops(self: ChopsUpdate, console: Console) -> str:
    """A partial update: each chop from its left edge to the span's right end, as
    Textual sends it, less the cells the terminal already shows."""
    # The chops are the whole screen, a row each, cut up to its width. A partial
    # update can come first (Textual paints a screen that is ready in parts):
    # the shadow takes its size from it, so what it draws is known when the
    # first full update follows, rather than all of it sent again.
    size = (max((ends[-1] for ends in self.chop_ends if ends), default=0), len(self.chops))
    if size != (_shadow.width, _shadow.height):
        _shadow.resize(*size)
    writer = _Writer(console)
    encoded = writer.cache.encoded
    for y, x1, x2 in self.spans:
        line = self.chops[y]
        for end, (x, strip) in zip(self.chop_ends[y], line.items(), strict=False):
            if strip is None or x >= x2 or end <= x1:
                continue
            if end > x2:
                strip = strip.crop(0, x2 - x)
            new = encoded(strip)
            if new is not None and _fits(y, x, len(new[0])):
                _draw(writer, y, x, new)
            else:
                writer.move(y, x)
                writer.whole(strip)
                # A zero-width character at the start joins the cell before it.
                _shadow.forget(y, x - 1, x + strip.cell_length)
    return writer.finish()


def _render_layout(self: LayoutUpdate, console: Console) -> str:
    """A full update: every cell of the screen, less those the terminal already shows."""
    region = self.region
    if region.offset != (0, 0):  # not the whole screen: nothing this was written for
        _shadow.resize(0, 0)
        return _original_layout(self, console)
    if (_shadow.width, _shadow.height) != region.size:
        _shadow.resize(region.width, region.height)
    if len(_ids) > _MAX_IDS:
        _start_ids_again()
    writer = _Writer(console)
    encoded = writer.cache.encoded
    width = _shadow.width
    for y, line in enumerate(self.strips):
        strips = list(line)
        row = [encoded(strip) for strip in strips]
        if None not in row:
            text = "".join([new[0] for new in row if new])
            ids = "".join([new[1] for new in row if new])
            if len(text) == width:
                _draw(writer, y, 0, (text, ids))
                continue
        # Sent as Textual does, the row in one go: a zero-width character at a
        # chop's start joins the cell before it, as it would there.
        writer.move(y, 0)
        for strip in strips:
            writer.whole(strip)
        _shadow.forget(y, 0, width)
    return writer.finish()


def _start_ids_again() -> None:
    """Forget every style id (and so everything the shadow knows): themes switched
    so often that new ids would run out."""
    _ids.clear()
    _sgr_of.clear()
    _caches.clear()
    _new_id(_DEFAULT)
    _shadow.invalidate()


def invalidate() -> None:
    """Assume nothing of what the terminal shows: the next updates are sent in full."""
    _shadow.invalidate()


def reset() -> None:
    """Forget the screen entirely, its size included: for an app about to start
    (its terminal shows nothing of it yet) and for tests."""
    _shadow.resize(0, 0)
    _shadow.dirty_sgr = False


def redraw(app: App[Any]) -> None:
    """Send every cell again, whatever the terminal shows now."""
    invalidate()
    app.refresh()


def watch(app: App[Any]) -> None:
    """Redraw the whole screen whenever Textual resumes `app` after a suspend.

    Textual (8.2) writes more than updates: each time it enters application
    mode (at start, and after Ctrl+Z then fg or `App.suspend`) the driver
    switches to the alternate screen (`\\x1b[?1049h`), which the terminal
    clears. At start the shadow is empty (`install`); after a resume it would
    be stale, and Textual itself repaints nothing unless the size changed.
    """
    app.app_resume_signal.subscribe(app, lambda _: redraw(app), immediate=True)


def _last_line(code: CodeType) -> int:
    lines = [line for *_, line in code.co_lines() if line]
    lines += (_last_line(c) for c in code.co_consts if isinstance(c, CodeType))
    return max(lines, default=code.co_firstlineno)


def _source(function: Any) -> str:
    """A function's lines, from its first to the last one with code in it.

    inspect.getsource finds them with the tokenizer, whose patterns alone took
    ~12 ms of every start; the code object already knows its lines.
    """
    code = function.__code__
    lines = linecache.getlines(code.co_filename)
    return "".join(lines[code.co_firstlineno - 1 : _last_line(code)])


def _fingerprint() -> str:
    parts = (
        ChopsUpdate.__init__,
        _original,
        LayoutUpdate.__init__,
        _original_layout,
    )
    source = "\n".join(_source(part) for part in parts)
    return f"{zlib.crc32(source.encode()):08x}-{len(source)}"


def install() -> bool:
    """Patch Textual's updates for an app about to run, on a terminal that shows
    nothing of it yet; False when this Textual is not the expected one."""
    if ChopsUpdate.render_segments is not _render_chops:
        if _fingerprint() != _EXPECTED:
            return False
        ChopsUpdate.render_segments = _render_chops  # type: ignore[method-assign]
        LayoutUpdate.render_segments = _render_layout  # type: ignore[method-assign]
    reset()
    return True
