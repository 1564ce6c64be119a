"""Config: every malformed case through the real CLI in a subprocess.

Each bad file must give exit status 2 and exactly one `bridge: ` line per
problem on stderr, naming the file and the key, never a traceback.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import Isolated, run_bridge

from bridge.config.file import Config, ConfigError, load_config, parse_config

VALID = """\
[store]
sample_retention_hours = 12

[local]
interval = 5

[[devices]]
name = "core-sw1"
address = "192.0.2.10"
community = "s3cr3t-community-XYZ"

[[devices]]
name = "edge-rtr"
address = "192.0.2.20"
port = 1161
version = "3"
user = "monitor"
auth_protocol = "SHA"
auth_key = "auth-key-SECRET-123"
priv_protocol = "AES"
priv_key = "priv-key-SECRET-456"

[operator]
name = "alice"
"""


def assert_problems(result: subprocess.CompletedProcess[str], count: int) -> list[str]:
    """Exit 2, `count` lines each starting `bridge: `, no traceback; return the lines."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == count, lines
    for line in lines:
        assert line.startswith("bridge: "), line
    return lines


def check(isolated: Isolated, path: Path | str) -> subprocess.CompletedProcess[str]:
    return run_bridge(isolated, "--config", str(path), "check-config")


# -- malformed files, one by one ------------------------------------------------------
def test_toml_syntax_error_names_file_line_and_column(isolated: Isolated) -> None:
    path = isolated.write_config("[local]\ninterval = 2\nthis is not toml\n")
    (line,) = assert_problems(check(isolated, path), 1)
    assert f"{path}:3:" in line
    assert "config.toml:3:6:" in line  # the column tomllib reports
    assert "invalid TOML" in line


def test_unterminated_toml_at_end_of_document_still_has_a_position(isolated: Isolated) -> None:
    path = isolated.write_config('[local]\ninterval = "2')
    (line,) = assert_problems(check(isolated, path), 1)
    assert f"{path}:2:" in line


def test_unknown_key_names_its_path(isolated: Isolated) -> None:
    path = isolated.write_config('[[devices]]\nname = "a"\naddress = "h"\nbogus = 1\n')
    (line,) = assert_problems(check(isolated, path), 1)
    assert str(path) in line
    assert "devices[0].bogus" in line
    assert "unknown key" in line


def test_unknown_top_level_section(isolated: Isolated) -> None:
    path = isolated.write_config("[nonsense]\nx = 1\n")
    (line,) = assert_problems(check(isolated, path), 1)
    assert ": nonsense: unknown key" in line


def test_negative_interval(isolated: Isolated) -> None:
    path = isolated.write_config("[local]\ninterval = -1\n")
    (line,) = assert_problems(check(isolated, path), 1)
    assert str(path) in line
    assert "local.interval" in line
    assert "must be above 0, got -1" in line


def test_duplicate_device_name(isolated: Isolated) -> None:
    path = isolated.write_config(
        '[[devices]]\nname = "sw1"\naddress = "a"\n\n[[devices]]\nname = "sw1"\naddress = "b"\n'
    )
    (line,) = assert_problems(check(isolated, path), 1)
    assert str(path) in line
    assert "devices" in line
    assert "duplicate device name 'sw1'" in line


def test_device_port_out_of_range(isolated: Isolated) -> None:
    path = isolated.write_config(
        '[[devices]]\nname = "a"\naddress = "h"\n\n'
        '[[devices]]\nname = "b"\naddress = "h"\nport = 70000\n'
    )
    (line,) = assert_problems(check(isolated, path), 1)
    assert str(path) in line
    assert "devices[1].port" in line
    assert "65535" in line  # what is allowed


def test_several_problems_give_one_line_each(isolated: Isolated) -> None:
    path = isolated.write_config(
        '[local]\ninterval = -1\nbogus = true\n\n[[devices]]\nname = "a"\naddress = "h"\nport = 0\n'
    )
    lines = assert_problems(check(isolated, path), 3)
    joined = "\n".join(lines)
    for key in ("local.interval", "local.bogus", "devices[0].port"):
        assert key in joined
    for line in lines:
        assert str(path) in line


def test_missing_config_file(isolated: Isolated) -> None:
    path = isolated.root / "nope.toml"
    (line,) = assert_problems(check(isolated, path), 1)
    assert str(path) in line
    assert "not found" in line


def test_config_path_is_a_directory(isolated: Isolated) -> None:
    folder = isolated.root / "a-folder.toml"
    folder.mkdir()
    (line,) = assert_problems(check(isolated, folder), 1)
    assert str(folder) in line
    assert "directory" in line


def test_store_path_under_a_regular_file(isolated: Isolated) -> None:
    blocker = isolated.root / "blocker"
    blocker.write_text("I am a file, not a folder\n")
    path = isolated.write_config(f'[store]\npath = "{blocker / "bridge.db"}"\n')
    result = run_bridge(isolated, "--config", str(path), "events")
    (line,) = assert_problems(result, 1)
    assert str(blocker / "bridge.db") in line
    assert "store" in line


