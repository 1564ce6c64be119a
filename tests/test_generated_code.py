"""Kept generated code: the same dataclasses and named tuples, from a file only we wrote."""

from __future__ import annotations

import json
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from bridge import generated_code

# Defines dataclasses and named tuples of every kind bridge and its libraries use,
# prints how they behave, and how many method texts this run compiled (None: the
# kept code is not installed).
PROBE = """\
import collections, dataclasses, inspect, json, sys, typing
if sys.argv[1] == "kept":
    from bridge import generated_code
    generated_code.install()
from dataclasses import dataclass, field

@dataclass(frozen=True, slots=True)
class Event:
    id: int
    summary: str
    value: float | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

@dataclass
class Health:
    runs: int = 0
    errors: int = 0

Point = collections.namedtuple("Point", "x y", defaults=[0])

class Span(typing.NamedTuple):
    start: int
    end: int = 1

e = Event(1, "disk full", tags=("a",))
try:
    e.summary = "x"
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
h = Health()
h.runs += 1
kept = vars(dataclasses).get("exec")
print(json.dumps({
    "repr": [repr(e), repr(h)],
    "eq": [e == Event(1, "disk full", tags=("a",)), e == Event(2, "disk full")],
    "hash": hash(e) == hash(Event(1, "disk full", tags=("a",))),
    "frozen": frozen,
    "replace": repr(dataclasses.replace(e, value=2.5)),
    "signature": [str(inspect.signature(Event)), str(inspect.signature(Health))],
    "annotations": repr(Event.__init__.__annotations__),
    "slots": list(Event.__slots__),
    "tuples": [repr(Point(1)), repr(Span(2)), Span(2)._replace(end=5) == (2, 5)],
    "compiled": None if kept is None else kept.__self__.new,
}))
"""


def probe(mode: str, cache: Path) -> dict[str, object]:
    env = {"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_kept_code_makes_the_same_dataclasses(tmp_path: Path) -> None:
    plain = probe("plain", tmp_path)
    first = probe("kept", tmp_path)
    second = probe("kept", tmp_path)
    assert plain.pop("compiled") is None
    assert first.pop("compiled") > 0  # type: ignore[operator]
    assert second.pop("compiled") == 0  # every method's code came from the file
    assert first == plain
    assert second == plain
    (kept,) = (tmp_path / "bridge").glob("generated-*.marshal")
    assert kept.stat().st_mode & 0o077 == 0  # ours alone


def kept_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    probe("kept", tmp_path)
    path = generated_code._file()
    assert generated_code._read(path)  # a good file reads back
    return path


def test_a_file_from_another_python_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kept_file(tmp_path, monkeypatch)
    data = marshal.loads(path.read_bytes())
    path.write_bytes(marshal.dumps({**data, "build": "cpython-399-elsewhere"}))
    assert generated_code._read(path) == {}


def test_a_file_others_could_write_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kept_file(tmp_path, monkeypatch)
    path.chmod(0o664)  # loading code runs it: a group-writable file is not trusted
    assert generated_code._read(path) == {}


def test_a_cut_short_file_is_ignored_and_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kept_file(tmp_path, monkeypatch)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    assert generated_code._read(path) == {}
    assert probe("kept", tmp_path)["compiled"] > 0  # type: ignore[operator]
    assert generated_code._read(path)  # whole again


def test_what_is_kept_is_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(generated_code, "MAX_KEPT", 3)
    kept = generated_code._Kept(generated_code._file())
    for n in range(10):
        assert kept.eval(f"{n} + 1", {}) == n + 1  # still compiled and run ...
    assert len(kept.codes) == 3  # ... but only the first three kept
    kept.save()
    assert len(generated_code._read(generated_code._file())) == 3
