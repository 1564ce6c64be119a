"""Parsed stylesheets kept between runs, so a start does not tokenize them again.

Textual parses every stylesheet at each start: the console's (bridge.tcss, 5 KB)
took ~30 ms and Textual's own defaults ~20 ms more, on a path where the whole
first screen is ~0.5 s. Loading the parsed rules back takes ~5 ms.

The rules Textual parses depend on the CSS text, where it was read from, and
the theme's variables (substituted while parsing), so a file holds one set of
variables and is used only when they are exactly the same; each rule set is
keyed by its whole CSS text, as Textual's own parse cache keys it, so an edited
stylesheet misses and is parsed as usual. A file is also specific to the
Textual installation (its path and the size and time of its CSS modules) and
the Python version. Anything that does not match, cannot be read or was
written by someone else is ignored; the cache is only ever a shortcut.
"""

from __future__ import annotations

import pickle
import sys
import zlib
from pathlib import Path
from typing import Any

import textual
from textual.css.stylesheet import Stylesheet

from bridge.cache_files import read_private, write_private
from bridge.paths import cache_dir

__all__ = ["load", "save"]

_FORMAT = 1
_TEXTUAL_CSS = Path(textual.__file__).parent / "css"


def _installation() -> tuple[object, ...]:
    marks: list[object] = [_FORMAT, sys.version, str(_TEXTUAL_CSS)]
    for name in ("parse.py", "styles.py", "model.py", "tokenize.py"):
        stat = (_TEXTUAL_CSS / name).stat()
        marks += [stat.st_size, stat.st_mtime_ns]
    return tuple(marks)


def _path(variables: dict[str, str]) -> Path:
    # The name only spreads themes over files; the variables inside decide.
    digest = zlib.crc32(repr(sorted(variables.items())).encode())
    return cache_dir() / f"tcss-{digest:08x}.pickle"


def _cache(stylesheet: Stylesheet) -> Any:
    # Textual's parse cache (an LRUCache keyed as _parse_rules keys it), or None
    # on a Textual without one, where this module does nothing.
    return getattr(stylesheet, "_parse_cache", None)


def load(stylesheet: Stylesheet) -> frozenset[Any]:
    """Fill `stylesheet`'s parse cache from the file for its variables; the keys
    of the rule sets loaded (none when there is no usable file)."""
    cache = _cache(stylesheet)
    variables = dict(getattr(stylesheet, "_variables", {}))
    if cache is None or not variables:
        return frozenset()
    data = read_private(_path(variables))  # unpickling runs code: only a file of ours alone
    if data is None:
        return frozenset()
    try:
        kept = pickle.loads(data)
        if kept["installation"] != _installation() or kept["variables"] != variables:
            return frozenset()
        entries = kept["rules"]
        for key, rules in entries.items():
            cache[key] = rules
        return frozenset(entries)
    except Exception:  # corrupt, or from another version: parse as usual
        return frozenset()


def save(stylesheet: Stylesheet, kept: frozenset[Any]) -> frozenset[Any]:
    """Write what `stylesheet` has parsed for its sources now, if any of it is
    not `kept` in the file already; the keys written (none when nothing was)."""
    cache = _cache(stylesheet)
    variables = dict(getattr(stylesheet, "_variables", {}))
    if cache is None or not variables:
        return frozenset()
    # Entries for CSS the stylesheet still has: a widget class's CSS can be parsed
    # under more than one tie-breaker in a start (the source keeps the last).
    sources = {css for css, *_ in stylesheet.source.values()}
    parsed = cache.keys()  # an LRUCache: no iteration of its own
    entries = {key: cache.get(key) for key in parsed if key[0] in sources}
    entries = {key: rules for key, rules in entries.items() if rules is not None}
    if not entries or entries.keys() <= kept:
        return frozenset()
    data = {"installation": _installation(), "variables": variables, "rules": entries}
    try:
        pickled = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return frozenset()  # rules that will not pickle: no cache
    return frozenset(entries) if write_private(_path(variables), pickled) else frozenset()
