"""The header line: every part padded, the clock at the right edge, nothing past it."""

from __future__ import annotations

import pytest

from bridge.ui.widgets.header import header_line

CLOCK = "Wed 18 Nov 11:06:40 UTC"


def line(width: int, host: str = "vm", stale_for: float | None = None) -> list[tuple[str, str]]:
    return list(
        header_line(
            width,
            host=host,
            operator="alice",
            lease="● polling",
            polling=True,
            stale_for=stale_for,
            clock=CLOCK,
        )
    )


@pytest.mark.parametrize("width", [80, 120, 200])
def test_the_clock_keeps_to_the_right_edge(width: int) -> None:
    text = "".join(t for t, _ in line(width))
    assert len(text) == width
    assert text.startswith(" bridge  vm  operator alice  ● polling ")
    assert text.endswith(f" {CLOCK} ")


def test_each_part_carries_its_style() -> None:
    parts = dict((t.strip(), cls) for t, cls in line(120, stale_for=12.7) if t.strip())
    assert parts["bridge"] == "hdr-title"
    assert parts["vm"] == "hdr-host"
    assert parts["● polling"] == "hdr-polling"
    assert parts["STALE 12s"] == "hdr-stale"


def test_a_long_host_name_is_cut_before_the_clock() -> None:
    text = "".join(t for t, _ in line(80, host="h" * 100))
    assert len(text) == 80
    assert text.endswith(f" {CLOCK} ")
    assert text.startswith(" bridge  hhh")


def test_narrower_than_the_clock_still_fits() -> None:
    assert len("".join(t for t, _ in line(10))) == 10