def test_store_that_is_not_a_database(isolated: Isolated) -> None:
    # Also guards against the CLI hanging on a half-opened store (bounded by CLI_TIMEOUT).
    db = isolated.root / "garbage.db"
    db.write_bytes(b"this is not an SQLite file " * 100)
    path = isolated.write_config(f'[store]\npath = "{db}"\n')
    (line,) = assert_problems(run_bridge(isolated, "--config", str(path), "events"), 1)
    assert str(db) in line
    assert "not a database" in line


def test_bridge_config_env_var_picks_the_file(isolated: Isolated) -> None:
    bad = isolated.write_config("[local]\ninterval = -5\n", name="from-env.toml")
    env = {**isolated.env, "BRIDGE_CONFIG": str(bad)}
    (line,) = assert_problems(run_bridge(isolated, "check-config", env=env), 1)
    assert "from-env.toml" in line
    assert "local.interval" in line

    good = isolated.write_config(VALID, name="good-from-env.toml")
    env = {**isolated.env, "BRIDGE_CONFIG": str(good)}
    result = run_bridge(isolated, "check-config", env=env)
    assert result.returncode == 0, result.stderr
    assert str(good) in result.stdout


def test_explicit_config_beats_the_env_var(isolated: Isolated) -> None:
    bad = isolated.write_config("[local]\ninterval = -5\n", name="from-env.toml")
    good = isolated.write_config(VALID, name="explicit.toml")
    env = {**isolated.env, "BRIDGE_CONFIG": str(bad)}
    result = run_bridge(isolated, "--config", str(good), "check-config", env=env)
    assert result.returncode == 0, result.stderr


# -- good files -------------------------------------------------------------------------
def test_valid_config_summary_and_no_secrets(isolated: Isolated) -> None:
    path = isolated.write_config(VALID)
    result = check(isolated, path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert str(path) in out
    assert "devices:  2" in out
    assert "core-sw1" in out
    assert "edge-rtr" in out
    assert "192.0.2.20:1161" in out
    assert "every 5 s" in out
    assert "config is valid" in out
    for secret in ("s3cr3t-community-XYZ", "auth-key-SECRET-123", "priv-key-SECRET-456"):
        assert secret not in out
        assert secret not in result.stderr


def test_secret_of_wrong_type_is_not_echoed(isolated: Isolated) -> None:
    path = isolated.write_config('[[devices]]\nname = "a"\naddress = "h"\ncommunity = 987654321\n')
    (line,) = assert_problems(check(isolated, path), 1)
    assert "devices[0].community" in line
    assert "987654321" not in line


def test_no_config_at_all_uses_defaults(isolated: Isolated) -> None:
    assert not (isolated.config_home / "bridge" / "config.toml").exists()
    result = run_bridge(isolated, "check-config")
    assert result.returncode == 0, result.stderr
    assert "built-in defaults" in result.stdout
    assert "devices:  0" in result.stdout
    # The default store lives under XDG_DATA_HOME.
    assert str(isolated.data_home / "bridge" / "bridge.db") in result.stdout


def test_xdg_config_file_is_found(isolated: Isolated) -> None:
    folder = isolated.config_home / "bridge"
    folder.mkdir()
    (folder / "config.toml").write_text("[local]\ninterval = 7\n")
    result = run_bridge(isolated, "check-config")
    assert result.returncode == 0, result.stderr
    assert str(folder / "config.toml") in result.stdout
    assert "every 7 s" in result.stdout


# -- the loader in-process --------------------------------------------------------------
def test_load_config_without_file_returns_defaults(isolated: Isolated) -> None:
    config, path = load_config(None)
    assert path is None
    assert config == Config()
    assert config.local.enabled
    assert config.store.resolved_path() == isolated.data_home / "bridge" / "bridge.db"


def test_parse_config_lines_name_source_and_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            "[local]\ninterval = 0\n[local.thresholds.cpu]\nwarning = 90\ncritical = 80\n", "x.toml"
        )
    lines = info.value.lines
    assert len(lines) == 2, lines
    assert all(line.startswith("x.toml: ") for line in lines)
    assert any("local.interval" in line for line in lines)
    assert any("local.thresholds.cpu" in line and "critical" in line for line in lines)


def test_snmp_v3_requires_user() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config('[[devices]]\nname = "a"\naddress = "h"\nversion = "3"\n', "x.toml")
    assert info.value.lines == ["x.toml: devices[0]: SNMPv3 needs 'user'"]


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.com/T0KEN-path?key=T0KEN-query", "http://[T0KEN-path/x", "http:///T0KEN"],
)
def test_bad_webhook_url_error_does_not_echo_its_path_or_token(url: str) -> None:
    """A webhook URL's path and query are its credential: an error names the key, not them."""
    with pytest.raises(ConfigError) as info:
        parse_config(f'[[webhooks]]\nname = "x"\nurl = "{url}"\n', "x.toml")
    (line,) = info.value.lines
    assert line.startswith("x.toml: webhooks[0].url: ") and "T0KEN" not in line, line


