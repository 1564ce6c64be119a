"""Text wrapped to a width, so what an operator must read is never cut off.

A summary of 400 characters, a job's output or a reason typed at 3 a.m. is
wrapped at word boundaries, never cropped at the screen's edge. A word wider
than the whole line (a URL, a path) is split across lines: every character is
still shown. Widths are terminal cells (a CJK character takes two), and the
module knows neither Textual nor Rich, so the console, `bridge report` and
`bridge handover` wrap the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = [
    "Part",
    "cell_width",
    "clip",
    "fit_columns",
    "numeric",
    "table_layout",
    "table_text",
    "wrap_parts",
    "wrap_text",
]

_TOKENS = re.compile(r"\s+|\S+")
MIN_COLUMN = 6  # a column narrower than this reads as noise: the table is laid out as records
WORD_CAP = 20  # a column is never kept wider than this for its longest word alone

T = TypeVar("T")
Part = tuple[str, T]


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_width(text: str) -> int:
    """The cells `text` takes on a terminal."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def clip(text: str, width: int) -> str:
    """`text` in at most `width` cells, for a fixed column of a live pane: whole if it
    fits, else cut with `…` so the cut shows (the details screens show it whole)."""
    if cell_width(text) <= width:
        return text
    if width <= 0:
        return ""
    out, used = "", 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width - 1:
            break
        out += ch
        used += w
    return out + "…"


def wrap_parts(
    parts: Sequence[tuple[str, T]], width: int, *, indent: int = 0
) -> list[list[tuple[str, T]]]:
    """Styled parts (text, style) as lines of at most `width` cells, broken between
    words; lines after the first start with `indent` spaces (styled as the first part),
    so a value wrapped beside its label stays in the label's column."""
    width = max(1, width)
    indent = indent if 0 <= indent <= width // 2 else 0
    lines: list[list[tuple[str, T]]] = [[]]
    used = 0

    def put(text: str, style: T) -> None:
        nonlocal used
        line = lines[-1]
        if line and line[-1][1] == style:
            line[-1] = (line[-1][0] + text, style)
        else:
            line.append((text, style))
        used += cell_width(text)

    def newline() -> None:
        nonlocal used
        lines.append([])
        used = 0
        if indent:
            put(" " * indent, parts[0][1])

    def room_used() -> bool:
        """Whether the line holds more than its indent (a break there gains nothing)."""
        return used > (indent if len(lines) > 1 else 0)

    # Words may run across parts ("cpu" + "99%" drawn in two styles): a word is the
    # run of non-space characters, whatever its parts.
    tokens: list[list[tuple[str, T]]] = []
    spaces: list[bool] = []
    for text, style in parts:
        for match in _TOKENS.finditer(text):
            word = match.group()
            is_space = word[0].isspace()
            if tokens and not is_space and not spaces[-1] and match.start() == 0:
                tokens[-1].append((word, style))  # the word goes on in this part
            else:
                tokens.append([(word, style)])
                spaces.append(is_space)
    for token, is_space in zip(tokens, spaces, strict=True):
        size = sum(cell_width(t) for t, _ in token)
        if is_space:
            if used + size <= width:
                for text, style in token:
                    put(text, style)
            elif used:  # the break goes where the spaces were
                newline()
            continue
        if used + size > width and room_used():
            newline()
        if used + size <= width:
            for text, style in token:
                put(text, style)
            continue
        # Wider than a whole line: split, character by character, nothing dropped.
        for text, style in token:
            for ch in text:
                if used + _char_width(ch) > width and room_used():
                    newline()
                put(ch, style)
    # Trailing spaces add nothing but a line that looks empty.
    out = []
    for line in lines:
        while line and not line[-1][0].strip() and len(line) > 1:
            line.pop()
        if line:
            text, style = line[-1]
            line[-1] = (text.rstrip() or text, style)
        out.append(line)
    return out


