"""The documents stay true to the code: links, commands, keys and config keys.

A reader trusts the README's tables and the configuration reference more than
the code, so each is checked against what the code really offers: a command
the parser has, a key the console binds, a config key and its default.
"""

from __future__ import annotations

import argparse
import re
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.cli.main import build_parser
from bridge.config import records as config_model
from bridge.config.file import Config, parse_config
from bridge.config.records import Model, SecretStr
from bridge.config.themes import load_theme_file
from themes import VARIABLE_DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
CONFIG_DOC = ROOT / "docs" / "configuration.md"
MAX_README_LINES = 200

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
TOML_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.MULTILINE | re.DOTALL)
THEME_FILE = "# $XDG_CONFIG_HOME/bridge/themes/"


def prose(text: str) -> str:
    """The text without its fenced code blocks, where brackets are not links."""
    return FENCE.sub("", text)


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", prose(path.read_text(encoding="utf-8")), re.MULTILINE)
    return {anchor(h) for h in headings}


def section(text: str, title: str) -> str:
    """The body of the `## title` section, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def first_cells(text: str) -> list[str]:
    """The first cell of each table row (not the header separator)."""
    cells = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells.append(line.split(" | ")[0].removeprefix("|").strip())
    return cells


# -- the README's size -------------------------------------------------------------------
def test_the_readme_stays_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines (at most {MAX_README_LINES}): move detail to docs/"
    )


# -- links ---------------------------------------------------------------------------
def links() -> Iterator[tuple[Path, str]]:
    for doc in [README, ROOT / "CHANGELOG.md", *DOCS]:
        for target in LINK.findall(prose(doc.read_text(encoding="utf-8"))):
            if not re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                yield doc, target


def test_there_are_docs_and_links_to_check() -> None:
    names = {doc.name for doc in DOCS}
    assert {"configuration.md", "operations.md", "architecture.md", "performance.md"} <= names
    assert len(list(links())) >= 10


@pytest.mark.parametrize(
    ("doc", "target"), list(links()), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_every_relative_link_points_at_something_that_exists(doc: Path, target: str) -> None:
    where, _, fragment = target.partition("#")
    path = (doc.parent / where).resolve() if where else doc
    assert path.exists(), f"{doc.relative_to(ROOT)}: link to {target}: no such file"
    if fragment and path.suffix == ".md":
        assert fragment in anchors(path), (
            f"{doc.relative_to(ROOT)}: link to {target}: no heading with that anchor"
        )


def test_anchors_are_made_as_github_makes_them() -> None:
    assert anchor("Over SSH") == "over-ssh"
    assert anchor("`[[traps.users]]`") == "trapsusers"
    assert anchor("Service levels, handover and escalation") == (
        "service-levels-handover-and-escalation"
    )


# -- commands ------------------------------------------------------------------------
def listed(parser: argparse.ArgumentParser, argv: list[str], capsys: Any) -> set[str]:
    """The subcommands `bridge ARGV --help` lists, as a user sees them."""
    with pytest.raises(SystemExit):
        parser.parse_args([*argv, "--help"])
    help_text = capsys.readouterr().out
    return set(re.findall(r"^    ([a-z][a-z-]*)(?:\s|$)", help_text, re.MULTILINE))


def test_every_command_is_in_the_readme_commands_table(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = listed(parser, [], capsys)
    assert {"console", "wall", "collect", "events", "job", "version"} <= commands
    rows = first_cells(section(README.read_text(encoding="utf-8"), "Commands"))
    documented = {name for cell in rows for name in re.findall(r"`bridge ([a-z][a-z-]*)", cell)}
    assert commands - documented == set(), "commands missing from the README's table"
    assert documented - commands == set(), "the README's table names commands bridge lacks"
    for group in ("events", "job"):
        actions = listed(build_parser(), [group], capsys)
        assert len(actions) >= 4, f"bridge {group} --help lists no actions"
        cells = " ".join(c for c in rows if c.startswith(f"`bridge {group}"))
        words = set(re.findall(r"[a-z]+", cells))
        assert actions - words == set(), f"bridge {group} actions missing from the README"


# -- keys ----------------------------------------------------------------------------
# How the README writes a key Textual names.
KEY_NAMES = {
    "slash": "`/`",
    "question_mark": "`?`",
    "space": "space",
    "enter": "Enter",
    "escape": "Esc",
    "up": "↑",
    "down": "↓",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "ctrl+l": "Ctrl+L",
    "ctrl+q": "Ctrl+Q",
}


def bound_keys() -> Iterator[tuple[str, str]]:
    from bridge.ui.app import BridgeApp
    from bridge.ui.panes.events import EventDetailsScreen, EventsPane
    from bridge.ui.panes.health import HealthPane
    from bridge.ui.panes.network_view import DeviceScreen
    from bridge.ui.panes.schedule import SchedulePane
    from bridge.ui.screens.modals import HelpScreen
    from bridge.ui.screens.reports import HandoverScreen, ReportsScreen
    from bridge.ui.widgets.rowtable import RowTable

    owners: list[type[Any]] = [
        BridgeApp, EventsPane, SchedulePane, RowTable, EventDetailsScreen,
        ReportsScreen, HandoverScreen, HelpScreen, DeviceScreen, HealthPane,
    ]  # fmt: skip
    for owner in owners:
        for binding in owner.BINDINGS:
            keys = binding.key if not isinstance(binding, tuple) else binding[0]
            for key in keys.split(","):
                yield owner.__name__, key.strip()


def test_every_key_the_console_binds_is_in_the_readme() -> None:
    keys = section(README.read_text(encoding="utf-8"), "Keys")
    missing = []
    for owner, key in bound_keys():
        shown = f"`{key}`" if len(key) == 1 else KEY_NAMES.get(key)
        assert shown is not None, f"{owner} binds {key!r}: add how the README writes it"
        if shown not in keys:
            missing.append(f"{owner}: {key} ({shown})")
    assert missing == [], "keys the console binds but the README's Keys section does not list"


# The keys the help writes in words, and how the README writes them.
HELP_WORDS = {"Tab", "Shift+Tab", "PgUp", "PgDn", "Home", "End", "Enter", "Esc", "space", "↑", "↓"}
README_KEY = re.compile(
    r"`([^`\s]{1,2})`|(Shift\+Tab|Tab|PgUp|PgDn|Home|End|Enter|Esc|space|↑|↓|Ctrl\+\w)"
)


def help_keys() -> dict[str, str]:
    """Each key the help (`?`) lists, as the README writes it, with the help's line."""
    from bridge.ui.screens.modals import KEYS

    out: dict[str, str] = {}
    for _, rows in KEYS:
        for keys, what in rows:
            for token in re.sub(r"\(.*?\)|\bagain\b", " ", keys).replace(" / ", " ").split():
                out[token if token in HELP_WORDS or token.startswith("Ctrl+") else f"`{token}`"] = (
                    what
                )
    return out


