"""Frozen records checked against their own type hints, with every problem collected.

The config needs a small part of what a validation library does: TOML scalars,
lists, tables, Literal choices, a few bounds and check functions. This module
does that much, cheaply enough to sit on the path to the first screen, in the
words of the file's author (TOML's "table", "a whole number", "true or false",
not Python's types). It keeps pydantic's small API (`model_validate`,
`model_copy`, `model_dump`) and error records (`type`, `loc`, `msg`, `input`),
and defers all type-hint work to the first validation that needs it, so
defining a model costs almost nothing.
"""

from __future__ import annotations

import datetime
import itertools
import operator
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    Self,
    Union,
    dataclass_transform,
)

__all__ = ["Field", "FieldInfo", "Loc", "Model", "SecretStr", "ValidationError"]

Loc = tuple[int | str, ...]
Errors = list[dict[str, Any]]
# A converter takes the input and where it is, appends errors, and returns the
# converted value or _BAD.
Converter = Callable[[Any, Loc, Errors], Any]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_MISSING: Any = _Sentinel("MISSING")
_BAD: Any = _Sentinel("BAD")


class ValidationError(ValueError):
    """Every problem found in one input; `errors()` as pydantic gives them."""

    def __init__(self, title: str, errors: Errors) -> None:
        self.title = title
        self._errors = errors
        lines = [f"{'.'.join(map(str, e['loc'])) or title}: {e['msg']}" for e in errors]
        super().__init__(f"{len(errors)} validation error(s) for {title}\n" + "\n".join(lines))

    def errors(self) -> Errors:
        return list(self._errors)


class SecretStr:
    """A string that never shows itself in repr, str or an error message."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr({str(self)!r})"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class FieldInfo:
    """A field's default, input name and bounds; also usable in Annotated[...]."""

    __slots__ = (
        "alias",
        "check",
        "default",
        "ge",
        "gt",
        "le",
        "lt",
        "max_length",
        "min_length",
        "pattern",
    )

    def __init__(
        self,
        default: Any = _MISSING,
        *,
        alias: str | None = None,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        check: Callable[[Any], Any] | None = None,
    ) -> None:
        self.default = default
        self.alias = alias
        self.ge, self.gt, self.le, self.lt = ge, gt, le, lt
        self.min_length, self.max_length = min_length, max_length
        self.pattern = pattern
        self.check = check


def Field(
    default: Any = _MISSING,
    *,
    alias: str | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    description: str | None = None,
    check: Callable[[Any], Any] | None = None,
) -> Any:
    """A field with bounds; `check` runs on the converted value (returns it, or
    raises ValueError). `description` is documentation only."""
    del description
    return FieldInfo(
        default,
        alias=alias,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        min_length=min_length,
        max_length=max_length,
        pattern=pattern,
        check=check,
    )


def _error(errors: Errors, kind: str, loc: Loc, msg: str, value: Any) -> Any:
    errors.append({"type": kind, "loc": loc, "msg": msg, "input": value})
    return _BAD


# -- scalars, with pydantic's lax conversions for the types TOML can hold ---------------
_DATE = "expected a date such as 2026-01-31"
_DATETIME = "expected a date and time such as 2026-01-31T02:00:00"
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _to_str(value: Any, loc: Loc, errors: Errors) -> Any:
    if isinstance(value, str):
        return value
    return _error(errors, "string_type", loc, "expected a string", value)


def _to_int(value: Any, loc: Loc, errors: Errors) -> Any:
    if isinstance(value, bool):  # `retries = true` is a slip, not 1
        return _error(errors, "int_type", loc, "expected a whole number", value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return _error(
            errors,
            "int_from_float",
            loc,
            "expected a whole number",
            value,
        )
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            msg = "expected a whole number"
            return _error(errors, "int_parsing", loc, msg, value)
    return _error(errors, "int_type", loc, "expected a whole number", value)


def _to_float(value: Any, loc: Loc, errors: Errors) -> Any:
    if isinstance(value, bool):  # `interval = true` is a slip, not 1 second
        return _error(errors, "float_type", loc, "expected a number", value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            msg = "expected a number"
            return _error(errors, "float_parsing", loc, msg, value)
    return _error(errors, "float_type", loc, "expected a number", value)


def _to_bool(value: Any, loc: Loc, errors: Errors) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int | str):
        msg = "expected true or false"
        return _error(errors, "bool_parsing", loc, msg, value)
    return _error(errors, "bool_type", loc, "expected true or false", value)


def _to_path(value: Any, loc: Loc, errors: Errors) -> Any:
    if isinstance(value, Path):
        return value
    if isinstance(value, str):
        return Path(value)
    msg = "expected a path (a string)"
    return _error(errors, "path_type", loc, msg, value)


def _to_secret(value: Any, loc: Loc, errors: Errors) -> Any:
    if isinstance(value, SecretStr):
        return value
    if isinstance(value, str):
        return SecretStr(value)
    return _error(errors, "string_type", loc, "expected a string", value)


def _to_datetime(value: Any, loc: Loc, errors: Errors) -> Any:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day)
    if isinstance(value, int | float) and not isinstance(value, bool):  # a Unix time
        try:
            return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            msg = "expected a date and time before the year 10000"
            return _error(errors, "datetime_parsing", loc, msg, value)
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            msg = _DATETIME
            return _error(errors, "datetime_from_date_parsing", loc, msg, value)
    return _error(errors, "datetime_type", loc, _DATETIME, value)


