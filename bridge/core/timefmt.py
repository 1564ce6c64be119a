"""Every time bridge shows, on screen and in reports, in the zone `[ui] time` chooses.

An operator on a bridge reads times against the wall clock of the room (local)
or against the timestamps of the tickets and logs of other sites (UTC). Mixing
the two on one screen is how an incident gets the wrong hour, so every time is
formatted here, in one zone for the whole process, and the console's header
names it once.

The zone is the process's, like the `TZ` it chooses between: the CLI sets it
when it loads the config, the console and the wall when they start.
"""

from __future__ import annotations

import datetime
import time
from typing import Literal

__all__ = [
    "FORMS",
    "Zone",
    "display_tzinfo",
    "display_zone",
    "same_day",
    "show_time",
    "use_display_zone",
    "zone_name",
]

Zone = Literal["local", "utc"]

FORMS: dict[str, str] = {
    "second": "%Y-%m-%d %H:%M:%S",
    "minute": "%Y-%m-%d %H:%M",
    "clock": "%H:%M:%S",
    "hm": "%H:%M",
    "day_hm": "%a %H:%M",
    "header": "%a %d %b %H:%M:%S",
    "header_minute": "%a %d %b %H:%M",
}

_zone: list[Zone] = ["local"]


def use_display_zone(zone: Zone) -> None:
    """Show every time from now on in `zone`."""
    _zone[0] = zone


def display_zone() -> Zone:
    return _zone[0]


def display_tzinfo() -> datetime.tzinfo | None:
    """The display zone for datetime arithmetic: None is this host's own zone."""
    return datetime.UTC if _zone[0] == "utc" else None


def _parts(t: float) -> time.struct_time:
    return time.gmtime(t) if _zone[0] == "utc" else time.localtime(t)


def zone_name(t: float) -> str:
    """The zone's name at `t` ("UTC", or the local one such as "CET" or "CEST")."""
    if _zone[0] == "utc":
        return "UTC"
    try:
        return time.strftime("%Z", time.localtime(t)) or "local"
    except (OverflowError, OSError, ValueError):
        return "local"


def show_time(t: float | None, form: str = "minute", *, label: bool = False) -> str:
    """`t` (epoch seconds) in the display zone, as `FORMS[form]`; with `label`, the
    zone's name after it (for text read away from the console's header)."""
    if t is None:
        return "—"
    try:
        text = time.strftime(FORMS[form], _parts(t))
    except (OverflowError, OSError, ValueError):  # a time no calendar holds
        return "?"
    return f"{text} {zone_name(t)}" if label else text


def same_day(a: float, b: float) -> bool:
    """Whether two instants fall on one calendar day of the display zone."""
    try:
        return _parts(a)[:3] == _parts(b)[:3]
    except (OverflowError, OSError, ValueError):
        return False
