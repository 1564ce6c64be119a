"""Only changed cells reach the terminal, and it ends up showing what Textual's own
output would show: both are fed to a small terminal model and compared."""

from __future__ import annotations

import inspect
import random
import re
from collections.abc import Iterable, Iterator, Sequence

import pytest
from rich.cells import get_character_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip

from bridge.ui import terminal_output

# A cell as the model shows it: characters (a base and what joined it), SGR codes
# in force, and width (a wide character's right half is "" of width 0).
Cell = tuple[str, frozenset[str], int]

_TOKEN = re.compile(
    r"\x1b\[(?P<row>\d+);(?P<col>\d+)H|\x1b\[(?P<sgr>[0-9;]*)m|(?P<link>\x1b\]8;[^\x1b]*\x1b\\)"
    r"|(?P<newline>\n)|(?P<char>.)",
    re.S,
)
_FG = {*map(str, range(30, 38)), *map(str, range(90, 98))}
_BG = {*map(str, range(40, 48)), *map(str, range(100, 108))}


class Terminal:
    """A tiny terminal: where each character lands, with the SGR codes in force.
    Wide characters take two cells and writing over either half blanks both;
    zero-width characters join the cell before the cursor."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], Cell] = {}
        self.sgr: dict[str, str] = {}
        self.row = self.col = 0

    def feed(self, output: str) -> int:
        """Apply `output`; the number of characters it printed."""
        printed = 0
        for token in _TOKEN.finditer(output):
            kind = token.lastgroup
            if kind == "col":
                self.row, self.col = int(token["row"]) - 1, int(token["col"]) - 1
            elif kind == "sgr":
                self._set_sgr(token["sgr"].split(";"))
            elif kind == "newline":
                self.row, self.col = self.row + 1, 0
            elif kind == "char":
                self._put(token["char"])
                printed += 1
        return printed

    def _set_sgr(self, codes: list[str]) -> None:
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in ("0", ""):
                self.sgr = {}
            elif code in ("38", "48"):
                take = 3 if codes[i + 1] == "5" else 5
                self.sgr["fg" if code == "38" else "bg"] = ";".join(codes[i : i + take])
                i += take - 1
            elif code in ("39", "49"):
                self.sgr.pop("fg" if code == "39" else "bg", None)
            else:
                slot = "fg" if code in _FG else "bg" if code in _BG else code
                self.sgr[slot] = code
            i += 1

    def _put(self, char: str) -> None:
        width = get_character_cell_size(char)
        style = frozenset(self.sgr.values())
        if width == 0:
            at = (self.row, self.col - 1)
            if self.cells.get(at, ("", frozenset(), 1))[2] == 0:
                at = (self.row, self.col - 2)
            text, old_style, old_width = self.cells.get(at, (" ", frozenset(), 1))
            self.cells[at] = (text + char, old_style, old_width)
            return
        for col in range(self.col, self.col + width):
            self._break_wide(col)
        self.cells[(self.row, self.col)] = (char, style, width)
        if width == 2:
            self.cells[(self.row, self.col + 1)] = ("", style, 0)
        self.col += width

    def _break_wide(self, col: int) -> None:
        width = self.cells.get((self.row, col), (" ", frozenset(), 1))[2]
        if width == 0:  # the right half: the left goes too
            left = self.cells.get((self.row, col - 1), (" ", frozenset(), 1))
            self.cells[(self.row, col - 1)] = (" ", left[1], 1)
        elif width == 2:
            right = self.cells.get((self.row, col + 1), (" ", frozenset(), 1))
            self.cells[(self.row, col + 1)] = (" ", right[1], 1)

    def resize(self, width: int, height: int) -> None:
        self.cells = {(r, c): v for (r, c), v in self.cells.items() if r < height and c < width}

    def text(self, row: int, width: int) -> str:
        return "".join(self.cells.get((row, c), ("?", frozenset(), 1))[0] for c in range(width))


@pytest.fixture(autouse=True)
def fresh_shadow() -> Iterator[None]:
    # This Textual is the one the patch was written for; an upgrade fails here first.
    assert terminal_output.install()
    terminal_output.reset()
    yield
    terminal_output.reset()


CONSOLE = Console(color_system="256", force_terminal=True)


def ours(update: ChopsUpdate | LayoutUpdate) -> str:
    return update.render_segments(CONSOLE)


def textuals(update: ChopsUpdate | LayoutUpdate) -> str:
    if isinstance(update, ChopsUpdate):
        return terminal_output._original(update, CONSOLE)
    return terminal_output._original_layout(update, CONSOLE)


def full(lines: Sequence[Strip | Sequence[Strip]]) -> LayoutUpdate:
    """A full update of these lines, each one strip or the chops of a line."""
    rows: list[Iterable[Strip]] = [[line] if isinstance(line, Strip) else line for line in lines]
    width = sum(strip.cell_length for strip in rows[0])
    return LayoutUpdate(rows, Region(0, 0, width, len(rows)))


def plain(text: str, style: Style | None = None) -> Strip:
    return Strip([Segment(text, style)])


def test_another_textual_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChopsUpdate, "render_segments", terminal_output._original)
    monkeypatch.setattr(LayoutUpdate, "render_segments", terminal_output._original_layout)
    monkeypatch.setattr(terminal_output, "_fingerprint", lambda: "another")
    assert not terminal_output.install()
    assert ChopsUpdate.render_segments is terminal_output._original
    assert LayoutUpdate.render_segments is terminal_output._original_layout


def test_the_fingerprint_covers_each_function_whole() -> None:
    # The cheap reading of a function's lines must give what inspect's tokenizer
    # gives, or a change at a function's end could pass unnoticed.
    for part in (
        ChopsUpdate.__init__,
        terminal_output._original,
        LayoutUpdate.__init__,
        terminal_output._original_layout,
        test_the_fingerprint_covers_each_function_whole,  # ends in a nested block
    ):
        assert terminal_output._source(part).rstrip() == inspect.getsource(part).rstrip()
    assert terminal_output.install()  # this Textual is the one the patch was written for

    def inner() -> None:
        pass


def test_partial_updates_send_only_the_changed_cells() -> None:
    ours(full([plain(" " * 10) + plain("MEM   ", Style(bold=True)) + plain("  1.2% 666M")]))
    line = Strip([Segment("MEM   ", Style(bold=True)), Segment("  2.8% 666M", Style())])
    update = ChopsUpdate(
        [{0: plain(" " * 10), 10: line}], spans=[(0, 18, 22)], chop_ends=[[10, 27]]
    )
    out = ours(update)
    assert out.startswith("\x1b[1;19H")  # straight to the changed cells
    assert out == "\x1b[1;19H2.8"


def test_style_differences_draw_the_same_screen_as_textual() -> None:
    bg = Style(bgcolor="color(16)")
    line = Strip(
        [
            Segment("CPU ", Style(color="color(231)", bold=True) + bg),
            Segment("███", Style(color="color(71)") + bg),
            Segment("░░", Style(color="color(245)") + bg),
            Segment(" 12%", Style(color="color(253)", underline=True) + bg),
            Segment(" plain", None),
            Segment(" end", Style(color="color(203)") + bg),
        ]
    )
    blank = full([plain(" " * 23), plain(" " * 23)])
    other = Strip([Segment("x", Style(reverse=True)), Segment("y", Style(color="color(71)"))])
    update = ChopsUpdate(
        [{0: line}, {0: plain("   "), 3: other, 5: plain(" " * 18)}],
        spans=[(0, 0, 20), (1, 3, 5)],
        chop_ends=[[23], [3, 5, 23]],
    )
    mine, theirs = Terminal(), Terminal()
    mine.feed(ours(blank))
    theirs.feed(textuals(blank))
    out = ours(update)
    mine.feed(out)
    theirs.feed(textuals(update))
    assert mine.cells == theirs.cells
    assert len(out) < len(textuals(update))
    assert out.endswith("\x1b[0m")  # Textual writes what follows assuming a reset terminal
    assert ours(update) == ""  # and again: nothing changed


def test_a_full_update_of_an_unchanged_screen_sends_nothing() -> None:
    head = Strip([Segment(" bridge ", Style(reverse=True)), Segment(" " * 12, Style(bold=True))])
    body = [Strip([Segment("│", Style(color="color(2)")), Segment(f" row {i:<13}"), Segment("│")])
            for i in range(5)]  # fmt: skip
    first = ours(full([head, *body]))
    assert Terminal().feed(first) == 20 * 6
    again = ours(full([head, *body]))
    assert again == ""


def test_a_focus_change_sends_only_the_border() -> None:
    dim, bright = Style(color="color(8)"), Style(color="color(15)")

    def screen(border: Style) -> LayoutUpdate:
        rows = [plain("╭" + "─" * 18 + "╮", border)]
        rows += [Strip([Segment("│", border), Segment(f" event {i:<10} "), Segment("│", border)])
                 for i in range(3)]  # fmt: skip
        return full([*rows, plain("╰" + "─" * 18 + "╯", border)])

    ours(screen(dim))
    out = ours(screen(bright))
    term = Terminal()
    assert term.feed(out) == 20 * 2 + 2 * 3  # top and bottom, both sides
    assert "event" not in out


def test_after_invalidation_the_next_update_is_complete() -> None:
    lines = [plain(f"line {i} " + "x" * 8, Style(bold=i % 2 == 0)) for i in range(4)]
    ours(full(lines))
    assert ours(full(lines)) == ""
    terminal_output.invalidate()
    out = ours(full(lines))
    term = Terminal()
    assert term.feed(out) == 15 * 4
    assert [term.text(y, 15) for y in range(4)] == [line.text for line in lines]


def test_a_new_size_starts_again() -> None:
    ours(full([plain("abcd"), plain("efgh")]))
    out = ours(full([plain("abcde"), plain("fghij")]))
    assert Terminal().feed(out) == 10


def test_runs_a_cell_apart_are_joined() -> None:
    ours(full([plain("aaaaaaaaaaaa")]))
    out = ours(full([plain("aXaXaaaaaaaa")]))
    assert out == "\x1b[1;2HXaX"  # one cell re-sent is cheaper than a cursor move
    out = ours(full([plain("aaXaaaaaaaaX")]))
    assert out == "\x1b[1;2HaXa\x1b[1;12HX"  # far apart: a move to each


def test_a_double_width_line_is_drawn_as_textual_draws_it() -> None:
    wide = Strip([Segment("中文 ok ", Style(bold=True)), Segment("x" * 4)])
    narrow = plain("0123456789ab")
    mine, theirs = Terminal(), Terminal()
    for update in (
        full([wide, narrow]),
        full([wide, plain("0123456789AB")]),
        full([plain("abcdefghijkl"), narrow]),  # the wide characters overwritten
        full([wide, narrow]),
        ChopsUpdate([{0: wide}, {0: None}], spans=[(0, 3, 6)], chop_ends=[[12], [12]]),
        full([narrow, narrow]),
    ):
        mine.feed(ours(update))
        theirs.feed(textuals(update))
        assert mine.cells == theirs.cells
    ours(full([wide, narrow]))
    mine.feed(ours(full([wide, narrow])))
    assert mine.text(0, 12) == "中文 ok xxxx"
    # Its cells are unknown: the line goes out again, the narrow one does not.
    again = ours(full([wide, narrow]))
    assert "中文" in again and "0123" not in again


def test_combining_characters_and_hyperlinks_are_drawn_as_textual_draws_them() -> None:
    link = Style(link="https://example.com/runbook")
    lines = [
        Strip([Segment("cafe\u0301 "), Segment("ok   ")]),
        Strip([Segment("see ", Style(bold=True)), Segment("runbook", link), Segment(" now")]),
        plain("plain text"),
    ]
    mine, theirs = Terminal(), Terminal()
    for _ in range(3):
        mine.feed(ours(full(lines)))
        theirs.feed(textuals(full(lines)))
        assert mine.cells == theirs.cells
    assert "\x1b]8;" in ours(full(lines))  # the link is Textual's own rendering


def test_the_one_cell_ranges_are_one_cell_for_rich() -> None:
    """The fast check must never let a character rich measures otherwise through."""
    ranges = re.findall(r"(.)-(.)", terminal_output._ONE_CELL_RANGES.pattern)
    chars = [chr(c) for lo, hi in ranges for c in range(ord(lo), ord(hi) + 1)]
    assert len(chars) > 1000
    assert [c for c in chars if get_character_cell_size(c) != 1] == []


# -- random sequences of full and partial updates -------------------------------

STYLES = [
    None,
    Style(),
    Style(bold=True),
    Style(color="color(1)"),
    Style(bgcolor="color(4)"),
    Style(color="color(2)", bgcolor="color(4)", underline=True),
    Style(reverse=True),
    Style(color="red", italic=True, bgcolor="color(4)"),
    Style(color="default", dim=True),
]
GLYPHS = ["a", "b", " ", ".", "─", "│", "█", "x", "é"]
RARE = ["中", "e\u0301"]  # two cells; one cell in two characters
LINK = Style(link="https://example.com/runbook")

Grid = list[list[tuple[str, Style | None]]]


def random_row(rng: random.Random, width: int) -> list[tuple[str, Style | None]]:
    row: list[tuple[str, Style | None]] = []
    cells = 0
    style = rng.choice(STYLES)
    while cells < width:
        if rng.random() < 0.3:
            style = LINK if rng.random() < 0.02 else rng.choice(STYLES)
        glyph = rng.choice(RARE) if rng.random() < 0.02 else rng.choice(GLYPHS)
        if get_character_cell_size(glyph[0]) == 2 and cells + 2 > width:
            glyph = "a"
        row.append((glyph, style))
        cells += 2 if glyph == "中" else 1
    return row


def as_strip(rng: random.Random, row: list[tuple[str, Style | None]]) -> Strip:
    """The row as segments, split where the style changes and sometimes between."""
    segments: list[Segment] = []
    for glyph, style in row:
        if segments and segments[-1].style is style and rng.random() < 0.8:
            segments[-1] = Segment(segments[-1].text + glyph, style)
        else:
            segments.append(Segment(glyph, style))
    return Strip(segments)


def chops_of(rng: random.Random, grid: Grid, width: int) -> tuple[list[dict[int, Strip]], list[list[int]]]:  # fmt: skip
    """Each line cut at a few places, as the compositor cuts at widgets' edges."""
    chops: list[dict[int, Strip]] = []
    cuts: list[list[int]] = []
    for row in grid:
        inner = sorted(rng.sample(range(1, width), rng.randint(0, 3)))
        strip = as_strip(rng, row)
        parts = strip.divide([*inner, width])
        chops.append(dict(zip([0, *inner], parts, strict=True)))
        cuts.append([*inner, width])
    return chops, cuts


