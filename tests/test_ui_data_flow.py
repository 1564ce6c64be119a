"""In the console, data flows down and the operator's changes go up.

The panes, dialogs and widgets read the store through the ConsoleContext the
app gives them; every change an operator makes is a message the app saves
(bridge.ui.messages, bridge.ui.actions), so one place counts what is being saved
(the quit check) and says how it went. This reads every module under
bridge/ui/panes, bridge/ui/screens and bridge/ui/widgets, and the wall
(bridge/ui/wall, which must never act): a call of a store
write method (bridge.store.protocol.WRITE_METHODS), or of one of our functions that
makes one (bridge.reports.handover's accept_handover, say), is a failure that
names the file and line. The behaviour itself is tested by the console's tests
(test_events_ui, test_schedule_ui, test_handover, ...), which drive the real app.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

from bridge.store.protocol import WRITE_METHODS, Store

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("bridge/ui/panes", "bridge/ui/screens", "bridge/ui/widgets", "bridge/ui/wall")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def calls_a_write(node: ast.AST, writers: set[str]) -> bool:
    """`node` calls a store write method, or a function named in `writers`."""
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in WRITE_METHODS:
            return True
        if isinstance(func, ast.Name) and func.id in writers:
            return True
    return False


def writing_functions() -> dict[str, set[str]]:
    """Per module of bridge (the UI's parts and the store itself aside), its
    module-level functions that write to the store, directly or through another
    such function of the same module."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bridge").rglob("*.py")):
        name = module_name(path)
        if name.startswith("bridge.store"):
            continue
        tree = ast.parse(path.read_text(), str(path))
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        writers: set[str] = set()
        while True:  # to a fixed point: a helper may call a writer defined below it
            more = {f.name for f in functions if calls_a_write(f, writers)} - writers
            if not more:
                break
            writers |= more
        if writers:
            found[name] = writers
    return found


def violations(path: Path, tree: ast.Module, writers: dict[str, set[str]]) -> Iterator[str]:
    where = path.relative_to(ROOT)
    imported: set[str] = set()  # writing functions this module imported by name
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in writers:
            for alias in node.names:
                if alias.name in writers[node.module]:
                    imported.add(alias.asname or alias.name)
                    yield f"{where}:{node.lineno}: imports {node.module}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in WRITE_METHODS:
            yield f"{where}:{node.lineno}: .{func.attr}(...)"
        elif isinstance(func, ast.Name) and func.id in imported:
            yield f"{where}:{node.lineno}: {func.id}(...)"


def part_sources() -> list[Path]:
    return [p for part in PARTS for p in sorted((ROOT / part).rglob("*.py"))]


def test_no_pane_dialog_widget_or_wall_writes_to_the_store() -> None:
    writers = writing_functions()
    found = [
        line
        for path in part_sources()
        for line in violations(path, ast.parse(path.read_text(), str(path)), writers)
    ]
    assert not found, (
        "the console's parts send an operator's change up as a message "
        "(bridge.ui.messages) for the app to save, instead of writing:\n  " + "\n  ".join(found)
    )


def test_every_write_method_is_one_of_the_stores() -> None:
    """A renamed write method must not leave the scan looking for the old name."""
    methods = {name for name, _ in inspect.getmembers(Store, inspect.iscoroutinefunction)}
    assert methods >= WRITE_METHODS, sorted(WRITE_METHODS - methods)


def test_the_scan_covers_the_parts_and_the_writing_helpers() -> None:
    names = {module_name(p) for p in part_sources()}
    assert {"bridge.ui.panes.events", "bridge.ui.panes.schedule"} <= names
    assert "bridge.ui.screens.reports" in names
    writers = writing_functions()
    # The handover's two writes are our functions around store.record.
    assert {"accept_handover", "write_handover_note"} <= writers["bridge.reports.handover"]


def test_the_scan_finds_what_it_looks_for() -> None:
    source = """
from bridge.reports.handover import accept_handover, handover_counts

async def save(self):
    await self.context.store.act([1], "ack", "me", 0.0)
    await accept_handover(self.context.store, None, "me", 0.0)
    handover_counts(None)
    await self.context.store.list_events()
"""
    path = ROOT / "bridge/ui/panes/example.py"
    found = list(violations(path, ast.parse(source), writing_functions()))
    assert found == [
        "bridge/ui/panes/example.py:2: imports bridge.reports.handover.accept_handover",
        "bridge/ui/panes/example.py:5: .act(...)",
        "bridge/ui/panes/example.py:6: accept_handover(...)",
    ]
