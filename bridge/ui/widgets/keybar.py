"""The footer: the keys that work here, drawn as one line of one widget.

Textual's Footer mounts a widget per key and mounts them all again whenever
focus moves. Styling those twelve widgets was about a fifth of the console's
start-up (44 class toggles, each restyling a node), and every Tab press rebuilt
them. The same bindings drawn as text cost neither.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from rich.text import Text
from textual import events
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget

__all__ = ["KeyBar"]


class _Key(NamedTuple):
    key: str  # what a click presses
    display: str
    description: str
    enabled: bool


class KeyBar(Widget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "keybar--key",
        "keybar--description",
        "keybar--disabled",
        "keybar--separator",
    }
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .keybar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .keybar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .keybar--disabled { text-style: dim; }
        & > .keybar--separator { color: $foreground 20%; }
    }
    """

    compact: reactive[bool] = reactive(False)
    """Less space between keys, for narrow terminals."""
    show_command_palette: reactive[bool] = reactive(True)
    """The palette's key at the right-hand end."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # Cells [start, end) of each key on the last drawn line, for clicks.
        self._spans: list[tuple[int, int, _Key]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.refresh()

    def _keys(self) -> tuple[list[_Key], _Key | None]:
        app = self.app
        seen: set[str] = set()
        keys: list[_Key] = []
        palette: _Key | None = None
        for key, (_node, binding, enabled, _tip) in self.screen.active_bindings.items():
            item = _Key(key, app.get_key_display(binding), binding.description, enabled)
            if key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = item
            # One entry per action, as Textual's footer shows it (e.g. j and down).
            elif binding.show and binding.action not in seen:
                seen.add(binding.action)
                keys.append(item)
        return keys, palette

    def _piece(self, item: _Key, text: Text, spans: list[tuple[int, int, _Key]]) -> None:
        key_style = self.get_component_rich_style("keybar--key")
        desc_style = self.get_component_rich_style("keybar--description")
        if not item.enabled:
            dim = self.get_component_rich_style("keybar--disabled")
            key_style, desc_style = key_style + dim, desc_style + dim
        start = text.cell_len
        if self.compact:
            text.append(item.display, key_style)
            text.append(f" {item.description}", desc_style)
            spans.append((start, text.cell_len, item))
            text.append(" ")
        else:
            text.append(f" {item.display} ", key_style)
            text.append(f"{item.description} ", desc_style)
            spans.append((start, text.cell_len, item))

    def render(self) -> Text:
        keys, palette = self._keys()
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, _Key]] = []
        for item in keys:
            self._piece(item, line, spans)
        if palette is not None and self.show_command_palette:
            # At the right-hand end, behind a thin rule, as Textual's footer has it.
            tail = Text(end="")
            tail.append("▏", self.get_component_rich_style("keybar--separator"))
            tail_spans: list[tuple[int, int, _Key]] = []
            self._piece(palette, tail, tail_spans)
            gap = self.size.width - line.cell_len - tail.cell_len
            if gap >= 1:  # never at the cost of a key
                line.append(" " * gap)
                base = line.cell_len
                line.append_text(tail)
                spans += [(base + start, base + end, k) for start, end, k in tail_spans]
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, item in self._spans:
            if start <= event.x < end:
                if item.enabled:
                    self.app.simulate_key(item.key)
                else:
                    self.app.bell()
                return