@pytest.mark.parametrize("key", ["auth_key", "priv_key"])
def test_short_snmp_v3_device_key_is_a_config_error(key: str) -> None:
    """SNMPv3 keys shorter than 8 characters cannot work: say so at load, without the key."""
    keys = {"auth_key": "long-enough-1", "priv_key": "long-enough-2"} | {key: "short7!"}
    with pytest.raises(ConfigError) as info:
        parse_config(
            '[[devices]]\nname = "a"\naddress = "h"\nversion = "3"\nuser = "u"\n'
            f'auth_protocol = "SHA"\nauth_key = "{keys["auth_key"]}"\n'
            f'priv_protocol = "AES"\npriv_key = "{keys["priv_key"]}"\n',
            "x.toml",
        )
    assert info.value.lines == [f"x.toml: devices[0]: {key} must be at least 8 characters"]


def test_ui_bell_is_off_major_or_critical() -> None:
    assert parse_config("", "x.toml").ui.bell == "critical"
    assert parse_config('[ui]\nbell = "major"\n', "x.toml").ui.bell == "major"
    with pytest.raises(ConfigError) as info:
        parse_config('[ui]\nbell = "loud"\n', "x.toml")
    (line,) = info.value.lines
    assert line.startswith("x.toml: ui.bell: ") and "'critical'" in line and "loud" in line


# -- every problem of the file in one run -----------------------------------------------
def test_every_kind_of_problem_is_reported_in_one_run(isolated: Isolated) -> None:
    """Field errors, names repeated or referring to nothing, and the theme: all at once,
    before any summary (an operator fixes the file once, not once per kind)."""
    path = isolated.write_config(
        '[[devices]]\nname = "sw1"\naddress = "a"\nport = 70000\n'
        '[[devices]]\nname = "sw1"\naddress = "b"\n'
        '[[jobs]]\nname = "a"\nschedule = "61 * * * *"\ndepends_on = ["ghost"]\n'
        'calendar = "nope"\n'
        '[[webhooks]]\nname = "w"\nurl = "https://hooks.example/T"\n'
        '[[escalations]]\nname = "e"\ntargets = ["x"]\n'
        '[ui]\ntheme = "no-such-theme"\n'
    )
    result = check(isolated, path)
    lines = [line.removeprefix(f"bridge: {path}: ") for line in assert_problems(result, 7)]
    assert result.stdout == ""  # no summary of a file that is not valid
    lines[-1] = lines[-1][: lines[-1].index(" nord, ") + len(" nord, ")]
    assert lines == [
        "devices[0].port: must be at most 65535, got 70000",
        "jobs[0].schedule: invalid cron expression '61 * * * *'",
        "devices: duplicate device name 'sw1' (devices[0] and [1])",
        "jobs[0].depends_on[0]: unknown job 'ghost'",
        "jobs[0].calendar: job 'a': unknown calendar 'nope' (known: none defined)",
        "escalations[0].targets[0]: unknown webhook 'x'",
        "ui.theme: unknown theme 'no-such-theme' (available: bridge-dark, bridge-light,"
        " bridge-contrast, bridge-colorblind, textual-dark, textual-light, nord, ",
    ]


def test_an_unknown_theme_alone_prints_no_summary(isolated: Isolated) -> None:
    path = isolated.write_config('[ui]\ntheme = "bridge-drak"\n')
    result = check(isolated, path)
    (line,) = assert_problems(result, 1)
    assert result.stdout == ""
    assert "ui.theme: unknown theme 'bridge-drak' (did you mean \"bridge-dark\"?" in line


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[[jobs]]\nname = "j"\ncron = "0 2 * * *"\n',
         'jobs[0].cron: unknown key (did you mean "schedule"?)'),
        ('[[devices]]\nname = "d"\nadress = "h"\n',
         'devices[0].adress: unknown key (did you mean "address"?)'),
        ("[local]\nintervall = 5\n", 'local.intervall: unknown key (did you mean "interval"?)'),
        ("[local]\nzzz = 5\n", "local.zzz: unknown key"),
    ],
)  # fmt: skip
def test_an_unknown_key_close_to_a_known_one_suggests_it(text: str, line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    assert f"x.toml: {line}" in info.value.lines


def test_an_unknown_theme_is_one_bounded_line_however_many_themes_there_are() -> None:
    """Found by tests/test_config_fuzz.py: with Textual's themes the list ran past
    any terminal's width."""
    themes = [f"theme-number-{i}" for i in range(60)]
    with pytest.raises(ConfigError) as info:
        parse_config('[ui]\ntheme = ""\n', "x.toml", themes)
    (line,) = info.value.lines
    assert line.startswith("x.toml: ui.theme: unknown theme ''") and len(line) <= 320, line
    assert line.endswith("…")
