"""The config records (bridge/config_model.py): cheap to import, pydantic's wording kept.

Importing is checked in a fresh interpreter, as in test_import_hygiene, so
nothing this test process imported can hide a heavy import. The error lines
are pinned as operators saw them before the config left pydantic.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import Isolated, config_errors

from bridge.config import Config, ConfigError, DeviceConfig, JobConfig, Threshold, parse_config
from bridge.config_model import SecretStr, ValidationError

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
    loaded = top_level_modules_after("bridge.config")
    assert "bridge" in loaded  # the probe did import it
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_console_without_jobs_pulls_in_no_cron_library() -> None:
    # `bridge` with no config (one host over SSH) has no schedule to evaluate:
    # croniter and dateutil (~13 ms) wait for the first job or window.
    loaded = top_level_modules_after("bridge.cli", "bridge.ui.app")
    assert "textual" in loaded  # the probe did import the console
    assert loaded.isdisjoint({"croniter", "dateutil", "pydantic"}), sorted(loaded)


@pytest.mark.parametrize("heavy", ["croniter", "textual"])
def test_the_import_probe_sees_a_heavy_import(heavy: str) -> None:
    """Negative control: the same probe, plus one heavy import, must report it."""
    assert heavy in top_level_modules_after("bridge.config", heavy)


# -- error lines as pydantic worded them ------------------------------------------------
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[[devices]]\nname = "a"\naddress = "h"\nversion = "4"\n',
         "devices[0].version: Input should be '1', '2c' or '3' (got '4')"),
        ('[[devices]]\nname = "' + "n" * 65 + '"\naddress = "h"\n',
         f"devices[0].name: String should have at most 64 characters (got '{'n' * 65}')"),
        ('[[devices]]\naddress = "h"\n', "devices[0].name: Field required"),
        ("[local]\ntop_processes = 5.5\n",
         "local.top_processes: Input should be a valid integer, got a number with a fractional"
         " part (got 5.5)"),
        ('[local]\nenabled = "maybe"\n',
         "local.enabled: Input should be a valid boolean, unable to interpret input"
         " (got 'maybe')"),
        ("[local]\ninterval = 86401\n",
         "local.interval: Input should be less than or equal to 86400 (got 86401)"),
        ("[local]\ninterval = nan\n",
         "local.interval: Input should be less than or equal to 86400 (got nan)"),
        ("[events]\nfresh_seconds = -1\n",
         "events.fresh_seconds: Input should be greater than or equal to 0 (got -1)"),
        ('[[maintenance]]\nname = "w"\nhosts = []\nschedule = "0 2 * * *"\nduration = 60\n',
         "maintenance[0].hosts: List should have at least 1 item after validation, not 0"),
        ('[[traps.map]]\noid = "1.3.x"\n',
         "traps.map[0].oid: String should match pattern '^\\.?[0-9]+(\\.[0-9]+)*(\\.\\*)?$'"
         " (got '1.3.x')"),
        ("devices = 5\n", "devices: Input should be a valid list (got 5)"),
        ("local = 5\n", "local: Input should be a valid dictionary or instance of LocalConfig"
         " (got 5)"),
        ("[calendars.a]\nholidays = [2026-01-01T10:00:00]\n",
         "calendars.a.holidays[0]: Datetimes provided to dates should have zero time - e.g. be"
         " exact dates (got datetime.datetime(2026, 1, 1, 10, 0))"),
        ('[store]\npath = 5\n',
         "store.path: Input is not a valid path for <class 'pathlib.Path'> (got 5)"),
    ],
)  # fmt: skip
def test_error_lines_keep_their_wording(text: str, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.toml")
    assert caught.value.lines == [f"x.toml: {line}"]


def test_a_union_names_each_member_that_refused(isolated: Isolated) -> None:
    lines = config_errors(
        isolated,
        '[[webhooks]]\nname = "w"\nurl = "https://hooks.example/T"\n'
        '[[escalations]]\nname = "e"\ntargets = ["w"]\nafter = [1]\n'
        '[[traps.map]]\noid = "1.3"\nseverity = "bad"\n',
    )
    assert lines == [
        "escalations[0].after.float: Input should be a valid number",
        "escalations[0].after.str: Input should be a valid string",
        "traps.map[0].severity.literal['critical','major','minor','warning','info']: Input"
        " should be 'critical', 'major', 'minor', 'warning' or 'info' (got 'bad')",
        "traps.map[0].severity.literal['ok']: Input should be 'ok' (got 'bad')",
    ]


def test_every_problem_in_field_order_then_unknown_keys(isolated: Isolated) -> None:
    lines = config_errors(
        isolated,
        "[local]\nzzz = 1\ntop_processes = -1\ninterval = 0\n"
        '[[devices]]\nname = ""\nport = 0\n'
        "[[rules]]\nfor_ = 2\nfor = -1\n",
    )
    assert lines == [
        "local.interval: Input should be greater than 0 (got 0)",
        "local.top_processes: Input should be greater than or equal to 0 (got -1)",
        "local.zzz: unknown key",
        "devices[0].name: String should have at least 1 character (got '')",
        "devices[0].address: Field required",
        "devices[0].port: Input should be greater than or equal to 1 (got 0)",
        "rules[0].for: Input should be greater than or equal to 0 (got -1)",
        "rules[0].for_: unknown key",
    ]


def test_cross_field_rules_wait_for_valid_fields() -> None:
    """A record's own rule (critical >= warning) runs only once its fields are valid."""
    with pytest.raises(ConfigError) as caught:
        parse_config("[local.thresholds.cpu]\nwarning = -5\ncritical = -9\n", "x.toml")
    assert caught.value.lines == [
        "x.toml: local.thresholds.cpu.warning: Input should be greater than or equal to 0 (got -5)",
        "x.toml: local.thresholds.cpu.critical: Input should be greater than or equal to 0"
        " (got -9)",
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
