"""The one TOML config file: the root record that names every section, and loading it.

Each section's records live in their own module (`local`, `network`, `schedule`,
`service`, `intake`, `ui`); this one holds what spans them: the checks between
sections (unique names, a job's calendar, escalation targets) and reading and
parsing the file. Every problem is reported as one line naming the file, the key path and what is
allowed, so an operator can fix a bad file without reading a traceback.

Importing this module is on the path to the first screen, so it stays cheap:
the models are `bridge.config.records` records, and croniter, tomllib, zoneinfo
and `bridge.core.hours` are imported only when a schedule, a file, a time zone or
a calendar is actually checked or used.
"""

from __future__ import annotations

import datetime
import fnmatch
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bridge.config.intake import IntakeConfig
from bridge.config.local import LocalConfig
from bridge.config.network import DeviceConfig, NetworkConfig, TrapsConfig
from bridge.config.records import Field, Loc, Model, ValidationError
from bridge.config.schedule import (
    CalendarConfig,
    JobConfig,
    MaintenanceConfig,
)
from bridge.config.service import (
    AlertmanagerConfig,
    EscalationConfig,
    HttpCheckConfig,
    ReportsConfig,
    WebhookConfig,
)
from bridge.config.ui import OperatorConfig, UiConfig
from bridge.config.wall import WallConfig
from bridge.core import paths
from bridge.core.store_url import parse_store_url, sqlite_url
from bridge.core.text import safe_text
from bridge.core.timefmt import use_display_zone

if TYPE_CHECKING:
    from bridge.core.hours import OperationalHours

__all__ = [
    "Config",
    "ConfigError",
    "EventsConfig",
    "RuleConfig",
    "StoreConfig",
    "load_config",
    "loads_toml",
]


class StoreConfig(Model):
    # Where the store is: `url` (sqlite:///file or postgresql://...) or, for SQLite
    # alone, `path`; neither is the default SQLite file.
    url: str | None = None
    path: Path | None = None
    sample_retention_hours: float = Field(default=24, gt=0, le=24 * 365)
    history_days: float = Field(default=90, gt=0)

    def _check(self) -> None:
        if self.url is not None and self.path is not None:
            raise ValueError("set url or path, not both (path is the same as url = sqlite://PATH)")
        if self.url is not None:
            parse_store_url(self.url)  # StoreURLError is a ValueError: one line, no password

    def resolved_url(self) -> str:
        """What `open_store` opens."""
        return self.url if self.url is not None else sqlite_url(self.resolved_path())

    def resolved_path(self) -> Path:
        """The SQLite file; for a server's URL the default file's place, which is
        where this host keeps its console log."""
        if self.url is not None:
            parsed = parse_store_url(self.url).path
            if parsed is not None:
                return parsed
            return paths.default_store_path()
        return (self.path or paths.default_store_path()).expanduser()


class EventsConfig(Model):
    # An event that resolved before anyone acknowledged it stays listed until acknowledged.
    keep_unacknowledged_resolved: bool = True
    fresh_seconds: float = Field(default=10, ge=0, le=3600)
    list_limit: int = Field(default=500, ge=10, le=100_000)


class RuleConfig(Model):
    """How observations matching the globs become events."""

    source: str = "*"
    resource: str = "*"
    check: str = "*"
    for_: float = Field(default=0, ge=0, le=86400, alias="for")
    flap_changes: int = Field(default=6, ge=2, le=1000)
    flap_window: float = Field(default=600, gt=0, le=86400)
    severity: Literal["critical", "major", "minor", "warning", "info"] | None = None
    runbook: str | None = None

    def matches(self, source: str, resource: str, check: str) -> bool:
        return (
            fnmatch.fnmatchcase(source, self.source)
            and fnmatch.fnmatchcase(resource, self.resource)
            and fnmatch.fnmatchcase(check, self.check)
        )


def _duplicates(names: list[tuple[int, str]]) -> list[tuple[str, int, int]]:
    """(name, first index, repeated index) for each repeat of an indexed name."""
    seen: dict[str, int] = {}
    dups = []
    for i, name in names:
        if name in seen:
            dups.append((name, seen[name], i))
        else:
            seen[name] = i
    return dups


# -- the input as given, for the checks across records -----------------------------------
def _given(record: Any, key: str) -> Any:
    """A key of an input record: a table as read from TOML, or a checked record."""
    if isinstance(record, dict):
        return record.get(key)
    if isinstance(record, Model):
        spec = type(record)._by_key.get(key)
        return None if spec is None else getattr(record, spec.name, None)
    return None


