"""The config records (bridge/config/records.py): cheap to import, errors in plain words.

Importing is checked in a fresh interpreter, as in test_import_hygiene, so
nothing this test process imported can hide a heavy import. The error lines
are pinned in the words of the file's author (TOML's), not Python's types.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import Isolated, config_errors

from bridge.config.file import Config, ConfigError, parse_config
from bridge.config.local import Threshold
from bridge.config.network import DeviceConfig
from bridge.config.records import SecretStr, ValidationError
from bridge.config.schedule import JobConfig

# Importing the config must not pull in these (pydantic and croniter cost ~150 ms
# and ~30 ms of the first screen; the UI libraries are never for the core).
HEAVY = ("pydantic", "pydantic_core", "croniter", "dateutil", "textual", "rich")

PROBE = """\
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def top_level_modules_after(*imports: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *imports],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def test_importing_the_config_pulls_in_no_heavy_library() -> None:
    loaded = top_level_modules_after("bridge.config.file")
    assert "bridge" in loaded  # the probe did import it
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_console_without_jobs_pulls_in_no_cron_library() -> None:
    # `bridge` with no config (one host over SSH) has no schedule to evaluate:
    # croniter and dateutil (~13 ms) wait for the first job or window.
    loaded = top_level_modules_after("bridge.cli.main", "bridge.ui.app")
    assert "textual" in loaded  # the probe did import the console
    assert loaded.isdisjoint({"croniter", "dateutil", "pydantic"}), sorted(loaded)


@pytest.mark.parametrize("heavy", ["croniter", "textual"])
def test_the_import_probe_sees_a_heavy_import(heavy: str) -> None:
    """Negative control: the same probe, plus one heavy import, must report it."""
    assert heavy in top_level_modules_after("bridge.config.file", heavy)


