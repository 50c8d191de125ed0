"""Whether one value fits one property of a parameter schema: the one rule for both ends.

A run's submitted values and a schema's defaults are checked here, the same way, and the
console's form (``web/src/composables/paramCheck.ts``) implements these rules line for
line. ``tests/vectors/parameters.json`` holds the cases both test suites run.

A problem is a ``key`` and its ``params`` (what the console translates) and renders as an
English sentence for the API. No Django here: the unit tests import this module on its own.
"""

from __future__ import annotations

import calendar
import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2

FILE_FORMAT = "file"
MAX_ITEM_MESSAGES = 10  # per field: a list of 10,000 wrong items answers 10 sentences, not 10,000
# A pattern runs in RE2, whose time is linear in the value's length: no pattern can make a
# check backtrack for seconds while the web process waits. Its compiled size is bounded too.
MAX_PATTERN_LENGTH = 1000
_PATTERN_MEMORY = 8 << 20  # bytes RE2 may use for one pattern's program and DFA cache

# key -> sentence; {n} is shown as a person reads a number, {s} pluralises a count.
SENTENCES: dict[str, str] = {
    "string": "must be a string",
    "integer": "must be a whole number",
    "number": "must be a number",
    "boolean": "must be true or false",
    "array": "must be a list",
    "object": "must be an object",
    "file": "must be a file (an upload id)",
    "enum": "must be one of: {options}",
    "minimum": "must be at least {n}",
    "maximum": "must be at most {n}",
    "exclusiveMinimum": "must be greater than {n}",
    "exclusiveMaximum": "must be less than {n}",
    "minLength": "must be at least {n} character{s}",
    "maxLength": "must be at most {n} character{s}",
    "minItems": "must have at least {n} item{s}",
    "maxItems": "must have at most {n} item{s}",
    "pattern": "does not match the pattern {pattern}",
    "patternInvalid": "cannot be checked: the pattern {pattern} is not a valid expression",
    "date": "must be a date (YYYY-MM-DD)",
    "datetime": "must be a date and time (ISO 8601, e.g. 2024-05-01T12:00:00Z)",
    "item": "item {i}: {problem}",
    "moreItems": "and {n} more problems with items",
    "required": "this field is required",
    "unknown": "unknown parameter",
    "notAnObject": "must be a JSON object",
    "tooMany": "too many parameters: {given} given, at most {most}",
    "tooLarge": "the parameters take {size} bytes as JSON, at most {most}",
}


@dataclass(frozen=True)
class Problem:
    """One reason a value does not fit: ``item`` problems hold the item's own problem."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def sentence(self) -> str:
        shown = {
            name: value.sentence() if isinstance(value, Problem) else _show(value)
            for name, value in self.params.items()
        }
        if "n" in self.params:
            shown["s"] = "" if self.params["n"] == 1 else "s"
        return SENTENCES[self.key].format(**shown)

    def as_json(self) -> dict[str, Any]:
        """``{"key": ..., "params": {...}}`` as the console's form reports the same problem."""
        if not self.params:
            return {"key": self.key}
        params = {
            name: value.as_json() if isinstance(value, Problem) else value
            for name, value in self.params.items()
        }
        return {"key": self.key, "params": params}


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_list(value: object) -> bool:
    return isinstance(value, list)


# bool is neither an integer nor a number. 3.0 is not an integer: a script annotated
# ``int`` must get an int, and Python tells 3.0 from 3 (JSON Schema would not).
TYPES: dict[str, Callable[[object], bool]] = {
    "string": _is_str,
    "integer": is_int,
    "number": is_number,
    "boolean": lambda v: isinstance(v, bool),
    "array": _is_list,
    "object": lambda v: isinstance(v, dict),
}


def fits_type(value: object, kind: str) -> bool:
    """Whether ``value`` is of the JSON type ``kind`` (an unknown type accepts anything)."""
    accepts = TYPES.get(kind)
    return accepts is None or accepts(value)


def _itself(value: Any) -> Any:
    return value


