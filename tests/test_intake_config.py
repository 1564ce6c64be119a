"""`[intake]`: checked like every section, its tokens never shown or echoed."""

from __future__ import annotations

import pytest
from conftest import Isolated, run_bridge

from bridge.config.file import ConfigError, parse_config

TOKEN = "tok-SECRET-abcdefghij-123"
GOOD = f"""\
[intake]
enabled = true
port = 18765

[[intake.tokens]]
name = "backup-hosts"
token = "{TOKEN}"
allow = ["ping"]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.toml")
    return caught.value.lines


def test_the_defaults_are_off_on_loopback() -> None:
    intake = parse_config("", "c.toml").intake
    assert (intake.enabled, intake.address, intake.max_body) == (False, "127.0.0.1", 100_000)
    assert intake.alertmanager.resource_labels == ["instance"]


def test_a_good_section_and_its_token() -> None:
    intake = parse_config(GOOD, "c.toml").intake
    (token,) = intake.tokens
    assert (token.name, token.allow) == ("backup-hosts", ["ping"])
    assert intake.token_for(TOKEN) is token
    assert intake.token_for(TOKEN + "x") is None
    assert TOKEN not in repr(intake)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[intake]\nport = 0\n', "intake.port: must be at least 1"),
        ('[intake]\nenabled = true\n', "intake: enabled, but no [[intake.tokens]]"),
        ('[intake]\ntls_cert = "c.pem"\n', "intake: tls_cert and tls_key go together"),
        ('[intake]\nmax_body = 10\n', "intake.max_body: must be at least 1024"),
        (f'[[intake.tokens]]\nname = "a"\ntoken = "{TOKEN}"\nallow = ["pings"]\n',
         "intake.tokens[0].allow[0]: expected 'ping'"),
        ('[intake.alertmanager]\nseverity_map = { page = "loud" }\n',
         "intake.alertmanager.severity_map.page: expected 'critical'"),
        ('[intake]\nlisten = "0.0.0.0"\n', 'did you mean "address"'),
    ],
)  # fmt: skip
def test_each_mistake_is_one_line_naming_its_key(text: str, where: str) -> None:
    (line,) = problems(text)
    assert where in line, line


@pytest.mark.parametrize(
    "text",
    [
        '[[intake.tokens]]\nname = "a"\ntoken = "short-SECRET"\n',  # too short
        '[[intake.tokens]]\nname = "a"\ntoken = "has spaces SECRET in it ok"\n',
        '[[intake.tokens]]\nname = "a"\ntoken = 12345678901234567890\n',  # not a string
        f'[[intake.tokens]]\nname = "a"\ntoken = "{TOKEN}"\n'
        f'[[intake.tokens]]\nname = "b"\ntoken = "{TOKEN}"\n',  # the same twice
    ],
)
def test_a_bad_token_is_named_but_never_echoed(text: str) -> None:
    (line,) = problems(text)
    assert "intake" in line and "token" in line
    for secret in ("SECRET", "12345678901234567890"):
        assert secret not in line


def test_check_config_names_the_tokens_but_never_shows_them(isolated: Isolated) -> None:
    path = isolated.write_config(GOOD)
    result = run_bridge(isolated, "--config", str(path), "check-config")
    assert result.returncode == 0, result.stderr
    assert "intake:   listening on http://127.0.0.1:18765; tokens backup-hosts (ping)" in (
        result.stdout
    )
    assert TOKEN not in result.stdout + result.stderr
