"""Malformed config files: whatever is in the file, `check-config` answers with one
line per problem naming the file and exit 2 (or accepts it), never a traceback.

The property test starts from the documents' example configs and mutates their
bytes, lines, values and value types, and runs the CLI's own `main` in this
process (a subprocess per example would cost seconds); the subprocess tests
below drive the real `bridge` command with the worst of what it found.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import Isolated, one_error_line, run_bridge
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / "README.md", ROOT / "docs" / "configuration.md"]


def _example_configs() -> list[str]:
    """The ```toml blocks of the README and the configuration reference that are
    configs (one is a theme file)."""
    blocks = [
        block
        for path in EXAMPLES
        for block in re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    ]
    configs = [b for b in blocks if not b.startswith("name = ")]
    assert len(configs) >= 3, "the example configs moved"
    return configs


SEEDS = _example_configs()
SEED_TABLES = [tomllib.loads(text) for text in SEEDS]


# -- a small TOML writer, so typed values can be swapped into a parsed example ----------
def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's too
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(table: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in table.items())


# -- what goes into a file -------------------------------------------------------------
NASTY_TEXT = st.sampled_from(
    ["", " ", "\x00", "\x1b[31m", "\n", "a\u2028b", "../../etc", "*", "1e999", "99:99", "Ω" * 70]
)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    NASTY_TEXT,
    st.datetimes(timezones=st.sampled_from([None, datetime.UTC])),
    st.dates(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
# Literals a hand-written file can hold that the writer above never makes.
RAW_LITERALS = st.one_of(
    VALUES.map(toml_value),
    st.integers(min_value=4000, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=3000).map(lambda n: "{a = " * n + "1" + "}" * n),
    st.sampled_from(
        ['"\\uD800"', '"\\U0010FFFF"', "1979-02-30", "24:00:00", "0x_1", "+nan", "1__0", '"""']
    ),
)
SPECIAL_BYTES = st.sampled_from(list(b"\x00\xff\xc3\xef\x80[]{}=\"'\n\r\t#.\\"))


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)).encode())
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        byte = draw(st.one_of(SPECIAL_BYTES, st.integers(0, 255)))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        if kind == "insert" or at == len(data):
            data.insert(at, byte)
        elif kind == "replace":
            data[at] = byte
        else:
            del data[at]
    return bytes(data)


@st.composite
def mutated_lines(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from(SEEDS)).splitlines()
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "key", "insert"]))
        key, sep, _old = lines[at].partition("=")
        if kind == "delete" and len(lines) > 1:
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "value" and sep:
            lines[at] = f"{key}= {draw(RAW_LITERALS)}"
        elif kind == "key" and sep:
            lines[at] = f"{json.dumps(draw(st.text(max_size=12)))} ={_old}"
        else:
            header = draw(st.sampled_from(["[{}]", "[[{}]]", "{} = 1"]))
            lines.insert(at, header.format(draw(st.sampled_from(["local", "devices", "x", ""]))))
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@st.composite
def retyped_values(draw: st.DrawFn) -> bytes:
    """A parsed example with some of its values replaced by values of other types."""

    def retype(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: retype(v) for k, v in value.items()}
        if isinstance(value, list) and draw(st.booleans()):
            return [retype(v) for v in value]
        return draw(VALUES) if draw(st.integers(0, 3)) == 0 else value

    table = retype(draw(st.sampled_from(SEED_TABLES)))
    return toml_document(table).encode("utf-8", "surrogatepass")


CONFIG_FILES = st.one_of(
    mutated_bytes(),
    mutated_lines(),
    retyped_values(),
    st.binary(max_size=200),
)


def run_check_config(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["--config", str(path), "check-config"])
    out, err = capsys.readouterr()
    return code, out, err


# The same 200 files each run (derandomize): a suite run in CI decides on the code,
# not on the luck of the draw; a wider search is one edit of max_examples away.
@settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(CONFIG_FILES)
def test_any_config_file_is_accepted_or_refused_in_lines_naming_it(
    isolated: Isolated, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    path = isolated.root / "fuzzed.toml"
    path.write_bytes(data)
    code, out, err = run_check_config(path, capsys)
    if code == 0:
        assert out.endswith("config is valid\n") and not err, (out, err)
        return
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert lines and not out, (out, err)
    for line in lines:
        assert line.startswith(f"bridge: {path}"), line
        assert len(line) <= 450, line


# -- the real command, on what the property test taught ------------------------------
MALFORMED: dict[str, tuple[bytes, str]] = {
    "nested arrays": (b"[local]\ninterval = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested"),
    "nested tables": (b"x = " + b"{a = " * 3000 + b"1" + b"}" * 3000 + b"\n", "nested"),
    "5000 digits": (b"[local]\ninterval = " + b"9" * 5000 + b"\n", ":2:12: "),
    "too big for a float": (b"[local]\ninterval = " + b"9" * 400 + b"\n", "local.interval"),
    "NUL in a path": (b'[store]\npath = "/tmp/a\\u0000b.db"\n', "store.path"),
    "bad UTF-8": (b'[operator]\nname = "al\xffce"\n', ":2:11: "),
    "NUL byte": (b"[local]\x00\n", ":1:8: "),
    "newline in a key": (b'"a\\nb" = 1\n', "a b"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_check_config_and_the_console_refuse_malformed_files(isolated: Isolated, case: str) -> None:
    data, where = MALFORMED[case]
    path = isolated.root / "bad.toml"
    path.write_bytes(data)
    for command in (["check-config"], []):  # [] is `bridge` itself: the console
        result = run_bridge(isolated, "--config", str(path), *command)
        one_error_line(result, str(path), where)


def test_default_config_path_that_cannot_be_looked_up_is_one_line(isolated: Isolated) -> None:
    """Looking for the default file can fail too (here: a folder name over the
    file system's limit), not only reading a named one: one line for the file
    (and one for the themes folder beside it, which check-config reads too)."""
    env = {**isolated.env, "XDG_CONFIG_HOME": str(isolated.root / ("x" * 300))}
    result = run_bridge(isolated, "check-config", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith("bridge: ") for line in lines), lines
    assert any("config.toml" in line and "name too long" in line for line in lines), lines
    assert any("themes" in line and "name too long" in line for line in lines), lines


def test_oversized_file_is_refused_unread(isolated: Isolated) -> None:
    path = isolated.root / "huge.toml"
    with path.open("wb") as f:
        f.write(b"# padding\n" * (5 * 1024 * 1024 // 10))
    one_error_line(run_bridge(isolated, "--config", str(path), "check-config"), "larger than")


def test_byte_order_mark_is_not_a_mistake(isolated: Isolated) -> None:
    path = isolated.root / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[local]\ninterval = 7\n")
    result = run_bridge(isolated, "--config", str(path), "check-config")
    assert result.returncode == 0, result.stderr
    assert "every 7 s" in result.stdout


def test_theme_file_is_held_to_the_same_parsing(isolated: Isolated) -> None:
    themes = isolated.config_home / "bridge" / "themes"
    themes.mkdir(parents=True)
    theme = themes / "deep.toml"
    theme.write_bytes(b"name = " + b"[" * 5000 + b"]" * 5000 + b"\n")
    one_error_line(run_bridge(isolated, "check-config"), str(theme), "nested too deeply")