def random_spans(rng: random.Random, width: int, height: int) -> list[tuple[int, int, int]]:
    spans = []
    for y in sorted(rng.sample(range(height), rng.randint(1, height))):
        x1 = rng.randrange(width)
        spans.append((y, x1, rng.randint(x1 + 1, width)))
    return spans


def mutate(rng: random.Random, grid: Grid, width: int) -> None:
    for _ in range(rng.choice([0, 0, 1, 2, 5])):
        y = rng.randrange(len(grid))
        if rng.random() < 0.2:
            grid[y] = random_row(rng, width)
            continue
        x = rng.randrange(len(grid[y]))
        glyph, style = grid[y][x]
        if rng.random() < 0.5:
            style = rng.choice(STYLES)
        else:
            glyph = rng.choice(GLYPHS) if glyph != "中" else "中"
        grid[y][x] = (glyph, style)


@pytest.mark.parametrize("seed", range(8))
def test_random_updates_leave_the_screen_textual_would(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if seed % 2:  # style ids run out and start again at every full update
        monkeypatch.setattr(terminal_output, "_MAX_IDS", 3)
    rng = random.Random(seed)
    width, height = 14, 5
    grid = [random_row(rng, width) for _ in range(height)]
    mine, theirs = Terminal(), Terminal()
    sent_mine = sent_theirs = 0
    for step in range(150):
        if rng.random() < 0.04:  # the terminal is resized: Textual repaints it whole
            width, height = rng.randint(6, 16), rng.randint(2, 6)
            grid = [random_row(rng, width) for _ in range(height)]
            mine.resize(width, height)
            theirs.resize(width, height)
        else:
            mutate(rng, grid, width)
        if rng.random() < 0.03:
            terminal_output.invalidate()
        chops, cuts = chops_of(rng, grid, width)
        update: ChopsUpdate | LayoutUpdate
        if step == 0 or rng.random() < 0.3 or len(theirs.cells) < width * height:
            update = LayoutUpdate([list(line.values()) for line in chops], Region(0, 0, width, height))  # fmt: skip
        else:
            spans = random_spans(rng, width, height)
            rendered = {y for y, _, _ in spans}
            partial = [line if y in rendered else dict.fromkeys(line) for y, line in enumerate(chops)]  # fmt: skip
            update = ChopsUpdate(partial, spans, cuts)
        out, reference = ours(update), textuals(update)
        sent_mine += len(out)
        sent_theirs += len(reference)
        mine.feed(out)
        theirs.feed(reference)
        assert mine.cells == theirs.cells, f"seed {seed} step {step}: {out!r} vs {reference!r}"
    if seed % 2 == 0:  # (starting again forgets the screen: everything is sent)
        assert sent_mine < sent_theirs / 2


def test_a_partial_first_paint_is_known_to_the_full_update_after_it() -> None:
    """Textual may paint a new screen as a partial update covering it all, then
    repaint it whole: the second time, nothing needs to go out."""
    rows = [plain(f"row {i}".ljust(12), Style(bold=i == 0)) for i in range(3)]
    first = ChopsUpdate(
        [{0: row} for row in rows], spans=[(y, 0, 12) for y in range(3)], chop_ends=[[12]] * 3
    )
    term = Terminal()
    assert term.feed(ours(first)) == 12 * 3
    assert ours(full(rows)) == ""
    # A partial update of another size starts again: its cells are sent, others unknown.
    wider = ChopsUpdate([{0: plain("x" * 14)}], spans=[(0, 0, 14)], chop_ends=[[14]])
    assert Terminal().feed(ours(wider)) == 14
    assert Terminal().feed(ours(full([plain("x" * 14)]))) == 0