def _given_list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return list(value) if isinstance(value, list | tuple) else []


def _given_names(records: list[Any], key: str = "name") -> list[tuple[int, str]]:
    """(index, name) of the records whose name is a usable string; the others
    have a line of their own already."""
    out = []
    for i, record in enumerate(records):
        name = _given(record, key)
        if isinstance(name, str) and name.strip():
            out.append((i, name))
    return out


_UNIQUE: tuple[tuple[str, str], ...] = (
    ("devices", "duplicate device name {name!r} (devices[{first}] and [{again}])"),
    ("jobs", "duplicate job name {name!r} (jobs[{first}] and [{again}])"),
    ("maintenance", "duplicate maintenance window {name!r} (maintenance[{first}] and [{again}])"),
    ("webhooks", "duplicate name {name!r} (webhooks[{first}] and [{again}])"),
    ("escalations", "duplicate name {name!r} (escalations[{first}] and [{again}])"),
    ("http_checks", "duplicate name {name!r} (http_checks[{first}] and [{again}])"),
)


class Config(Model):
    store: StoreConfig = StoreConfig()
    local: LocalConfig = LocalConfig()
    devices: list[DeviceConfig] = []
    jobs: list[JobConfig] = []
    operator: OperatorConfig = OperatorConfig()
    ui: UiConfig = UiConfig()
    events: EventsConfig = EventsConfig()
    rules: list[RuleConfig] = []
    calendars: dict[str, CalendarConfig] = {}
    maintenance: list[MaintenanceConfig] = []
    reports: ReportsConfig = ReportsConfig()
    webhooks: list[WebhookConfig] = []
    escalations: list[EscalationConfig] = []
    http_checks: list[HttpCheckConfig] = []
    network: NetworkConfig = NetworkConfig()
    traps: TrapsConfig = TrapsConfig()
    intake: IntakeConfig = IntakeConfig()
    alertmanager: AlertmanagerConfig = AlertmanagerConfig()
    wall: WallConfig = WallConfig()

    def hours(self, name: str | None) -> OperationalHours:
        """The named calendar's hours; None means always open."""
        from bridge.core.hours import ALWAYS

        if name is None:
            return ALWAYS
        return self.calendars[name].hours(name)

    def rule_for(self, source: str, resource: str, check: str) -> RuleConfig:
        """The first rule that matches, else the defaults."""
        for rule in self.rules:
            if rule.matches(source, resource, check):
                return rule
        return _DEFAULT_RULE

    @classmethod
    def _input_problems(cls, value: dict[str, Any]) -> list[tuple[Loc, str]]:
        """Unique names and references between sections, read from the input as given
        so that they are reported with every other problem of the file, not after."""
        problems: list[tuple[Loc, str]] = []
        for key, message in _UNIQUE:
            for name, first, again in _duplicates(_given_names(_given_list(value, key))):
                problems.append(((key,), message.format(name=name, first=first, again=again)))
        jobs = _given_list(value, "jobs")
        problems += job_graph_problems(jobs)
        calendars = value.get("calendars")
        known_calendars = sorted(calendars) if isinstance(calendars, dict) else []
        for i, name in _given_names(jobs):
            calendar = _given(jobs[i], "calendar")
            if isinstance(calendar, str) and calendar not in known_calendars:
                known = ", ".join(known_calendars) or "none defined"
                problems.append(
                    (
                        ("jobs", i, "calendar"),
                        f"job {name!r}: unknown calendar {calendar!r} (known: {known})",
                    )
                )
        problems += service_problems(value, known_calendars)
        return problems


def service_problems(raw: dict[str, Any], calendars: list[str]) -> list[tuple[Loc, str]]:
    """Names that must refer to something: the report calendar and escalation targets."""
    problems: list[tuple[Loc, str]] = []
    calendar = _given(raw.get("reports"), "calendar")
    if isinstance(calendar, str) and calendar not in calendars:
        problems.append((("reports", "calendar"), f"unknown calendar {calendar!r}"))
    hooks = {name for _, name in _given_names(_given_list(raw, "webhooks"))}
    for i, rule in enumerate(_given_list(raw, "escalations")):
        targets = _given(rule, "targets")
        for k, target in enumerate(targets if isinstance(targets, list) else []):
            if isinstance(target, str) and target not in hooks:
                problems.append((("escalations", i, "targets", k), f"unknown webhook {target!r}"))
    return problems


