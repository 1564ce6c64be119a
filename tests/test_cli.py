"""The `bridge` command line, run for real in subprocesses."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from conftest import Isolated, one_error_line, run_bridge

from bridge import __version__
from bridge.core.models import EventInput, Severity
from bridge.store import open_store

T0 = 1_700_000_000.0


def test_version(isolated: Isolated) -> None:
    result = run_bridge(isolated, "version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"bridge {__version__}"


def test_help_lists_the_commands(isolated: Isolated) -> None:
    result = run_bridge(isolated, "--help")
    assert result.returncode == 0
    for command in ("console", "collect", "check-config", "events", "version"):
        assert command in result.stdout


def test_unknown_command_is_a_usage_error(isolated: Isolated) -> None:
    result = run_bridge(isolated, "frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize("command", ["store", "job"])
def test_a_command_without_its_subcommand_is_a_usage_error(
    isolated: Isolated, command: str
) -> None:
    """`bridge store` alone printed its help and exited 0, as if it had done something."""
    result = run_bridge(isolated, command)
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"usage: bridge {command}" in result.stderr


async def seed(db: Path) -> None:
    store = await open_store(db)
    try:
        await store.upsert_events(
            [
                EventInput("local", "web1", "cpu", Severity.CRITICAL, "cpu 99%", at=T0, value=99.0),
                EventInput("snmp", "sw1", "if:3", Severity.WARNING, "link \x1b[31mflap\x07", at=T0),
                EventInput("local", "web1", "disk:/", Severity.MAJOR, "disk full", at=T0),
                EventInput("local", "web1", "disk:/", Severity.OK, "disk ok", at=T0 + 60),
            ],
            "tester",
        )
    finally:
        await store.close()


def events_config(isolated: Isolated) -> tuple[Path, Path]:
    db = isolated.root / "events.db"
    # Resolved-but-unacknowledged events are listed by default; these tests list only open ones.
    text = f'[store]\npath = "{db}"\n[events]\nkeep_unacknowledged_resolved = false\n'
    return isolated.write_config(text), db


async def test_events_json(isolated: Isolated) -> None:
    config, db = events_config(isolated)
    await seed(db)
    result = run_bridge(isolated, "--config", str(config), "events", "--json")
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)
    assert [(e["resource"], e["check"], e["severity"]) for e in events] == [
        ("web1", "cpu", "critical"),
        ("sw1", "if:3", "warning"),
    ]
    assert events[0]["state"] == "open"
    assert events[0]["count"] == 1
    assert events[0]["first_seen"] == T0

    everything = run_bridge(isolated, "--config", str(config), "events", "--all", "--json")
    rows = json.loads(everything.stdout)
    assert len(rows) == 3
    assert {e["state"] for e in rows} == {"open", "resolved"}


async def test_events_table_shows_untrusted_text_literally(isolated: Isolated) -> None:
    config, db = events_config(isolated)
    await seed(db)
    result = run_bridge(isolated, "--config", str(config), "events")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "SEVERITY", "STATE"]
    assert len(lines) == 3
    assert "critical" in lines[1]
    assert "cpu 99%" in lines[1]
    # Control characters from a device never reach the terminal raw.
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    assert "\\x1b[31mflap\\x07" in result.stdout


def test_events_on_an_empty_store(isolated: Isolated) -> None:
    config, db = events_config(isolated)
    result = run_bridge(isolated, "--config", str(config), "events")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no open events"
    assert db.exists()  # created and migrated on first use
    assert (
        json.loads(run_bridge(isolated, "--config", str(config), "events", "--json").stdout) == []
    )


def test_events_without_config_uses_the_xdg_data_store(isolated: Isolated) -> None:
    result = run_bridge(isolated, "events", "--all")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no events"
    assert (isolated.data_home / "bridge" / "bridge.db").exists()


@pytest.mark.parametrize(
    ("args", "part"),
    [
        (("events", "list", "--limit", "abc"), "--limit"),
        (("events", "list", "--limit", "-1"), "--limit"),
        (("outbox", "--limit", "0"), "--limit"),
        (("events", "ack"), "ID"),
    ],
)
def test_bad_arguments_are_one_line(isolated: Isolated, args: tuple[str, ...], part: str) -> None:
    """argparse's usage block is not the one-line error the rest of the CLI gives."""
    one_error_line(run_bridge(isolated, *args), part)


