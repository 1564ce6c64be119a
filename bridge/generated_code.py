"""The compiled code of generated methods, kept between runs of `bridge`.

On Python 3.11 each dataclass compiles the source text of every method it
generates (`__init__`, `__repr__`, `__eq__`, and for frozen ones `__setattr__`,
`__delattr__`, `__hash__`), and each named tuple its `__new__`. The console's
start creates ~66 dataclasses and ~100 named tuples (bridge's, psutil's,
Textual's and Rich's): ~75 ms of compiling in a first screen of ~0.55 s. The
texts are the same every run, so the code compiled from them can be kept, as
Python keeps a module's in `__pycache__`.

`install()` gives the `dataclasses` module an `exec` and `collections` an
`eval` of their own, which run the code kept for a source text and compile
(exactly as `exec` and `eval` would) only what is new: running a string and
the code compiled from it do the same. At exit the new code is written to
`$XDG_CACHE_HOME/bridge/`, one file per Python build (marshal's format and the
bytecode are version-specific). A file from another build, not ours alone, or
unreadable is ignored and written again.
"""

from __future__ import annotations

import atexit
import builtins
import collections
import dataclasses
import marshal
import sys
import zlib
from pathlib import Path
from types import CodeType
from typing import Any

from bridge.cache_files import read_private, write_private
from bridge.paths import cache_dir

__all__ = ["install"]

_BUILD = f"{sys.implementation.cache_tag}-{sys.version}"
# A console start keeps ~340; classes made at run time from varying text must not grow
# the file (or a long-running poller's memory) without bound.
MAX_KEPT = 4000
_exec = builtins.exec
_eval = builtins.eval


class _Kept:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[str, CodeType] = _read(path)
        self.new = 0

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        _exec(self._code(source, "exec"), globals, locals)

    def eval(self, source: Any, globals: Any = None, locals: Any = None, /) -> Any:
        return _eval(self._code(source, "eval"), globals, locals)

    def _code(self, source: Any, mode: str) -> Any:
        if not isinstance(source, str):
            return source
        key = f"{mode}:{source}"
        code = self.codes.get(key)
        if code is None:
            # As exec and eval compile a string: neither module has __future__
            # flags to pass on.
            code = compile(source, "<string>", mode, dont_inherit=True)
            if len(self.codes) < MAX_KEPT:
                self.codes[key] = code
                self.new += 1
        return code

    def save(self) -> None:
        if self.new:
            _write(self.path, self.codes)


def _file() -> Path:
    # The name only spreads builds over files; the build inside decides.
    build = zlib.crc32(_BUILD.encode())
    return cache_dir() / f"generated-{sys.implementation.cache_tag}-{build:08x}.marshal"


def _read(path: Path) -> dict[str, CodeType]:
    data = read_private(path)  # loading code runs it: only a file of ours alone
    if data is None:
        return {}
    try:
        kept = marshal.loads(data)
        if kept["build"] == _BUILD:
            codes = kept["codes"]
            if all(isinstance(k, str) and isinstance(v, CodeType) for k, v in codes.items()):
                return dict(codes)
    except Exception:  # corrupt, or from another version: compile as usual
        pass
    return {}


def _write(path: Path, codes: dict[str, CodeType]) -> None:
    write_private(path, marshal.dumps({"build": _BUILD, "codes": codes}))


def install() -> bool:
    """Serve the compiles of dataclasses and named tuples from the kept code from
    now on, and keep what this run compiles anew; False (nothing changed) if
    either module already has an `exec` or `eval` of its own."""
    if "exec" in vars(dataclasses) or "eval" in vars(collections):
        return False
    kept = _Kept(_file())
    dataclasses.exec = kept.exec  # type: ignore[attr-defined]
    collections.eval = kept.eval  # type: ignore[attr-defined]
    atexit.register(kept.save)
    return True
