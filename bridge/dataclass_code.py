"""Compiled dataclass methods kept between runs of `bridge`.

On Python 3.11 each dataclass costs a compile of the source text of every
method it generates (`__init__`, `__repr__`, `__eq__`, and for frozen ones
`__setattr__`, `__delattr__`, `__hash__`): the console's start creates ~66
dataclasses (22 of bridge's, the rest Textual's and Rich's), ~65 ms of a first
screen of ~0.55 s. The text is the same every run, so the code compiled from it
can be kept, as Python keeps a module's in `__pycache__`.

`install()` gives the `dataclasses` module an `exec` of its own that runs the
code kept for a source text, compiling (exactly as `exec` would) only what is
new; `exec` of a string and of the code compiled from it do the same. At exit
the new code is written to `$XDG_CACHE_HOME/bridge/`, one file per Python
build (marshal's format and the bytecode are both version-specific). A file
from another build, not ours alone, or unreadable is ignored and written again.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import marshal
import os
import sys
import tempfile
import zlib
from pathlib import Path
from types import CodeType
from typing import Any

from bridge.paths import cache_dir

__all__ = ["install"]

_BUILD = f"{sys.implementation.cache_tag}-{sys.version}"
_exec = builtins.exec


class _Kept:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[str, CodeType] = _read(path)
        self.new = 0

    def exec(
        self,
        source: Any,
        globals: dict[str, Any] | None = None,
        locals: Any = None,
        /,
    ) -> None:
        if isinstance(source, str):
            code = self.codes.get(source)
            if code is None:
                # As exec compiles a string: dataclasses has no __future__ flags to pass on.
                code = compile(source, "<string>", "exec", dont_inherit=True)
                self.codes[source] = code
                self.new += 1
            source = code
        _exec(source, globals, locals)

    def save(self) -> None:
        if self.new:
            _write(self.path, self.codes)


def _file() -> Path:
    # The name only spreads builds over files; the build inside decides.
    build = zlib.crc32(_BUILD.encode())
    return cache_dir() / f"dataclasses-{sys.implementation.cache_tag}-{build:08x}.marshal"


def _read(path: Path) -> dict[str, CodeType]:
    try:
        with path.open("rb") as file:
            info = os.fstat(file.fileno())
            # Loading code runs it: only our own file, writable by us alone.
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return {}
            data = marshal.loads(file.read())  # load(file) reads object by object: ~7x slower
        if data["build"] != _BUILD:
            return {}
        codes = data["codes"]
        if all(isinstance(k, str) and isinstance(v, CodeType) for k, v in codes.items()):
            return dict(codes)
    except Exception:  # missing, unreadable or corrupt: compile as usual
        pass
    return {}


def _write(path: Path, codes: dict[str, CodeType]) -> None:
    with contextlib.suppress(OSError, ValueError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=".dataclasses-", suffix=".tmp")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(marshal.dumps({"build": _BUILD, "codes": codes}))
            tmp.replace(path)  # readers see the old file or the new, never half
        finally:
            tmp.unlink(missing_ok=True)


def install() -> bool:
    """Serve dataclasses' compiles from the kept code from now on, and keep what
    this run compiles anew; False (nothing changed) if dataclasses already has
    an `exec` of its own."""
    if "exec" in vars(dataclasses):
        return False
    kept = _Kept(_file())
    dataclasses.exec = kept.exec  # type: ignore[attr-defined]
    atexit.register(kept.save)
    return True