# -- error lines in the file author's words ------------------------------------------
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[[devices]]\nname = "a"\naddress = "h"\nversion = "4"\n',
         "devices[0].version: expected '1', '2c' or '3', got '4'"),
        ('[[devices]]\nname = "' + "n" * 65 + '"\naddress = "h"\n',
         f"devices[0].name: must have at most 64 characters, got '{'n' * 65}'"),
        ('[[devices]]\naddress = "h"\n', "devices[0].name: required key is missing"),
        ("[local]\ntop_processes = 5.5\n",
         "local.top_processes: expected a whole number, got 5.5"),
        ('[local]\nenabled = "maybe"\n', "local.enabled: expected true or false, got 'maybe'"),
        ("[local]\ninterval = 86401\n", "local.interval: must be at most 86400, got 86401"),
        ("[local]\ninterval = nan\n", "local.interval: must be at most 86400, got nan"),
        ("[local]\ninterval = true\n", "local.interval: expected a number, got true"),
        ("[events]\nfresh_seconds = -1\n", "events.fresh_seconds: must be at least 0, got -1"),
        ('[[maintenance]]\nname = "w"\nhosts = []\nschedule = "0 2 * * *"\nduration = 60\n',
         "maintenance[0].hosts: must have at least 1 item, not 0, got a list"),
        ('[[traps.map]]\noid = "1.3.x"\n',
         "traps.map[0].oid: must match the pattern '^\\.?[0-9]+(\\.[0-9]+)*(\\.\\*)?$',"
         " got '1.3.x'"),
        ("devices = 5\n", "devices: expected a list, got 5"),
        ("local = 5\n", "local: expected a table, got 5"),
        ('[ui]\ntheme = ["a"]\n', "ui.theme: expected a string, got a list"),
        ("[calendars.a]\nholidays = [2026-01-01T10:00:00]\n",
         "calendars.a.holidays[0]: expected a date without a time of day, such as 2026-01-31,"
         " got 2026-01-01T10:00:00"),
        ('[store]\npath = 42\n', "store.path: expected a path (a string), got 42"),
    ],
)  # fmt: skip
def test_error_lines_speak_the_file_authors_language(text: str, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.toml")
    assert caught.value.lines == [f"x.toml: {line}"]


def test_a_union_says_once_what_each_member_would_take(isolated: Isolated) -> None:
    lines = config_errors(
        isolated,
        '[[webhooks]]\nname = "w"\nurl = "https://hooks.example/T"\n'
        '[[escalations]]\nname = "e"\ntargets = ["w"]\nafter = [1]\n'
        '[[traps.map]]\noid = "1.3"\nseverity = "bad"\n',
    )
    assert lines == [
        "escalations[0].after: expected a number or a string, got a list",
        "traps.map[0].severity: expected 'critical', 'major', 'minor', 'warning', 'info' or 'ok',"
        " got 'bad'",
    ]


def test_every_problem_in_field_order_then_unknown_keys(isolated: Isolated) -> None:
    lines = config_errors(
        isolated,
        "[local]\nzzz = 1\ntop_processes = -1\ninterval = 0\n"
        '[[devices]]\nname = ""\nport = 0\n'
        "[[rules]]\nfor_ = 2\nfor = -1\n",
    )
    assert lines == [
        "local.interval: must be above 0, got 0",
        "local.top_processes: must be at least 0, got -1",
        "local.zzz: unknown key",
        "devices[0].name: must have at least 1 character, got ''",
        "devices[0].address: required key is missing",
        "devices[0].port: must be at least 1, got 0",
        "rules[0].for: must be at least 0, got -1",
        'rules[0].for_: unknown key (did you mean "for"?)',
    ]


def test_cross_field_rules_wait_for_valid_fields() -> None:
    """A record's own rule (critical >= warning) runs only once its fields are valid."""
    with pytest.raises(ConfigError) as caught:
        parse_config("[local.thresholds.cpu]\nwarning = -5\ncritical = -9\n", "x.toml")
    assert caught.value.lines == [
        "x.toml: local.thresholds.cpu.warning: must be at least 0, got -5",
        "x.toml: local.thresholds.cpu.critical: must be at least 0, got -9",
    ]


# -- TOML values converted as before ----------------------------------------------------
def test_lax_conversions_are_kept() -> None:
    config = parse_config(
        '[local]\ninterval = "5"\nenabled = "yes"\ntop_processes = 7.0\n'
        '[[jobs]]\nname = "j"\nschedule = " 0 2 * * * "\ndepends_on = []\n'
        '[[escalations]]\nname = "e"\ntargets = ["w"]\nafter = "1h"\n'
        '[[webhooks]]\nname = "w"\nurl = " https://hooks.example/x "\n',
        "x.toml",
    )
    assert config.local.interval == 5.0 and isinstance(config.local.interval, float)
    assert config.local.enabled is True
    assert config.local.top_processes == 7 and isinstance(config.local.top_processes, int)
    assert config.jobs[0].schedule == "0 2 * * *"  # stripped by its check
    assert config.escalations[0].after_seconds == 3600
    assert config.webhooks[0].url == "https://hooks.example/x"


# -- the surface callers use -------------------------------------------------------------
def test_records_are_frozen_and_copied_with_updates() -> None:
    config = Config.model_validate({"ui": {"theme": "night"}})
    with pytest.raises(AttributeError):
        config.ui.theme = "day"  # type: ignore[misc]
    changed = config.model_copy(update={"ui": config.ui.model_copy(update={"monochrome": True})})
    assert changed.ui.monochrome and changed.ui.theme == "night"
    assert not config.ui.monochrome  # the original is untouched
    assert changed != config and changed.store is config.store


def test_defaults_are_equal_but_not_shared() -> None:
    one, two = Config(), Config()
    assert one == two
    assert one.devices == [] and one.devices is not two.devices
    assert hash(Threshold(warning=1, critical=2)) == hash(Threshold(warning=1.0, critical=2.0))


def test_model_dump_round_trips_jobs() -> None:
    jobs = [
        JobConfig(name="a", schedule="0 1 * * *", timezone="Europe/Berlin"),
        JobConfig(name="b", schedule="0 2 * * *", depends_on=["a"], maintenance=True),
    ]
    config = Config(jobs=jobs)
    again = Config.model_validate({"jobs": [j.model_dump() for j in config.jobs]})
    assert again.jobs == jobs
    assert jobs[1].model_dump()["depends_on"] == ["a"]


def test_constructor_checks_like_model_validate() -> None:
    with pytest.raises(ValidationError) as caught:
        DeviceConfig(name="", address="h", port=0)
    assert isinstance(caught.value, ValueError)
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        (("name",), "string_too_short"),
        (("port",), "greater_than_equal"),
    ]


def test_secrets_never_show() -> None:
    device = DeviceConfig.model_validate(
        {"name": "a", "address": "h", "community": "c0mmunity-XYZ"}
    )
    assert isinstance(device.community, SecretStr)
    assert device.community.get_secret_value() == "c0mmunity-XYZ"
    for shown in (repr(device), str(device), repr(device.model_dump())):
        assert "c0mmunity-XYZ" not in shown
    assert "**********" in repr(device)