def _to_date(value: Any, loc: Loc, errors: Errors) -> Any:
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date()
        msg = "expected a date without a time of day, such as 2026-01-31"
        return _error(errors, "date_from_datetime_inexact", loc, msg, value)
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):  # a Unix time
        moment = _to_datetime(value, loc, [])
        if moment is _BAD:
            return _error(errors, "date_type", loc, _DATE, value)
        if moment.time() == datetime.time(0):
            return moment.date()
        msg = "expected a date without a time of day, such as 2026-01-31"
        return _error(errors, "date_from_datetime_inexact", loc, msg, value)
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            msg = _DATE
            return _error(errors, "date_from_datetime_parsing", loc, msg, value)
    return _error(errors, "date_type", loc, _DATE, value)


_SCALARS: dict[Any, Converter] = {
    str: _to_str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    Path: _to_path,
    SecretStr: _to_secret,
    datetime.datetime: _to_datetime,
    datetime.date: _to_date,
}
# A value of exactly this type is taken by a union member without conversion.
_STRICT: dict[Any, Callable[[Any], bool]] = {
    str: lambda v: isinstance(v, str),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    bool: lambda v: isinstance(v, bool),
}


def _choices(values: tuple[Any, ...]) -> str:
    shown = [repr(v) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _literal(values: tuple[Any, ...]) -> Converter:
    allowed = set(values)
    kinds = {type(v) for v in values}  # "3" is a choice, 3 is not
    msg = f"expected {_choices(values)}"

    def convert(value: Any, loc: Loc, errors: Errors) -> Any:
        if type(value) in kinds and value in allowed:
            return value
        return _error(errors, "literal_error", loc, msg, value)

    return convert


def _list(item: Converter) -> Converter:
    def convert(value: Any, loc: Loc, errors: Errors) -> Any:
        if not isinstance(value, list | tuple):
            return _error(errors, "list_type", loc, "expected a list", value)
        before = len(errors)
        out = [item(v, (*loc, i), errors) for i, v in enumerate(value)]
        return out if len(errors) == before else _BAD

    return convert


def _dict(item: Converter) -> Converter:
    def convert(value: Any, loc: Loc, errors: Errors) -> Any:
        if not isinstance(value, dict):
            return _error(errors, "dict_type", loc, "expected a table", value)
        before = len(errors)
        out = {k: item(v, (*loc, k), errors) for k, v in value.items()}
        return out if len(errors) == before else _BAD

    return convert


def _label(hint: Any) -> str:
    """A union member's name in an error location, as pydantic writes it."""
    if getattr(hint, "__origin__", None) is Literal:
        return f"literal[{','.join(repr(v) for v in hint.__args__)}]"
    return getattr(hint, "__name__", str(hint))


def _union(members: list[tuple[Any, Converter]]) -> Converter:
    """Each member in turn; when all refuse, one line saying what each would take
    (a member that refused deeper inside, e.g. a table's key, keeps its own lines)."""

    def convert(value: Any, loc: Loc, errors: Errors) -> Any:
        # A member that takes the value as it is wins; else the first that converts it.
        for hint, member in members:
            strict = _STRICT.get(hint)
            if strict is not None and strict(value):
                return member(value, loc, errors)
        tried: Errors = []
        for hint, member in members:
            mine: Errors = []
            out = member(value, (*loc, _label(hint)), mine)
            if not mine:
                return out
            tried += mine
        wanted = [e["msg"] for e in tried]
        if len(tried) == len(members) and all(
            e["loc"] == (*loc, _label(h)) and m.startswith("expected ")
            for e, (h, _), m in zip(tried, members, wanted, strict=True)
        ):
            msg = "expected " + " or ".join(m.removeprefix("expected ") for m in wanted)
            return _error(errors, tried[0]["type"], loc, msg, value)
        errors += tried
        return _BAD

    return convert


# Numeric bounds as data: (FieldInfo attribute, holds if, error type, wording), in
# the order pydantic checks them (so NaN reports the upper bound, as it did).
_BOUNDS: tuple[tuple[str, Callable[[Any, Any], bool], str, str], ...] = (
    ("le", operator.le, "less_than_equal", "at most"),
    ("lt", operator.lt, "less_than", "below"),
    ("ge", operator.ge, "greater_than_equal", "at least"),
    ("gt", operator.gt, "greater_than", "above"),
)


def _bounded(inner: Converter, info: FieldInfo) -> Converter:
    """Apply a FieldInfo's bounds, lengths, pattern and check after `inner` converted."""
    checks: list[Callable[[Any], tuple[str, str] | None]] = []
    for attr, holds, kind, wording in _BOUNDS:
        limit = getattr(info, attr)
        if limit is not None:
            problem = (kind, f"must be {wording} {limit}")
            checks.append(
                lambda v, holds=holds, limit=limit, problem=problem: (  # type: ignore[misc]
                    None if holds(v, limit) else problem
                )
            )
    if info.min_length is not None:
        low = info.min_length
        checks.append(lambda v: None if len(v) >= low else _too_short(v, low))
    if info.max_length is not None:
        high = info.max_length
        checks.append(lambda v: None if len(v) <= high else _too_long(v, high))
    if info.pattern is not None:
        regex = re.compile(info.pattern)
        msg = f"must match the pattern '{info.pattern}'"
        checks.append(lambda v: None if regex.search(v) else ("string_pattern_mismatch", msg))
    check = info.check

    def convert(value: Any, loc: Loc, errors: Errors) -> Any:
        out = inner(value, loc, errors)
        if out is _BAD or out is None:  # bounds apply to a given value, not to "unset"
            return out
        for bound in checks:
            problem = bound(out)
            if problem is not None:
                return _error(errors, problem[0], loc, problem[1], value)
        if check is not None:
            try:
                out = check(out)
            except ValueError as exc:
                return _error(errors, "value_error", loc, str(exc), value)
        return out

    return convert


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _too_short(value: Any, low: int) -> tuple[str, str]:
    if isinstance(value, str):
        return "string_too_short", f"must have at least {_plural(low, 'character')}"
    return (
        "too_short",
        f"must have at least {_plural(low, 'item')}, not {len(value)}",
    )


def _too_long(value: Any, high: int) -> tuple[str, str]:
    if isinstance(value, str):
        return "string_too_long", f"must have at most {_plural(high, 'character')}"
    return (
        "too_long",
        f"must have at most {_plural(high, 'item')}, not {len(value)}",
    )


def _converter(hint: Any, info: FieldInfo | None = None) -> Converter:
    """The converter for a resolved type hint (and the field's own bounds)."""
    origin = getattr(hint, "__origin__", None)
    conv: Converter
    if hasattr(hint, "__metadata__"):  # Annotated[T, Field(...)]: __origin__ is T
        conv = _converter(origin)
        for meta in hint.__metadata__:
            if isinstance(meta, FieldInfo):
                conv = _bounded(conv, meta)
    elif isinstance(hint, type) and issubclass(hint, Model):
        conv = hint._convert
    elif hint in _SCALARS:
        conv = _SCALARS[hint]
    elif origin is Literal:
        conv = _literal(hint.__args__)
    elif origin is list:
        conv = _list(_converter(hint.__args__[0]))
    elif origin is dict:
        conv = _dict(_converter(hint.__args__[1]))
    elif origin is Union or isinstance(hint, types.UnionType):
        args = [a for a in hint.__args__ if a is not type(None)]
        inner: Converter
        if len(args) == 1:
            inner = _converter(args[0])
        elif all(getattr(a, "__origin__", None) is Literal for a in args):
            # One list of choices, as the file's author sees them.
            inner = _literal(tuple(itertools.chain.from_iterable(a.__args__ for a in args)))
        else:
            inner = _union([(a, _converter(a)) for a in args])
        if len(args) == len(hint.__args__):
            conv = inner
        else:

            def conv(value: Any, loc: Loc, errors: Errors) -> Any:
                return None if value is None else inner(value, loc, errors)

    else:
        raise TypeError(f"bridge.config.records cannot validate {hint!r}")
    if info is not None:
        conv = _bounded(conv, info)
    return conv


class _Spec:
    """One field of a model: its name, input key, default and (lazily) converter."""

    __slots__ = ("annotation", "converter", "info", "key", "name")

    def __init__(self, name: str, annotation: Any, info: FieldInfo) -> None:
        self.name = name
        self.annotation = annotation
        self.info = info
        self.key = info.alias or name
        self.converter: Converter | None = None

    def default(self) -> Any:
        value = self.info.default
        return list(value) if isinstance(value, list) else value


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(Field,))
class Model:
    """A frozen record; unknown keys are errors, every problem is reported at once.

    Subclasses declare fields as annotations, with a default or a `Field(...)`.
    Override `_check` for rules across fields (raise ValueError); it runs only
    when every field was valid, with the problem reported at the model's key.
    Override `_input_problems` for rules across records (unique names, references
    between sections): it reads the input as given, so it reports its problems
    in the same run as every field's, valid or not. `_suggest` maps keys that
    other tools use to this model's own, for the "did you mean" of an unknown key.
    """

    _suggest: ClassVar[dict[str, str]] = {}

    _specs: ClassVar[dict[str, _Spec]] = {}
    _by_key: ClassVar[dict[str, _Spec]] = {}
    _hints_resolved: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs = dict(cls._specs)
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - no inspect import
        for name, annotation in own.items():
            if isinstance(annotation, str) and annotation.startswith(
                ("ClassVar", "typing.ClassVar")
            ):
                continue
            value = cls.__dict__.get(name, _MISSING)
            info = value if isinstance(value, FieldInfo) else FieldInfo(value)
            if isinstance(value, FieldInfo):
                delattr(cls, name)
            specs[name] = _Spec(name, annotation, info)
        cls._specs = specs
        cls._by_key = {spec.key: spec for spec in specs.values()}
        cls._hints_resolved = False

    @classmethod
    def _resolve(cls) -> None:
        """Turn the annotations (strings, under `from __future__ import annotations`) into
        converters; done on first use, not at class creation, to keep imports cheap."""
        namespace = dict(vars(sys.modules[cls.__module__]))
        namespace.setdefault(cls.__name__, cls)
        for spec in cls._specs.values():
            if spec.converter is None:
                hint = spec.annotation
                if isinstance(hint, str):
                    hint = eval(hint, namespace)
                spec.converter = _converter(hint, spec.info)
        cls._hints_resolved = True

    @classmethod
    def _convert(cls, value: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            msg = "expected a table"
            return _error(errors, "model_type", loc, msg, value)
        if value and not cls._hints_resolved:
            cls._resolve()
        before = len(errors)
        fields: dict[str, Any] = {}
        for spec in cls._specs.values():
            if spec.key in value:
                assert spec.converter is not None
                fields[spec.name] = spec.converter(value[spec.key], (*loc, spec.key), errors)
            elif spec.info.default is _MISSING:
                _error(errors, "missing", (*loc, spec.key), "required key is missing", value)
            else:
                fields[spec.name] = spec.default()
        for key, extra in value.items():
            if key not in cls._by_key:
                _error(errors, "extra_forbidden", (*loc, key), cls._unknown_key(key), extra)
        for where, problem in cls._input_problems(value):
            _error(errors, "value_error", (*loc, *where), problem, value)
        if len(errors) != before:
            return _BAD
        made = cls._make(fields)
        try:
            made._check()
        except ValueError as exc:
            return _error(errors, "value_error", loc, str(exc), value)
        return made

    @classmethod
    def _unknown_key(cls, key: object) -> str:
        if not isinstance(key, str):
            return "unknown key"
        known = list(cls._by_key)
        guess = cls._suggest.get(key.lower())
        if guess not in known:
            import difflib  # ~2 ms: only when a file has an unknown key

            close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.7)
            guess = close[0] if close else None
        return f'unknown key (did you mean "{guess}"?)' if guess else "unknown key"

    @classmethod
    def _input_problems(cls, value: dict[str, Any]) -> list[tuple[Loc, str]]:
        """Problems across records, each with its place under this model's key;
        `value` is the input as given (any item may be invalid, or a record)."""
        del value
        return []

    @classmethod
    def _make(cls, fields: dict[str, Any]) -> Self:
        made = object.__new__(cls)
        made.__dict__.update(fields)
        return made

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        """A checked instance from a mapping (input keys, aliases included)."""
        errors: Errors = []
        out = cls._convert(obj, (), errors)
        if errors:
            raise ValidationError(cls.__name__, errors)
        return out  # type: ignore[no-any-return]

    def __init__(self, **data: Any) -> None:
        errors: Errors = []
        out = type(self)._convert(data, (), errors)
        if errors:
            raise ValidationError(type(self).__name__, errors)
        self.__dict__.update(out.__dict__)

    def _check(self) -> None:
        """Rules across fields; raise ValueError to reject the whole record."""

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Self:
        """A shallow copy with some fields replaced, unchecked (as in pydantic)."""
        return type(self)._make({**self.__dict__, **(update or {})})

    def model_dump(self) -> dict[str, Any]:
        """The fields by name as plain data; nested records become dicts too."""
        return {name: _dump(value) for name, value in self.__dict__.items()}

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


def _dump(value: Any) -> Any:
    if isinstance(value, Model):
        return value.model_dump()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


PositiveSeconds = Annotated[float, Field(gt=0, le=86400)]
