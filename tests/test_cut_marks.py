"""The Health pane's cut marks: hidden under its views, cutting its lines in pieces.

Textual sends a changed line of a widget from the start of the piece of the
screen line the change is in, and every visible widget's edges cut the line,
hidden ones too (bridge/ui/widgets/cuts.py).
"""

from __future__ import annotations

from pathlib import Path

from bridge.config.file import Config
from bridge.ui.app import create_app
from bridge.ui.panes.health import HealthPane
from bridge.ui.widgets.cuts import CutMarks


async def test_the_health_panes_cut_marks_lie_hidden_under_its_views(tmp_path: Path) -> None:
    """The marks cut the host lines into pieces (Textual sends a changed line from
    the start of the piece it is in); they must never show, nor take the views' room."""
    app = create_app(
        Config.model_validate({"local": {"interval": 1}}),
        operator="alice",
        store_path=tmp_path / "bridge.db",
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        pane = app.query_one(HealthPane)
        view = pane.host_view
        marks = app.query_one("#health-cuts", CutMarks)
        pieces = list(marks.children)
        assert len(pieces) == marks.pieces == 3
        assert view.region == pane.content_region  # the marks take no room from it
        edges = sorted({p.region.x for p in pieces} | {p.region.right for p in pieces})
        assert edges[0] == view.region.x and edges[-1] == view.region.right
        assert all(p.region.y == view.region.y and p.region.height >= view.region.height
                   for p in pieces)  # fmt: skip
        for x in range(view.region.x, view.region.right):
            for y in (view.region.y, view.region.bottom - 1):
                widget, _ = app.get_widget_at(x, y)
                assert widget is view, (x, y, widget)