def wrap_text(text: str, width: int, *, indent: int = 0) -> list[str]:
    """Plain text as lines of at most `width` cells, broken between words."""
    return [
        "".join(t for t, _ in line) for line in wrap_parts([(text, None)], width, indent=indent)
    ]


def fit_columns(rows: Sequence[Sequence[str]], room: int, gap: int = 2) -> list[int] | None:
    """Column widths that fit `room` cells, gaps included: each column as wide as its
    widest cell if they all fit, else the widest ones narrowed (their cells wrap) but
    never below their longest word (up to WORD_CAP) nor MIN_COLUMN. None: even so
    they do not fit, and the caller lays the rows out another way."""
    if not rows:
        return []
    count = len(rows[0])
    natural = [max(cell_width(r[i]) for r in rows) for i in range(count)]
    room -= gap * (count - 1)
    if sum(natural) <= room:
        return natural
    floor = [
        min(natural[i], max(MIN_COLUMN, min(WORD_CAP, _longest_word(rows, i))))
        for i in range(count)
    ]
    if sum(floor) > room:
        return None
    widths = list(natural)
    excess = sum(widths) - room
    while excess > 0:
        # Narrow the widest column that may still give: long text shares the room.
        i = max((i for i in range(count) if widths[i] > floor[i]), key=lambda i: widths[i])
        widths[i] -= 1
        excess -= 1
    return widths


def _longest_word(rows: Sequence[Sequence[str]], i: int) -> int:
    return max((cell_width(w) for r in rows for w in r[i].split()), default=0)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * max(0, width - cell_width(text))
    return space + text if right else text + space


def numeric(column: int, cell: str) -> bool:
    """Whether a cell reads as a figure (right-aligned in text): not the first column."""
    return column > 0 and (cell[:1].isdigit() or cell == "—")


def table_layout(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None,
    *,
    indent: str = "  ",
    right: Callable[[int, str], bool] | None = None,
) -> tuple[list[str], list[str]]:
    """A table as (header lines, body lines) within `width` cells (None: as wide as its
    widest row). A cell too long for its column wraps inside it; a table with too many
    columns for the width is laid out as records, one `header  value` line per cell
    (and no header lines). `right(column, cell)` says which cells to right-align."""
    all_rows = [tuple(headers), *(tuple(r) for r in rows)]
    if width is None:
        widths: list[int] | None = [
            max(cell_width(r[i]) for r in all_rows) for i in range(len(headers))
        ]
    else:
        widths = fit_columns(all_rows, width - cell_width(indent))
    if widths is None:
        assert width is not None
        return [], _records(headers, rows, width, indent)
    out: list[list[str]] = []
    for n, row in enumerate(all_rows):
        cells = [
            wrap_text(c, w) if cell_width(c) > w else [c] for c, w in zip(row, widths, strict=True)
        ]
        lines = []
        for k in range(max(len(c) for c in cells)):
            parts = [
                _pad(
                    c[k] if k < len(c) else "",
                    w,
                    n > 0 and right is not None and right(i, c[0]),
                )
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            lines.append((indent + "  ".join(parts)).rstrip())
        out.append(lines)
    return out[0], [line for lines in out[1:] for line in lines]


def table_text(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None,
    *,
    indent: str = "  ",
    right: Callable[[int, str], bool] | None = None,
) -> list[str]:
    """The table's lines as `table_layout` lays them out, header first."""
    head, body = table_layout(headers, rows, width, indent=indent, right=right)
    return head + body


def _records(
    headers: Sequence[str], rows: Sequence[Sequence[str]], width: int, indent: str
) -> list[str]:
    label = max(cell_width(h) for h in headers) + 2
    out: list[str] = []
    for n, row in enumerate(rows):
        if n:
            out.append("")
        for h, cell in zip(headers, row, strict=True):
            if not cell:
                continue
            head = f"{indent}{_pad(h, label, False)}"
            lines = wrap_text(head + cell, width, indent=cell_width(head))
            out.extend(line.rstrip() for line in lines)
    return out