def readme_keys() -> set[str]:
    """The keys the README's Keys tables name in their first column."""
    cells = first_cells(section(README.read_text(encoding="utf-8"), "Keys"))
    found = set()
    for cell in cells[1:]:  # not the header's
        for quoted, named in README_KEY.findall(cell):
            found.add(f"`{quoted}`" if quoted else named)
    return found - {"key"}


def test_the_help_and_the_readme_list_the_same_keys() -> None:
    shown, documented = set(help_keys()), readme_keys()
    assert len(shown) > 30 and len(documented) > 30
    assert shown - documented == set(), "keys the help lists but the README's Keys do not"
    assert documented - shown == set(), "keys the README lists but the help does not"


def test_every_key_the_console_binds_is_in_the_help() -> None:
    """The help is the console's own list: a key a screen binds (`p` in the reports, `c`
    in an event's details) is in its key column, or named with a colon in a line."""
    listed = help_keys()
    lines = " ".join(listed.values())
    missing = []
    for owner, key in bound_keys():
        shown = f"`{key}`" if len(key) == 1 else KEY_NAMES[key]
        if shown not in listed and f"{key}:" not in lines:
            missing.append(f"{owner}: {key}")
    assert missing == [], "keys the console binds but the help (?) does not list"


# -- the configuration reference -----------------------------------------------------
def model_of(hint: Any) -> tuple[type[Model], str] | None:
    """The record a field holds (itself, in a list, or as a dict's values), and the path
    suffix its section is documented under."""
    if isinstance(hint, type) and issubclass(hint, Model):
        return hint, ""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is list and args and model_of(args[0]):
        return model_of(args[0])
    if typing.get_origin(hint) is dict and len(args) == 2 and model_of(args[1]):
        found = model_of(args[1])
        assert found is not None
        return found[0], ".NAME"
    return None


