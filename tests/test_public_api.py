"""Our code uses Textual's, Rich's and the standard library's public API only.

A private (`_`-prefixed) name of another package is free to change in any
release, and a console that reaches for one breaks without notice, or worse
draws stale cells. This reads every module of ours: an attribute read of a
`_name` that none of our own modules defines, or an import from a `_`-prefixed
module, is a failure that names the file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bridge", "collectors", "themes", "bench", "tests", "scripts")
# Public despite the underscore: namedtuple's documented API, and os._exit (the
# documented way to end a process without running its exit handlers).
PUBLIC = {"_fields", "_asdict", "_replace", "_make", "_field_defaults", "_exit"}
# Reads allowed with a reason, as "path: .name" (none today).
ALLOWED: set[str] = set()


def sources() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def ours(trees: dict[Path, ast.Module]) -> set[str]:
    """Every `_name` one of our modules defines: functions, classes, attributes, names."""
    names: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
    return {n for n in names if private(n)}


def foreign_private(
    path: Path, tree: ast.Module, defined: set[str], modules: frozenset[str] = frozenset()
) -> Iterator[str]:
    """`modules`: our own top-level module names (bench's and the tests' helpers)."""
    where = path.relative_to(ROOT)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            if node.attr not in defined and node.attr not in PUBLIC:
                yield f"{where}:{node.lineno}: .{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top in modules:
                continue
            if top not in PACKAGES and any(private(p) for p in node.module.split(".")):
                yield f"{where}:{node.lineno}: from {node.module}"
            for alias in node.names:
                if top not in PACKAGES and private(alias.name):
                    yield f"{where}:{node.lineno}: import {alias.name} from {node.module}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(private(p) for p in alias.name.split(".")[1:]):
                    yield f"{where}:{node.lineno}: import {alias.name}"


def test_no_private_attribute_of_another_package_is_used() -> None:
    trees = {path: ast.parse(path.read_text(), str(path)) for path in sources()}
    defined = ours(trees)
    modules = frozenset({path.stem for path in trees} | set(PACKAGES))
    found = [
        hit
        for path, tree in trees.items()
        for hit in foreign_private(path, tree, defined, modules)
        if f"{hit.split(':')[0]}:{hit.split(':', 2)[2]}" not in ALLOWED
    ]
    assert found == [], "\n".join(found)


def test_the_scan_finds_what_it_looks_for() -> None:
    tree = ast.parse(
        "from textual._compositor import LayoutUpdate\n"
        "from textual.app import _private\n"
        "app.screen._compositor.render_strips()\n"
        "self._own = 1\n"
        "x._own\n"
        "row._fields\n"
    )
    hits = list(foreign_private(ROOT / "bridge" / "x.py", tree, {"_own"}))
    assert hits == [
        "bridge/x.py:1: from textual._compositor",
        "bridge/x.py:2: import _private from textual.app",
        "bridge/x.py:3: ._compositor",
    ]
