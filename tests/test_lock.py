"""The lock files: what `make run`, `make test` (and so CI) and `make demo` install.

They must cover pyproject.toml's dependencies (a dependency added without
`make lock` would be missing, as pip installs bridge itself with --no-deps),
pin every package with hashes, agree with each other on every version (the
console run is the console tested), and be what this venv has.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {name: ROOT / "requirements" / f"{name}.lock" for name in ("run", "test", "demo")}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pins(lock: Path) -> dict[str, tuple[str, str | None, int]]:
    """name -> (version, marker, number of hashes)."""
    out: dict[str, tuple[str, str | None, int]] = {}
    name = ""
    for line in lock.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match.group(1))
            out[name] = (match.group(2), match.group(3), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, marker, hashes = out[name]
            out[name] = (version, marker, hashes + 1)
    return out


def applies(marker: str | None) -> bool:
    return marker is None or Marker(marker).evaluate()


def wanted(lock: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    more = extras.get(lock, []) if lock != "run" else []
    return [Requirement(r) for r in [*project["dependencies"], *more]]


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_each_lock_covers_pyproject_and_pins_with_hashes(lock: str) -> None:
    locked = pins(LOCKS[lock])
    assert locked, f"{LOCKS[lock]} pins nothing"
    for requirement in wanted(lock):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock}.lock lacks {requirement}: run `make lock`"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock}.lock has {name}=={version}, pyproject.toml wants {requirement}: `make lock`"
        )
    for pinned, (version, _, hashes) in locked.items():
        assert hashes >= 1, f"{lock}.lock: {pinned}=={version} has no hash"
    assert {"textual", "rich"} <= locked.keys()


def test_the_locks_agree_on_every_version() -> None:
    test = pins(LOCKS["test"])
    for lock in ("run", "demo"):
        for name, (version, _, _) in pins(LOCKS[lock]).items():
            assert test.get(name, (version,))[0] == version, (lock, name, version, test[name])


def test_this_venv_has_the_locked_versions() -> None:
    """The tests run on what the lock says, Textual and Rich above all."""
    wrong = {
        name: (version, installed)
        for name, (version, marker, _) in pins(LOCKS["test"]).items()
        if applies(marker) and (installed := metadata.version(name)) != version
    }
    assert not wrong, f"installed versions differ from requirements/test.lock: {wrong}"
