"""The core and the collectors never import Textual or Rich (only `bridge.ui` may).

Checked in a fresh interpreter, so nothing this test process imported can hide
or fake a violation.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Imports `collectors`, `collectors.local` and every module of `bridge` except
# `bridge.ui` (and below) and `bridge.__main__` (which runs the CLI). Walks by
# hand: pkgutil.walk_packages would import `bridge.ui` itself to find its children.
# Prints the imported modules and the UI-library modules present afterwards.
PROBE = """\
import importlib, json, pkgutil, sys

EXCLUDED = ("bridge.ui", "bridge.__main__")
extra = sys.argv[1:]

def excluded(name):
    return any(name == e or name.startswith(e + ".") for e in EXCLUDED)

imported = []

def walk(package):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if excluded(info.name):
            continue
        module = importlib.import_module(info.name)
        imported.append(info.name)
        if info.ispkg:
            walk(module)

for name in ["bridge", "collectors", "collectors.local", *extra]:
    module = importlib.import_module(name)
    imported.append(name)
    if name in ("bridge", "collectors"):
        walk(module)

banned = sorted(
    m for m in sys.modules
    if m in ("textual", "rich") or m.startswith(("textual.", "rich."))
)
print(json.dumps({"imported": imported, "banned": banned}))
"""


def probe(*extra: str) -> tuple[list[str], list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return list(data["imported"]), list(data["banned"])


def test_core_and_collectors_do_not_import_textual_or_rich() -> None:
    imported, banned = probe()
    assert banned == [], f"UI libraries imported by the core: {banned}"
    # The walk really covered the core, so an empty `banned` means something.
    for name in (
        "bridge.cli",
        "bridge.config",
        "bridge.feed",
        "bridge.lease",
        "bridge.poller",
        "bridge.runner",
        "bridge.store",
        "bridge.store.sqlite",
        "bridge.thresholds",
        "collectors.local",
        "collectors.snmp",
    ):
        assert name in imported
    assert not any(name == "bridge.ui" or name.startswith("bridge.ui.") for name in imported)


@pytest.mark.parametrize("ui_library", ["textual", "rich.text"])
def test_the_probe_detects_a_ui_import(ui_library: str) -> None:
    """Negative control: the same probe, plus one UI import, must report it."""
    _, banned = probe(ui_library)
    assert ui_library in banned
    assert ui_library.split(".")[0] in banned
