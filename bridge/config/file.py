"""The one TOML config file, validated against typed models.

Every problem is reported as one line naming the file, the key path and what is
allowed, so an operator can fix a bad file without reading a traceback.

Importing this module is on the path to the first screen, so it stays cheap:
the models are `bridge.config.records` records (not pydantic), and croniter, tomllib,
zoneinfo and `bridge.core.hours` are imported only when a schedule, a file, a time zone
or a calendar is actually checked or used.
"""

from __future__ import annotations

import datetime
import fnmatch
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from bridge.config.intake import IntakeConfig
from bridge.config.network import NetworkConfig, TrapsConfig
from bridge.config.records import Field, Loc, Model, SecretStr, ValidationError
from bridge.config.service import (
    EscalationConfig,
    HttpCheckConfig,
    ReportsConfig,
    WebhookConfig,
)
from bridge.config.wall import WallConfig
from bridge.core import paths
from bridge.core.text import safe_text
from bridge.core.timefmt import use_display_zone

if TYPE_CHECKING:
    from bridge.core.hours import OperationalHours

__all__ = [
    "CalendarConfig",
    "Config",
    "ConfigError",
    "DeviceConfig",
    "EventsConfig",
    "JobConfig",
    "LocalConfig",
    "MaintenanceConfig",
    "RuleConfig",
    "StoreConfig",
    "Threshold",
    "load_config",
    "loads_toml",
]

PositiveSeconds = Annotated[float, Field(gt=0, le=86400)]


def _known_zone(value: str) -> str:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _valid_cron(value: str) -> str:
    from croniter import croniter  # ~30 ms to import: only when there is a schedule to check

    value = value.strip()
    try:
        valid = croniter.is_valid(value)
    except Exception:  # croniter raises odd types for odd input
        valid = False
    if not valid:
        raise ValueError(f"invalid cron expression {value!r}")
    return value


def _dependency_names(value: list[str]) -> list[str]:
    for i, name in enumerate(value):
        if not name.strip():
            raise ValueError(f"depends_on[{i}] is empty")
    return list(dict.fromkeys(value))


def _time_of_day(value: str) -> str:
    from bridge.core.hours import parse_hhmm

    parse_hhmm(value)
    return value.strip()


class Threshold(Model):
    """Two levels with hysteresis: raise at a level, clear only `hysteresis` below it."""

    warning: float = Field(ge=0)
    critical: float = Field(ge=0)
    hysteresis: float = Field(default=0.0, ge=0)

    def _check(self) -> None:
        if self.critical < self.warning:
            raise ValueError(f"critical ({self.critical}) must be >= warning ({self.warning})")


# Thresholds are data: metric name -> levels. Load is per core, the rest percent.
DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "cpu": Threshold(warning=85, critical=95, hysteresis=5),
    "memory": Threshold(warning=85, critical=95, hysteresis=3),
    "swap": Threshold(warning=50, critical=80, hysteresis=5),
    "disk": Threshold(warning=85, critical=95, hysteresis=2),
    "load": Threshold(warning=1.5, critical=3.0, hysteresis=0.25),
}


class Thresholds(Model):
    cpu: Threshold = DEFAULT_THRESHOLDS["cpu"]
    memory: Threshold = DEFAULT_THRESHOLDS["memory"]
    swap: Threshold = DEFAULT_THRESHOLDS["swap"]
    disk: Threshold = DEFAULT_THRESHOLDS["disk"]
    load: Threshold = DEFAULT_THRESHOLDS["load"]

    def as_table(self) -> dict[str, Threshold]:
        return {name: getattr(self, name) for name in DEFAULT_THRESHOLDS}


class StoreConfig(Model):
    path: Path | None = None
    sample_retention_hours: float = Field(default=24, gt=0, le=24 * 365)
    history_days: float = Field(default=90, gt=0)

    def resolved_path(self) -> Path:
        return (self.path or paths.default_store_path()).expanduser()


class LocalConfig(Model):
    enabled: bool = True
    interval: PositiveSeconds = 2.0
    # process_iter is ~95 % of a sample's cost, so the process table refreshes less often.
    process_interval: PositiveSeconds = 10.0
    top_processes: int = Field(default=8, ge=0, le=100)
    thresholds: Thresholds = Thresholds()


class DeviceConfig(Model):
    _suggest: ClassVar[dict[str, str]] = {
        "host": "address",
        "hostname": "address",
        "ip": "address",
        "snmp_version": "version",
    }

    name: str = Field(min_length=1, max_length=64)
    address: str = Field(min_length=1)
    port: int = Field(default=161, ge=1, le=65535)
    version: Literal["1", "2c", "3"] = "2c"
    community: SecretStr = SecretStr("public")
    user: str | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: SecretStr | None = None
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = None
    priv_key: SecretStr | None = None
    interval: PositiveSeconds = 30.0
    timeout: PositiveSeconds = 2.0
    retries: int = Field(default=1, ge=0, le=10)
    tags: list[str] = []

    def _check(self) -> None:
        if self.version == "3" and not self.user:
            raise ValueError("SNMPv3 needs 'user'")
        # SNMPv3 localises keys of at least 8 characters; shorter ones fail every poll.
        for key, value in (("auth_key", self.auth_key), ("priv_key", self.priv_key)):
            if self.version == "3" and value is not None and len(value.get_secret_value()) < 8:
                raise ValueError(f"{key} must be at least 8 characters")


