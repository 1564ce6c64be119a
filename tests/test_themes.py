"""Themes: the `t` key, `[ui] theme` checked at load, user theme files, colour-blind safety."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Isolated, one_error_line, run_bridge, settled, wait_until
from seed import T0, make_app, seed_store
from test_ui import rendered
from textual.app import App
from textual.color import Color

from bridge.config.file import Config, ConfigError
from bridge.config.themes import BUILTIN_THEMES, load_theme_file, user_themes_dir
from bridge.core.clock import FixedClock
from bridge.ui.app import create_app
from bridge.ui.panes.events import EventsPane
from bridge.ui.theming import load_user_themes
from themes import THEMES, VARIABLE_DEFAULTS

GOOD = """
name = "night-shift"
dark = true
primary = "#3d8fd1"
background = "#000000"
[variables]
severity-critical = "#ff2020"
"""


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    await seed_store(path)
    return path


def write_theme(isolated: Isolated, text: str, name: str = "mine.toml") -> Path:
    folder = user_themes_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_names_match_the_shipped_themes() -> None:
    assert tuple(t.name for t in THEMES) == BUILTIN_THEMES
    for theme in THEMES:
        assert set(theme.variables) <= set(VARIABLE_DEFAULTS), theme.name


def test_user_theme_file_is_loaded(isolated: Isolated) -> None:
    write_theme(isolated, GOOD)
    config = Config.model_validate({"ui": {"theme": "night-shift"}})
    [theme] = load_user_themes(config, None)
    assert theme.name == "night-shift" and theme.dark
    assert theme.variables == {"severity-critical": "#ff2020"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('name = "x"\nprimary = "#zzz"\n', "primary: a colour is"),
        ('primary = "#123456"\n', "name: required"),
        ('name = "x"\n', "primary: required"),
        ('name = "x"\nprimary = "#123"\nfoo = 1\n', "foo: unknown key"),
        ('name = "x"\nprimary = "#123"\n[variables]\nsev = "#111"\n', "variables.sev: unknown"),
        ('name = "bridge-dark"\nprimary = "#123"\n', "is a built-in theme"),
        ('name = "x"\nprimary = "#123"\ndark = "yes"\n', "dark: true or false"),
        ("name = \n", "invalid TOML"),
    ],
)
def test_bad_theme_file_is_one_line_naming_it(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_theme_file(path, VARIABLE_DEFAULTS.keys())
    [line] = err.value.lines
    assert line.startswith(f"{path}:") and needle in line, line  # :line:col for TOML


def test_cli_bad_theme_file(isolated: Isolated) -> None:
    bad = write_theme(isolated, 'name = "x"\nprimary = "red"\n', "broken.toml")
    result = run_bridge(isolated, "check-config")
    one_error_line(result, str(bad), "primary")


def test_cli_unknown_theme_lists_available_including_users(isolated: Isolated) -> None:
    write_theme(isolated, GOOD)
    cfg = isolated.write_config('[ui]\ntheme = "nope"\n')
    result = run_bridge(isolated, "--config", str(cfg), "check-config")
    one_error_line(result, str(cfg), "ui.theme", "'nope'", "bridge-colorblind", "night-shift")
    cfg.write_text('[ui]\ntheme = "night-shift"\n', encoding="utf-8")
    ok = run_bridge(isolated, "--config", str(cfg), "check-config")
    assert ok.returncode == 0, ok.stderr
    assert "theme:    night-shift (1 user theme(s)" in ok.stdout


async def test_t_cycles_bridge_and_user_themes(db: Path, isolated: Isolated) -> None:
    write_theme(isolated, GOOD)
    app = make_app(db)
    app.user_theme_names = []
    for theme in load_user_themes(Config(), None):
        app.register_theme(theme)
        app.user_theme_names.append(theme.name)
    async with app.run_test(size=(100, 30)) as pilot:
        seen = [app.theme]
        for _ in range(len(BUILTIN_THEMES) + 1):
            await pilot.press("t")
            seen.append(app.theme)
        assert seen == [*BUILTIN_THEMES, "night-shift", "bridge-dark"]
        # The palette still offers Textual's theme switcher.
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Theme" in commands and "Next theme" in commands


async def test_colorblind_theme_names_every_severity(db: Path) -> None:
    """Severity never by colour alone: each row carries the severity as a word."""
    app = make_app(db)
    app.theme = "bridge-colorblind"
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(EventsPane).body
        await wait_until(settled(pilot, lambda: len(table.rows) == 4), 5, what="events")
        text = rendered(table)
        for word in ("CRITICAL", "MAJOR", "WARNING", "INFO"):
            assert word in text, text


@pytest.mark.parametrize("name", [t.name for t in THEMES])
async def test_configured_theme_is_in_force_from_the_start(db: Path, name: str) -> None:
    """`[ui] theme` is in force from the first screen, and looks exactly as the
    same theme chosen later does."""
    config = Config.model_validate({"ui": {"theme": name}})
    app = create_app(config, operator="alice", store_path=db, collect=False, clock=FixedClock(T0))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        dark = next(t for t in THEMES if t.name == name).dark
        assert app.theme == name
        assert {f"-theme-{name}", "-dark-mode" if dark else "-light-mode"} <= app.classes
        assert ("-light-mode" if dark else "-dark-mode") not in app.classes
        started = looks(app)
    other = make_app(db)  # starts with the default theme, then switches the usual way
    async with other.run_test(size=(100, 30)) as pilot:
        other.theme = name
        await pilot.pause()
        assert looks(other) == started


def looks(app: App[Any]) -> tuple[object, ...]:
    pane = app.query_one(EventsPane)
    return (
        app.screen.styles.background,
        pane.styles.border,
        pane.body.get_component_rich_style("sev-critical"),
        app.ansi_color,
        app.get_css_variables(),
    )


@pytest.mark.parametrize("name", [t.name for t in THEMES])
async def test_muted_text_is_muted_against_its_background_in_every_theme(
    db: Path, name: str
) -> None:
    """$text-muted is "auto 60%": a colour that contrasts with what it is drawn on.
    Line views and tables once drew it as plain white: the events table's column
    heads vanished on the light theme, and muted labels outshone the values."""
    config = Config.model_validate({"ui": {"theme": name}})
    app = create_app(config, operator="alice", store_path=db, collect=False, clock=FixedClock(T0))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(EventsPane).body
        background = table.background_colors[1]
        foreground = table.colors[3]
        head = table._style("rowtable--header").color
        assert head is not None
        muted = Color.from_rich_color(head)
        # Legible: far from the background ...
        assert abs(muted.brightness - background.brightness) > 0.25, (muted, background)
        # ... and quieter than the text beside it.
        assert abs(muted.brightness - background.brightness) < abs(
            foreground.brightness - background.brightness
        ), (muted, foreground, background)


# -- the operator's choice, remembered; Textual's themes in the config -----------------------
def console(db: Path, theme: str = "bridge-dark", remember: bool = True) -> App[Any]:
    config = Config.model_validate({"ui": {"theme": theme}})
    return create_app(
        config,
        operator="alice",
        store_path=db,
        collect=False,
        clock=FixedClock(T0),
        remember_theme=remember,
    )


async def test_the_theme_chosen_with_t_is_the_theme_at_the_next_start(
    db: Path, isolated: Isolated
) -> None:
    app = console(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        assert app.theme == "bridge-light"
    assert (isolated.root / "state" / "bridge" / "theme").is_file()
    again = console(db)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "bridge-light"


async def test_the_theme_chosen_in_the_palette_is_remembered(db: Path, isolated: Isolated) -> None:
    app = console(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Theme", "enter")  # Textual's theme picker
        await pilot.press(*"nord", "enter")
        await wait_until(settled(pilot, lambda: app.theme == "nord"), 5, what="the picked theme")
    again = console(db)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "nord"


async def test_a_new_theme_in_the_config_wins_over_the_remembered_one(
    db: Path, isolated: Isolated
) -> None:
    app = console(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
    changed = console(db, theme="bridge-contrast")  # the config was edited since
    async with changed.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert changed.theme == "bridge-contrast"


@pytest.mark.parametrize("text", ["", "x" * 200, "gone-theme\nbridge-dark\n", "\xff\xfe"])
async def test_a_garbled_or_stale_remembered_theme_is_ignored(
    db: Path, isolated: Isolated, text: str
) -> None:
    state = isolated.root / "state" / "bridge"
    state.mkdir(parents=True)
    (state / "theme").write_bytes(text.encode("latin-1"))
    app = console(db, theme="bridge-contrast")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "bridge-contrast"


async def test_embedded_consoles_remember_nothing(db: Path, isolated: Isolated) -> None:
    app = console(db, remember=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        assert app.theme == "bridge-light"
    assert not (isolated.root / "state").exists()


def test_textual_palette_themes_are_accepted_in_the_config(isolated: Isolated) -> None:
    cfg = isolated.write_config('[ui]\ntheme = "nord"\n')
    result = run_bridge(isolated, "--config", str(cfg), "check-config")
    assert result.returncode == 0, result.stderr
    assert "theme:    nord" in result.stdout
    config = Config.model_validate({"ui": {"theme": "nord"}})
    assert load_user_themes(config, cfg) == []


async def test_the_console_starts_with_a_textual_theme_from_the_config(db: Path) -> None:
    config = Config.model_validate({"ui": {"theme": "gruvbox"}})
    app = create_app(config, operator="alice", store_path=db, collect=False, clock=FixedClock(T0))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "gruvbox"