def config_sections() -> dict[str, type[Model]]:
    """Each record of the config by its TOML path, the first place it is met."""
    out: dict[str, type[Model]] = {}
    seen: set[type[Model]] = set()

    def walk(cls: type[Model], prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for key, spec in cls._by_key.items():
            found = model_of(hints[spec.name])
            if found is None or found[0] in seen:
                continue
            model, suffix = found
            seen.add(model)
            path = f"{prefix}{key}{suffix}"
            out[path] = model
            walk(model, path + ".")

    walk(Config, "")
    return out


def documented_sections() -> dict[str, list[tuple[str, str]]]:
    """Each `[table]` heading of the reference and its rows' (key, default) cells."""
    out: dict[str, list[tuple[str, str]]] = {}
    text = prose(CONFIG_DOC.read_text(encoding="utf-8"))
    parts = re.split(r"^(#+ .*)$", text, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        for path in re.findall(r"`\[\[?([\w.]+)\]\]?`", heading):
            rows = []
            for line in body.splitlines():
                if line.startswith("| `"):
                    cells = [c.strip() for c in line.strip("|").split(" | ")]
                    rows.append((cells[0].strip("`"), cells[1]))
            out.setdefault(path, []).extend(rows)
    return out


def plain(value: Any) -> Any:
    """A default as TOML would read it back."""
    if isinstance(value, Model):
        return plain(value.model_dump())
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_the_walk_finds_every_section() -> None:
    sections = config_sections()
    assert {"store", "local.thresholds", "local.thresholds.cpu", "devices"} <= set(sections)
    assert {"calendars.NAME", "traps.users", "traps.map", "network.error_rate"} <= set(sections)


@pytest.mark.parametrize("path", sorted(config_sections()))
def test_every_config_key_is_documented_with_its_default(path: str) -> None:
    model = config_sections()[path]
    rows = documented_sections().get(path)
    assert rows is not None, f"docs/configuration.md has no heading for [{path}]"
    documented = dict(rows)
    keys = set(model._by_key)
    assert keys - set(documented) == set(), f"[{path}]: keys not documented"
    assert set(documented) - keys == set(), f"[{path}]: documented keys the config lacks"
    for key, cell in documented.items():
        default = model._by_key[key].info.default
        where = f"[{path}] {key}: default {cell!r}"
        if cell.startswith("required"):
            assert default is config_model._MISSING, f"{where}, but it has one: {default!r}"
        elif cell.startswith("unset"):
            assert default is None, f"{where}, but it is {default!r}"
        elif cell.startswith("`"):
            written = tomllib.loads(f"v = {cell.split('`')[1]}")["v"]
            assert written == plain(default), f"{where}, but it is {plain(default)!r}"
        else:
            assert isinstance(default, Model), f"{where}: say `value`, unset or required"


# -- benchmarks ----------------------------------------------------------------------
def test_every_benchmark_is_described_in_performance() -> None:
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    scripts = sorted(p.name for p in (ROOT / "bench").glob("[!_]*.py"))
    assert scripts, "no benchmarks found"
    missing = [name for name in scripts if f"`bench/{name}" not in text]
    assert missing == [], "benchmarks docs/performance.md does not describe"


# -- examples ------------------------------------------------------------------------
def examples() -> Iterator[tuple[str, str]]:
    for doc in [README, CONFIG_DOC]:
        for i, block in enumerate(TOML_BLOCK.findall(doc.read_text(encoding="utf-8"))):
            yield f"{doc.name}[{i}]", block


@pytest.mark.parametrize(
    ("name", "text"), list(examples()), ids=lambda v: v if "\n" not in v else ""
)
def test_every_toml_example_is_valid(name: str, text: str, tmp_path: Path) -> None:
    if text.startswith(THEME_FILE):
        path = tmp_path / "example.toml"
        path.write_text(text, encoding="utf-8")
        load_theme_file(path, VARIABLE_DEFAULTS)
    else:
        parse_config(text, name)  # raises ConfigError naming the key