def test_console_on_a_store_that_is_not_a_database_is_one_line(isolated: Isolated) -> None:
    # The store opens before the screen starts: the error lands on a normal
    # terminal, and the terminal is never switched to the full-screen mode.
    bad = isolated.root / "bad.db"
    bad.write_bytes(b"this is not sqlite, " * 100)
    config = isolated.write_config(f'[store]\npath = "{bad}"\n')
    result = run_bridge(isolated, "--config", str(config))
    one_error_line(result, "not a database", str(bad))
    assert "\x1b[" not in result.stdout
    assert bad.read_bytes() == b"this is not sqlite, " * 100  # nothing written to it


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--config", "c.toml"],
        ["--config=c.toml", "--operator", "alice", "-v", "--mono", "--low-bandwidth"],
        ["--conf", "c.toml"],  # an abbreviation, as argparse allows
        ["console", "--no-collect"],
        ["--mono", "wall"],
        ["events", "--json"],
        ["version"],
    ],
)
def test_the_console_start_parses_as_the_full_cli_does(argv: list[str]) -> None:
    # `bridge` with only its own options parses them without building the
    # command parsers; the result must be the one the full parser gives.
    from bridge.cli.main import build_parser, parse_args

    assert parse_args(argv) == build_parser().parse_args(argv)


@pytest.mark.parametrize("argv", [["--config"], ["--bogus"], ["--operator"]])
def test_bad_console_options_are_reported_by_the_full_cli(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from bridge.cli.main import parse_args

    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("bridge: ") and "(see bridge --help)" in err, err


# -- bridge's own options after the subcommand too ----------------------------------------
def _help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    from bridge.cli.main import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return capsys.readouterr().out


def _commands_in(help_text: str, title: str) -> list[str]:
    section = help_text.partition(f"\n{title}:\n")[2]
    return re.findall(r"^ {4}([a-z][a-z-]*)(?= |$)", section, flags=re.MULTILINE)


def test_every_subcommand_takes_the_global_options(capsys: pytest.CaptureFixture[str]) -> None:
    """Each command and each of its actions (found in the help, so a new one is covered)."""
    paths: list[list[str]] = []
    for command in _commands_in(_help_of([], capsys), "commands"):
        paths.append([command])
        for title in ("actions", "signals"):
            nested = _commands_in(_help_of([command], capsys), title)
            paths += [[command, action] for action in nested]
    assert ["check-config"] in paths and ["events", "show"] in paths and ["job", "ok"] in paths
    for path in paths:
        usage = _help_of(path, capsys).partition("\n\n")[0]
        for option in ("[--config PATH]", "[--operator NAME]", "[-v]"):
            assert option in usage, (path, usage)


@pytest.mark.parametrize(
    "argv",
    [
        ["check-config", "--config", "c.toml", "--operator", "alice", "-v"],
        ["events", "show", "7", "--config", "c.toml", "--operator", "alice", "-v"],
        ["events", "--config", "c.toml", "list", "--operator", "alice", "--verbose"],
        ["job", "ok", "backup", "--config=c.toml", "--operator=alice", "-v"],
        ["handover", "-v", "--operator", "alice", "--config", "c.toml"],
    ],
)
def test_global_options_after_the_subcommand(argv: list[str]) -> None:
    from bridge.cli.main import parse_args

    args = parse_args(argv)
    assert (args.config, args.operator, args.verbose) == ("c.toml", "alice", True)


def test_global_options_before_the_subcommand_are_kept() -> None:
    from bridge.cli.main import parse_args

    args = parse_args(["--config", "c.toml", "--operator", "alice", "-v", "events", "show", "7"])
    assert (args.config, args.operator, args.verbose) == ("c.toml", "alice", True)
    args = parse_args(["events", "show", "7"])
    assert (args.config, args.operator, args.verbose) == (None, None, False)


def test_check_config_with_config_after_it(isolated: Isolated) -> None:
    path = isolated.write_config("[local]\ninterval = 7\n", name="after.toml")
    result = run_bridge(isolated, "check-config", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert f"config:   {path}" in result.stdout
    assert "every 7 s" in result.stdout


@pytest.mark.parametrize(
    ("env", "args", "part"),
    [
        ({}, ["--operator", "bad\x1b[31mname"], "--operator: 'bad\\x1b[31mname' is not a name"),
        ({"BRIDGE_OPERATOR": "a" * 65}, [], "BRIDGE_OPERATOR: "),
    ],
)
def test_an_operator_name_the_console_refuses_is_refused_here_too(
    isolated: Isolated, env: dict[str, str], args: list[str], part: str
) -> None:
    """`T` refuses a name with control characters or over 64 characters; the command
    line journalled it as given."""
    config, db = events_config(isolated)
    asyncio.run(seed(db))
    before = asyncio.run(journal_of(db))
    result = run_bridge(
        isolated,
        "--config",
        str(config),
        *args,
        "events",
        "note",
        "1",
        "--note",
        "x",
        env={**isolated.env, **env},
    )
    one_error_line(result, part, "at most 64 printable characters")
    assert asyncio.run(journal_of(db)) == before  # nothing journalled


async def journal_of(db: Path) -> list[tuple[str, str]]:
    store = await open_store(db)
    try:
        return [(j.actor, j.action) for j in await store.journal()]
    finally:
        await store.close()