class JobConfig(Model):
    _suggest: ClassVar[dict[str, str]] = {
        "cron": "schedule",
        "tz": "timezone",
        "time_zone": "timezone",
        "depends": "depends_on",
        "after": "depends_on",
    }

    name: str = Field(min_length=1, max_length=64)
    schedule: str = Field(min_length=1, description="cron expression", check=_valid_cron)
    timezone: str = Field(default="UTC", check=_known_zone)
    duration: PositiveSeconds | None = None
    grace: float = Field(default=300, ge=0)
    max_runtime: PositiveSeconds | None = None
    depends_on: list[str] = Field(default=[], check=_dependency_names)
    hosts: list[str] = []
    owner: str | None = None
    runbook: str | None = None
    calendar: str | None = (
        None  # a [calendars.NAME]: occurrences outside its hours are not expected
    )
    maintenance: bool = False  # a running occurrence opens a maintenance window for `hosts`


class MaintenanceConfig(Model):
    """A maintenance window: events for `hosts` (globs) are stored but suppressed while open.

    Either recurring (cron `schedule` + `duration` seconds, in `timezone`) or fixed
    (`start`/`end`; a time without an offset is read in `timezone`).
    """

    _suggest: ClassVar[dict[str, str]] = {"cron": "schedule", "tz": "timezone"}

    name: str = Field(min_length=1, max_length=64)
    hosts: list[str] = Field(min_length=1)
    schedule: str | None = Field(default=None, check=_valid_cron)
    duration: float | None = Field(default=None, gt=0, le=7 * 86400)
    timezone: str = Field(default="UTC", check=_known_zone)
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None

    def _check(self) -> None:
        cron = self.schedule is not None or self.duration is not None
        fixed = self.start is not None or self.end is not None
        problem = None
        if cron and fixed:
            problem = "give either schedule + duration or start + end, not both"
        elif cron and (self.schedule is None or self.duration is None):
            problem = "a recurring window needs both schedule and duration (seconds)"
        elif fixed and (self.start is None or self.end is None):
            problem = "a fixed window needs both start and end"
        elif not cron and not fixed:
            problem = "give either schedule + duration or start + end"
        elif fixed and self.fixed_span()[1] <= self.fixed_span()[0]:
            problem = f"end ({self.end}) must be after start ({self.start})"
        if problem:
            raise ValueError(f"window {self.name!r}: {problem}")

    def fixed_span(self) -> tuple[float, float]:
        """(start, end) as epoch seconds, for a fixed window."""
        import zoneinfo

        assert self.start is not None and self.end is not None
        tz = zoneinfo.ZoneInfo(self.timezone)

        def epoch(t: datetime.datetime) -> float:
            return (t if t.tzinfo is not None else t.replace(tzinfo=tz)).timestamp()

        return epoch(self.start), epoch(self.end)


class CalendarConfig(Model):
    """Operational hours: `[calendars.business]` with days, start, end, timezone."""

    timezone: str = Field(default="UTC", check=_known_zone)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    ]
    start: str = Field(default="00:00", check=_time_of_day)
    end: str = Field(default="24:00", check=_time_of_day)
    holidays: list[datetime.date] = []

    def _check(self) -> None:
        from bridge.core.hours import parse_hhmm

        if parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if not self.days:
            raise ValueError("days is empty: the calendar would never be open")

    def hours(self, name: str) -> OperationalHours:
        import zoneinfo

        from bridge.core.hours import DAY_NAMES, OperationalHours, parse_hhmm

        return OperationalHours(
            tz=zoneinfo.ZoneInfo(self.timezone),
            days=frozenset(DAY_NAMES.index(d) for d in self.days),
            start=parse_hhmm(self.start),
            end=parse_hhmm(self.end),
            holidays=frozenset(self.holidays),
            name=name,
        )


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


class OperatorConfig(Model):
    name: str | None = Field(default=None, min_length=1, max_length=64)


class UiConfig(Model):
    theme: str = "bridge-dark"
    # The zone of every time on screen and in reports; the console's header names it.
    time: Literal["local", "utc"] = "local"
    stale_after_intervals: float = Field(default=3, gt=0)
    monochrome: bool = False  # severity by words, symbols, bold and reverse only
    low_bandwidth: bool = False  # no animations, minute clock, slower redraws
    # A new event at this severity or above rings the terminal bell and flashes the pane.
    bell: Literal["off", "major", "critical"] = "critical"


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