def job_graph_problems(jobs: list[Any]) -> list[tuple[Loc, str]]:
    """One problem per unknown dependency, self-dependency and dependency cycle,
    of the jobs as given (tables or records)."""
    named = _given_names(jobs)
    index = {name: i for i, name in reversed(named)}  # the first job of a name
    problems: list[tuple[Loc, str]] = []
    edges: dict[str, list[str]] = {}
    for i, name in named:
        edges.setdefault(name, [])
        given = _given(jobs[i], "depends_on")
        for k, dep in enumerate(given if isinstance(given, list) else []):
            if not isinstance(dep, str) or not dep.strip() or dep in given[:k]:
                continue  # not a name (a line of its own), or said already
            where: Loc = ("jobs", i, "depends_on", k)
            if dep == name:
                problems.append((where, f"job {name!r} depends on itself"))
            elif dep not in index:
                problems.append((where, f"unknown job {dep!r}"))
            else:
                edges[name].append(dep)
    # Iterative depth-first search; each cycle is named once, from its first job in the file.
    done: set[str] = set()
    seen_cycles: set[frozenset[str]] = set()
    for root in edges:
        if root in done:
            continue
        path: list[str] = [root]
        on_path = {root: 0}
        stack = [iter(edges[root])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                done.add(finished)
                del on_path[finished]
                continue
            if nxt in on_path:
                cycle = path[on_path[nxt] :]
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    start = min(cycle, key=index.__getitem__)
                    at = cycle.index(start)
                    ordered = [*cycle[at:], *cycle[:at], start]
                    problems.append((("jobs",), f"dependency cycle {' -> '.join(ordered)}"))
            elif nxt not in done:
                on_path[nxt] = len(path)
                path.append(nxt)
                stack.append(iter(edges[nxt]))
    return problems


_DEFAULT_RULE = RuleConfig()


class ConfigError(Exception):
    """A config problem; `lines` holds one human-readable line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


_SECRET_KEYS = ("community", "communities", "_key", "password", "token", "secret")


def _shown(value: Any) -> str:
    """A value as the file's author wrote it: TOML's words, not Python's reprs."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _describe(error: Any) -> str:
    msg = str(error.get("msg", "invalid"))
    if error.get("type", "") not in ("missing", "value_error", "extra_forbidden") and (
        "input" in error
    ):
        # Never echo secrets back, even when they are the wrong type.
        loc = error.get("loc", ())
        if not any(str(p).endswith(_SECRET_KEYS) for p in loc):
            msg += f", got {_shown(error['input'])}"
    return msg


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
# TOML integers are 64-bit; a larger one cannot be a setting, and Python would
# carry it into float arithmetic (OverflowError) or a 4,300-digit repr.
_INT_RANGE = (-(2**63), 2**63 - 1)
_LONG_DIGITS = re.compile(r"[0-9_]{4000,}")
# A file this large is not a config: reading it would only cost time and memory.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
# Problems quote values; one from a hostile file stays readable on one line.
_PROBLEM_LIMIT = 300


def unknown_theme(name: object, available: Collection[str]) -> str | None:
    """The line for a `[ui] theme` that is none of `available`, else None."""
    if not isinstance(name, str) or name in available:
        return None
    import difflib

    close = difflib.get_close_matches(name, list(available), n=1, cutoff=0.7)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    return f"ui.theme: unknown theme {name!r} ({hint}available: {', '.join(available)})"


def _line(where: object, problem: str) -> str:
    """One problem as shown: where in full, then the problem, bounded; neither
    may hold a control character (a key or a file name can hold any)."""
    return f"{safe_text(str(where))}: {safe_text(problem, limit=_PROBLEM_LIMIT)}"


def _position(text: str, offset: int) -> str:
    """`line:column` (from 1) of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - text.rfind(chr(10), 0, offset)}"


def loads_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; any failure, whatever tomllib raises, is one ConfigError line
    naming `source` (with line and column where they are known)."""
    import tomllib  # ~8 ms: only when there is a file to read

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        pos = _TOML_POS.search(message)
        if pos:
            where = f"{source}:{pos.group(1)}:{pos.group(2)}"
        else:  # tomllib says "at end of document" instead of a position
            lines = text.splitlines() or [""]
            where = f"{source}:{len(lines)}:{len(lines[-1]) + 1}"
        reason = re.sub(r"\s*\((at line \d+, column \d+|at end of document)\)", "", message)
        raise ConfigError([_line(where, f"invalid TOML: {reason}")]) from None
    except RecursionError:
        problem = "invalid TOML: arrays or inline tables nested too deeply"
        raise ConfigError([_line(source, problem)]) from None
    except ValueError as exc:  # int() refuses a number of more than 4,300 digits
        long = _LONG_DIGITS.search(text)
        if long:
            where = f"{source}:{_position(text, long.start())}"
            raise ConfigError(
                [_line(where, "invalid TOML: integer out of range (64-bit)")]
            ) from None
        raise ConfigError([_line(source, f"invalid TOML: {exc}")]) from None
    except Exception as exc:  # whatever else the parser raises is still a bad file
        raise ConfigError([_line(source, f"invalid TOML: {exc!r}")]) from None
    problems = _value_problems(raw)
    if problems:
        raise ConfigError([_line(source, problem) for problem in problems])
    return raw


def _value_problems(raw: dict[str, Any]) -> list[str]:
    """Values TOML can hold that no setting can: integers beyond 64 bits (TOML's own
    limit) and strings with a NUL character, which every path and name refuses later."""
    problems: list[str] = []
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), raw)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, dict):
            if any("\0" in key for key in value):
                problems.append(f"{_key_path(loc)}: a key contains a NUL character")
            stack.extend(((*loc, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, str) and "\0" in value:
            problems.append(f"{_key_path(loc)}: contains a NUL character")
        elif isinstance(value, int) and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            problems.append(f"{_key_path(loc)}: integer out of range (64-bit)")
    return problems


def parse_config(text: str, source: str, themes: Collection[str] | None = None) -> Config:
    """The checked config of a file's text; every problem is one line of the
    ConfigError. With `themes`, `[ui] theme` must be one of them."""
    raw = loads_toml(text, source)
    problems: list[str] = []
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ConfigError as exc:
        problems = [_line(source, line) for line in exc.lines]
    except ValidationError as exc:
        problems = [_line(source, f"{_key_path(e['loc'])}: {_describe(e)}") for e in exc.errors()]
    except Exception as exc:  # a check that met a value it did not expect
        raise ConfigError([_line(source, f"cannot check the config: {exc!r}")]) from None
    ui = raw.get("ui")
    theme = unknown_theme(ui.get("theme"), themes) if isinstance(ui, dict) and themes else None
    if theme is not None:
        problems.append(_line(source, theme))
    if problems or config is None:
        raise ConfigError(problems)
    return config


def load_config(
    explicit: str | None = None, themes: Collection[str] | None = None
) -> tuple[Config, Path | None]:
    """Load the config; return it and the file it came from (None: built-in defaults).
    With `themes`, `[ui] theme` must be one of them (reported with the file's other problems).
    The loaded `[ui] time` is the zone the process shows times in from now on."""
    config, path = _load_config(explicit, themes)
    use_display_zone(config.ui.time)
    return config, path


def _load_config(
    explicit: str | None, themes: Collection[str] | None
) -> tuple[Config, Path | None]:
    path, named = paths.config_path(explicit)
    try:
        absent = not named and not path.exists()
    except OSError:  # the default file cannot even be looked for: reading it says why
        absent = False
    if absent:
        return Config(), None
    return parse_config(_read_config(path), str(path), themes), path


def _read_config(path: Path) -> str:
    """The file's text; every way reading it can fail is one ConfigError line."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        problem = "config file not found"
    except IsADirectoryError:
        problem = "config path is a directory, not a file"
    except PermissionError:
        problem = "config file is not readable (permission denied)"
    except OSError as exc:
        problem = f"cannot read config file: {exc.strerror or exc}"
    else:
        problem = ""
    if problem:
        raise ConfigError([_line(path, problem)])
    if len(data) > MAX_CONFIG_BYTES:
        limit = MAX_CONFIG_BYTES // (1024 * 1024)
        raise ConfigError([_line(path, f"config file is larger than {limit} MiB")])
    data = data.removeprefix(b"\xef\xbb\xbf")  # an editor's byte-order mark is no mistake
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")
        where = f"{path}:{_position(before, len(before))}"
        problem = f"config file is not UTF-8 text ({exc.reason} 0x{data[exc.start]:02x})"
        raise ConfigError([_line(where, problem)]) from None
