"""Files under the cache folder that only this user may have written.

Both caches (bridge.generated_code, bridge.ui.css_cache) load what runs as code
(marshalled code, pickled rules), so a file is read only when it is ours and
nobody else can write it, and is written whole or not at all.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["read_private", "write_private"]


def read_private(path: Path) -> bytes | None:
    """The file's bytes, or None if it is missing, unreadable, not ours, or
    writable by group or others."""
    try:
        with path.open("rb") as file:
            info = os.fstat(file.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None
            return file.read()
    except OSError:
        return None


def write_private(path: Path, data: bytes) -> bool:
    """Replace the file with `data`, readable and writable by us alone; False
    if it could not be written (a read-only home, a full disk)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            tmp.replace(path)  # readers see the old file or the new, never half
        finally:
            tmp.unlink(missing_ok=True)
    except OSError:
        return False
    return True
