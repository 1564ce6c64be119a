"""The core and the collectors never import Textual or Rich (only `bridge.ui` may).

Checked in a fresh interpreter, so nothing this test process imported can hide
or fake a violation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
        "bridge.cli.main",
        "bridge.config.file",
        "bridge.runtime.feed",
        "bridge.runtime.lease",
        "bridge.runtime.poller",
        "bridge.runtime.runner",
        "bridge.store",
        "bridge.store.sqlite",
        "bridge.rules.thresholds",
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


# Starts the console as `bridge` does (cmd_console's imports, then the app) on a fresh
# store, headless, polling this host, and prints what is imported once its first
# screen is up. With no [[devices]], jobs, checks, webhooks or traps configured.
CONSOLE_PROBE = """\
import asyncio, json, sys
from pathlib import Path

from bridge.cli.main import parse_args
from bridge.config.file import Config
from bridge.ui.app import create_app
from bridge.ui.panes.health import HealthPane

parse_args([])

async def main():
    config = Config.model_validate({"local": {"interval": 1}, **json.loads(sys.argv[2])})
    app = create_app(config, operator="probe", store_path=Path(sys.argv[1]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.query_one(HealthPane).snapshot is not None, "no first sample"
        print(json.dumps(sorted(sys.modules)))

asyncio.run(main())
"""

# What the first screen of a console without devices, jobs, checks, webhooks and
# traps has no use for: each waits for the command, the view or the dialog that needs it.
NOT_AT_CONSOLE_START = (
    "bridge.cli.devices",  # the commands' modules: loaded with their parsers
    "bridge.cli.events",
    "bridge.cli.jobs",
    "bridge.cli.report",
    "bridge.core.event_json",
    "bridge.cli.demo",
    "bridge.reports.devices",  # the network view, without devices
    "bridge.ui.panes.network_view",
    "bridge.ui.screens.modals",  # dialogs
    "bridge.ui.screens.reports",
    "bridge.reports.levels",
    "bridge.reports.handover",
    "bridge.core.hours",  # calendars
    "zoneinfo",  # time zones: calendars, jobs, maintenance windows (with sysconfig)
    "sysconfig",
    "tomllib",  # without a config file or theme files, nothing to parse
    "secrets",  # job run ids (and hmac with it)
    "hmac",
    "getpass",  # the login name, wanted only when no operator is named (the probe names one)
    "bridge.schedule.engine",  # the schedule engine, without jobs or maintenance
    "bridge.runtime.schedule_loop",
    "bridge.rules.schedule",
    "bridge.schedule.maintenance",
    "bridge.schedule.reschedule",
    "bridge.runtime.delivery",  # webhooks
    "bridge.runtime.trap_service",  # traps
    "bridge.runtime.intake",  # the HTTP intake, and its server library
    "aiohttp",
    "collectors.snmp",
    "collectors.http",
    "pysnmp",
    "httpx",
    "croniter",
    "markdown_it",
)


def console_start_modules(tmp_path: Path, config: dict[str, object]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", CONSOLE_PROBE, str(tmp_path / "bridge.db"), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "bridge.ui.app" in loaded and "textual" in loaded  # the probe did start the console
    return loaded


def test_the_console_start_imports_only_what_its_first_screen_needs(tmp_path: Path) -> None:
    loaded = console_start_modules(tmp_path, {})
    present = sorted(m for m in NOT_AT_CONSOLE_START if m in loaded)
    assert present == [], f"imported at console start: {present}"


@pytest.mark.parametrize(
    ("config", "needed"),
    [
        ({"jobs": [{"name": "backup", "schedule": "0 2 * * *"}]}, "bridge.runtime.schedule_loop"),
        ({"devices": [{"name": "sw1", "address": "127.0.0.1"}]}, "bridge.ui.panes.network_view"),
    ],
)
def test_the_console_probe_sees_what_a_configured_estate_needs(
    tmp_path: Path, config: dict[str, object], needed: str
) -> None:
    """Negative control: with jobs or devices, the same probe finds their modules."""
    assert needed in console_start_modules(tmp_path, config)


# The layers, top to bottom, as pyproject's import-linter contract has them. A layer
# may import the layers below it, never one above: checked here at run time too, so
# a lazy import inside a function (which the static contract also sees) or an import
# made by a dependency's plugin hook cannot hide an upward arrow.
LAYERS = (
    "bridge.cli",
    "bridge.ui",
    "bridge.runtime",
    "bridge.reports",
    "bridge.store",
    "bridge.rules",
    "bridge.schedule",
    "bridge.config",
    "bridge.core",
)

LAYER_PROBE = """\
import importlib, json, pkgutil, sys

layer = importlib.import_module(sys.argv[1])
names = [sys.argv[1]]
for info in pkgutil.walk_packages(layer.__path__, layer.__name__ + "."):
    importlib.import_module(info.name)
    names.append(info.name)
for extra in sys.argv[2:]:
    importlib.import_module(extra)
print(json.dumps({"walked": names, "loaded": sorted(sys.modules)}))
"""


def layer_imports(layer: str, *extra: str) -> tuple[list[str], set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", LAYER_PROBE, layer, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return list(data["walked"]), set(data["loaded"])


def test_the_pyproject_contract_lists_the_same_layers() -> None:
    import tomllib

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layered = [c["layers"] for c in contracts if c["type"] == "layers"]
    assert layered == [list(LAYERS)]
    # Every sub-package of bridge is a layer: a new package must take its place.
    packages = {
        f"bridge.{p.name}" for p in (root / "bridge").iterdir() if (p / "__init__.py").exists()
    }
    assert packages == set(LAYERS)


def loaded_above(layer: str, loaded: set[str]) -> list[str]:
    above = LAYERS[: LAYERS.index(layer)]
    return sorted(m for m in loaded for a in above if m == a or m.startswith(a + "."))


@pytest.mark.parametrize("layer", LAYERS[1:])
def test_importing_a_layer_loads_nothing_above_it(layer: str) -> None:
    walked, loaded = layer_imports(layer)
    assert len(walked) > 1, f"{layer} has no modules"  # the walk did import the layer
    assert loaded_above(layer, loaded) == [], f"importing {layer} loaded layers above it"


def test_the_layer_probe_sees_an_upward_import() -> None:
    """Negative control: the store's walk plus one runtime import is reported."""
    walked, loaded = layer_imports("bridge.store", "bridge.runtime.feed")
    assert "bridge.store.sqlite" in walked
    assert "bridge.runtime.feed" in loaded_above("bridge.store", loaded)


# Runs `bridge --config CFG` as the entry point does and stops it at its first import
# of Textual, printing whether the local collector (whose import reads the CPU
# counters that the first sample measures from) was imported before it.
CPU_SEED_PROBE = """\
import importlib.abc, json, os, sys

class StopAtTextual(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "textual":
            print(json.dumps({"seeded": "collectors.local" in sys.modules}), flush=True)
            os._exit(0)
        return None

sys.meta_path.insert(0, StopAtTextual())
from bridge.cli.main import main
main(["--config", sys.argv[1]])
print(json.dumps({"textual": "never imported"}))
"""


def test_the_console_starts_its_first_cpu_span_before_importing_textual(tmp_path: Path) -> None:
    """The first screen waits for the first local sample, whose CPU figures need a
    span of MIN_CPU_WINDOW_S since the counters were read: read before Textual is
    imported and the app built, that span has mostly passed when the sample is due."""
    config = tmp_path / "config.toml"
    config.write_text("[local]\ninterval = 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env |= {f"XDG_{d}_HOME": str(tmp_path / d.lower()) for d in ("DATA", "CONFIG", "CACHE")}
    result = subprocess.run(
        [sys.executable, "-c", CPU_SEED_PROBE, str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"seeded": True}
