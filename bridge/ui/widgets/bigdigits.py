"""Numbers drawn large enough to read across a room, scaled to the space they have.

A 3x5 pixel font, drawn with half blocks (two pixel rows per terminal row), at
the largest whole scale that fits; the font is data.
"""

from __future__ import annotations

__all__ = ["FONT", "big_number"]

FONT: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    "+": ("...", ".#.", "###", ".#.", "..."),
}
_HALF = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def _scale_fits(text: str, scale: int, rows: int, cols: int) -> bool:
    height = -(-5 * scale // 2)
    width = len(text) * 4 * scale - scale
    return height <= rows and width <= cols


def big_number(text: str, rows: int, cols: int) -> str:
    """`text` (digits and '+') as half-block art within rows x cols; plain text if too small."""
    if not text or any(c not in FONT for c in text) or not _scale_fits(text, 1, rows, cols):
        return text
    scale = 1
    while _scale_fits(text, scale + 1, rows, cols):
        scale += 1
    pixels: list[list[bool]] = []
    for y in range(5):
        row: list[bool] = []
        for i, ch in enumerate(text):
            if i:
                row.extend([False] * scale)
            for px in FONT[ch][y]:
                row.extend([px == "#"] * scale)
        pixels.extend([list(row) for _ in range(scale)])
    if len(pixels) % 2:
        pixels.append([False] * len(pixels[0]))
    lines = [
        "".join(_HALF[(top, bottom)] for top, bottom in zip(pixels[y], pixels[y + 1], strict=True))
        for y in range(0, len(pixels), 2)
    ]
    return "\n".join(line.rstrip() for line in lines)
