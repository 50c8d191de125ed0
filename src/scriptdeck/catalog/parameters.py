"""What a script's parameter schema says about its parameters, and whether given values fit it.

A schema is a closed subset of JSON Schema::

    {"type": "object", "properties": {name: prop, ...}, "required": [...]}

where ``prop`` may use ``type`` (string, integer, number, boolean, array with scalar
``items``), ``enum``, ``format`` (date, date-time, textarea, file), ``secret``, ``default``,
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``, ``minLength``/``maxLength``,
``pattern``, ``minItems``/``maxItems`` and the descriptive ``title``/``description``/
``examples``. ``{}`` accepts any value. The checker below is hand-written over that subset so
that every message is a plain sentence keyed by the field it is about.

No Django here: the unit tests import this module on its own.
"""

from __future__ import annotations

import copy
import json
import math
import operator
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

FILE_FORMAT = "file"
SECRET_MASK = "••••"
WHOLE = "parameters"  # the error key for problems with the parameters as a whole
MAX_ITEM_MESSAGES = 10  # per field: a list of 10,000 wrong items answers 10 sentences, not 10,000


class ParameterErrors(ValueError):
    """Every problem found, as ``{field name: [messages]}``; ``"parameters"`` for the whole."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(
            "; ".join(f"{field}: {message}" for field, ms in errors.items() for message in ms)
        )


def file_parameters(schema: dict[str, Any] | None) -> list[str]:
    """Names of the parameters declared as files: ``{"type": "string", "format": "file"}``."""
    properties = (schema or {}).get("properties") or {}
    return [
        name
        for name, spec in properties.items()
        if isinstance(spec, dict) and spec.get("format") == FILE_FORMAT
    ]


def secret_parameters(schema: dict[str, Any] | None) -> list[str]:
    """Names of the parameters declared ``"secret": true``."""
    properties = (schema or {}).get("properties") or {}
    if not isinstance(properties, dict):
        return []
    return [
        name for name, spec in properties.items() if isinstance(spec, dict) and spec.get("secret")
    ]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_list(value: object) -> bool:
    return isinstance(value, list)


# type -> (accepts, message). bool is neither an integer nor a number; 3.0 is not an integer.
_TYPES: dict[str, tuple[Callable[[object], bool], str]] = {
    "string": (_is_str, "must be a string"),
    "integer": (_is_int, "must be a whole number"),
    "number": (_is_number, "must be a number"),
    "boolean": (lambda v: isinstance(v, bool), "must be true or false"),
    "array": (_is_list, "must be a list"),
    "object": (lambda v: isinstance(v, dict), "must be an object"),
}


def _itself(value: Any) -> Any:
    return value


# keyword, applies to, measure, fails when (measure, limit), message ({n} limit, {s} plural)
_BOUNDS: tuple[tuple[str, Callable[[object], bool], Callable[[Any], Any], Callable, str], ...] = (
    ("minimum", _is_number, _itself, operator.lt, "must be at least {n}"),
    ("maximum", _is_number, _itself, operator.gt, "must be at most {n}"),
    ("exclusiveMinimum", _is_number, _itself, operator.le, "must be greater than {n}"),
    ("exclusiveMaximum", _is_number, _itself, operator.ge, "must be less than {n}"),
    ("minLength", _is_str, len, operator.lt, "must be at least {n} character{s}"),
    ("maxLength", _is_str, len, operator.gt, "must be at most {n} character{s}"),
    ("minItems", _is_list, len, operator.lt, "must have at least {n} item{s}"),
    ("maxItems", _is_list, len, operator.gt, "must have at most {n} item{s}"),
)


def _parse_datetime(text: str) -> object:
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)


# format -> (parser that raises ValueError, message)
_FORMATS: dict[str, tuple[Callable[[str], object], str]] = {
    "date": (date.fromisoformat, "must be a date (YYYY-MM-DD)"),
    "date-time": (_parse_datetime, "must be a date and time (ISO 8601, e.g. 2024-05-01T12:00:00Z)"),
}


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _show(value: object) -> str:
    """A schema value as a person reads it: strings bare, 3.0 as 3, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def _same(a: object, b: object) -> bool:
    """Equality without Python's ``True == 1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _check(spec: object, value: object) -> list[str]:
    """The problems of one value against one property schema (``[]`` when it fits)."""
    if not isinstance(spec, dict):
        return []
    fmt = spec.get("format")
    if fmt == FILE_FORMAT:  # an upload's id; the upload module checks that it exists
        return [] if isinstance(value, str) or _is_int(value) else ["must be a file (an upload id)"]
    kind = spec.get("type")
    if isinstance(kind, str) and kind in _TYPES and not _TYPES[kind][0](value):
        return [_TYPES[kind][1]]
    if spec.get("secret") and not isinstance(value, str):
        return ["must be a string"]
    problems: list[str] = []
    enum = spec.get("enum")
    if isinstance(enum, list) and not any(_same(value, option) for option in enum):
        problems.append("must be one of: " + ", ".join(_show(option) for option in enum))
    for keyword, applies, measure, fails, message in _BOUNDS:
        limit = spec.get(keyword)
        if _is_number(limit) and applies(value) and fails(measure(value), limit):
            problems.append(message.format(n=_show(limit), s="" if limit == 1 else "s"))
    pattern = spec.get("pattern")
    if isinstance(pattern, str) and isinstance(value, str):
        compiled = _compiled(pattern)
        if compiled is None:
            problems.append(f"cannot be checked: the pattern {pattern} is not a valid expression")
        elif not compiled.search(value):  # JSON Schema patterns are unanchored
            problems.append(f"does not match the pattern {pattern}")
    if isinstance(fmt, str) and fmt in _FORMATS:
        parse, message = _FORMATS[fmt]
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            parse(value)
        except ValueError:
            problems.append(message)
    items = spec.get("items")
    if isinstance(items, dict) and isinstance(value, list):
        wrong = [(i, p) for i, item in enumerate(value) for p in _check(items, item)]
        problems.extend(f"item {i}: {p}" for i, p in wrong[:MAX_ITEM_MESSAGES])
        if len(wrong) > MAX_ITEM_MESSAGES:
            problems.append(f"and {len(wrong) - MAX_ITEM_MESSAGES} more problems with items")
    return problems


def validate_parameters(
    schema: dict[str, Any] | None, values: object, *, max_fields: int = 200
) -> dict[str, Any]:
    """The parameters ``values`` checked against ``schema``, defaults filled in.

    Raises :class:`ParameterErrors` with every problem found, keyed by field. Decisions:

    - ``values`` must be a JSON object with at most ``max_fields`` keys, whatever the schema
      (the count is checked first, and alone: a flood of fields gets one message).
    - No schema, an empty one, or one without ``"properties"`` is free-form: scripts written
      for the older system read whatever they like, so any object is accepted as it is.
    - ``null`` for a declared field means "not given": it is dropped, then the default (if
      any) fills in, and a required field without a default is reported as required.
      ``null`` for an undeclared field allowed by ``"additionalProperties": true`` is kept.
    - A field absent from ``"properties"`` is an unknown parameter unless
      ``"additionalProperties"`` is true (or a property schema, which it is then checked
      against).
    - A missing field with a ``default`` gets a copy of it, even when it is required.
    - Array items are reported by their index from 0: ``"item 2: must be a string"``.
    """
    if not isinstance(values, dict):
        raise ParameterErrors({WHOLE: ["must be a JSON object"]})
    if len(values) > max_fields:
        raise ParameterErrors(
            {WHOLE: [f"too many parameters: {len(values)} given, at most {max_fields}"]}
        )
    schema = schema or {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return dict(values)
    extra = schema.get("additionalProperties", False)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name in properties:
            if value is None:
                continue
            spec = properties[name]
        elif extra is True or isinstance(extra, dict):
            spec = extra if isinstance(extra, dict) else {}
        else:
            errors[name] = ["unknown parameter"]
            continue
        problems = _check(spec, value)
        if problems:
            errors[name] = problems
        else:
            cleaned[name] = value
    for name, spec in properties.items():
        if name not in cleaned and name not in errors and isinstance(spec, dict):
            if "default" in spec:
                cleaned[name] = copy.deepcopy(spec["default"])
    required = schema.get("required") or []
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and name not in cleaned and name not in errors:
            errors[name] = ["this field is required"]
    if errors:
        raise ParameterErrors(errors)
    return cleaned


def mask_parameters(schema: dict[str, Any] | None, values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with each secret field that was given (not null) shown as ``••••``."""
    return split_secrets(schema, values)[0]


def split_secrets(
    schema: dict[str, Any] | None, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(values with secrets masked, {name: secret value})``: what may be shown, what may not."""
    shown = dict(values)
    secrets: dict[str, Any] = {}
    for name in secret_parameters(schema):
        if shown.get(name) is not None:
            secrets[name] = shown[name]
            shown[name] = SECRET_MASK
    return shown, secrets


def public_schema(schema: Any) -> Any:
    """The schema as shown: a secret parameter's default is never shown."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return schema or {}
    shown = {}
    for name, spec in properties.items():
        if isinstance(spec, dict) and spec.get("secret") and "default" in spec:
            spec = {key: value for key, value in spec.items() if key != "default"}
        shown[name] = spec
    return {**schema, "properties": shown}


def with_stored_secrets(values: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``values`` as edited, where a secret shown masked (or left out) keeps ``stored``."""
    merged = dict(values)
    for name, secret in stored.items():
        if merged.get(name, SECRET_MASK) == SECRET_MASK:
            merged[name] = secret
    return merged