# keyword, applies to, measure, fails when (measure, limit)
_BOUNDS: tuple[tuple[str, Callable[[object], bool], Callable[[Any], Any], Callable], ...] = (
    ("minimum", is_number, _itself, operator.lt),
    ("maximum", is_number, _itself, operator.gt),
    ("exclusiveMinimum", is_number, _itself, operator.le),
    ("exclusiveMaximum", is_number, _itself, operator.ge),
    ("minLength", _is_str, len, operator.lt),
    ("maxLength", _is_str, len, operator.gt),
    ("minItems", _is_list, len, operator.lt),
    ("maxItems", _is_list, len, operator.gt),
)

# The shapes a date widget and a date-time widget produce, checked field by field below
# rather than by ``fromisoformat``, whose accepted forms change between Python versions.
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(
    r"[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?(?:[Zz]|[+-]([0-9]{2}):?([0-9]{2}))?"
)


def is_date(text: str) -> bool:
    found = _DATE.fullmatch(text)
    if not found:
        return False
    year, month, day = (int(part) for part in found.groups())
    return year >= 1 and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def is_datetime(text: str) -> bool:
    found = _TIME.fullmatch(text, 10)
    if not found or not is_date(text[:10]):
        return False
    hour, minute, second, offset_hours, offset_minutes = (int(p or 0) for p in found.groups())
    return max(hour, offset_hours) <= 23 and max(minute, second, offset_minutes) <= 59


_FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "date": (is_date, "date"),
    "date-time": (is_datetime, "datetime"),
}


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is a schema problem, not a stderr line
    options.max_mem = _PATTERN_MEMORY
    return options


_OPTIONS = _re2_options()


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` cannot be run (too long, or outside RE2's syntax), or ``None``.

    RE2 has no backreferences and no lookaround: those are what make a match exponential.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"is longer than {MAX_PATTERN_LENGTH} characters"
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        return f"is not a valid regular expression (RE2 syntax): {text}"
    return None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    if pattern_error(pattern) is not None:
        return None
    return re2.compile(pattern, _OPTIONS)


def _show(value: object) -> str:
    """A schema value as a person reads it: strings bare, 3.0 as 3, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def same(a: object, b: object) -> bool:
    """Equality without Python's ``True == 1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def check_value(spec: object, value: object) -> list[Problem]:
    """The problems of one value against one property schema (``[]`` when it fits)."""
    if not isinstance(spec, dict):
        return []
    fmt = spec.get("format")
    if fmt == FILE_FORMAT:  # an upload's id; the upload module checks that it exists
        return [] if isinstance(value, str) or is_int(value) else [Problem("file")]
    kind = spec.get("type")
    if isinstance(kind, str) and kind in TYPES and not TYPES[kind](value):
        return [Problem(kind)]
    if spec.get("secret") and not isinstance(value, str):
        return [Problem("string")]
    problems: list[Problem] = []
    enum = spec.get("enum")
    if isinstance(enum, list) and not any(same(value, option) for option in enum):
        problems.append(Problem("enum", {"options": ", ".join(_show(o) for o in enum)}))
    for keyword, applies, measure, fails in _BOUNDS:
        limit = spec.get(keyword)
        if is_number(limit) and applies(value) and fails(measure(value), limit):
            problems.append(Problem(keyword, {"n": limit}))
    pattern = spec.get("pattern")
    if isinstance(pattern, str) and isinstance(value, str):
        compiled = _compiled(pattern)
        if compiled is None:
            problems.append(Problem("patternInvalid", {"pattern": pattern}))
        elif not compiled.search(value):  # JSON Schema patterns are unanchored
            problems.append(Problem("pattern", {"pattern": pattern}))
    if isinstance(fmt, str) and fmt in _FORMATS:
        valid, key = _FORMATS[fmt]
        if not isinstance(value, str) or not valid(value):
            problems.append(Problem(key))
    items = spec.get("items")
    if isinstance(items, dict) and isinstance(value, list):
        wrong = [(i, p) for i, item in enumerate(value) for p in check_value(items, item)]
        shown = wrong[:MAX_ITEM_MESSAGES]
        problems.extend(Problem("item", {"i": i, "problem": p}) for i, p in shown)
        if len(wrong) > MAX_ITEM_MESSAGES:
            problems.append(Problem("moreItems", {"n": len(wrong) - MAX_ITEM_MESSAGES}))
    return problems
