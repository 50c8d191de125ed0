"""What a script's parameter schema says about its parameters, and whether given values fit it.

A schema is a closed subset of JSON Schema::

    {"type": "object", "properties": {name: prop, ...}, "required": [...]}

where ``prop`` may use ``type`` (string, integer, number, boolean, array with scalar
``items``), ``enum``, ``format`` (date, date-time, textarea, file), ``secret``, ``default``,
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``, ``minLength``/``maxLength``,
``pattern``, ``minItems``/``maxItems`` and the descriptive ``title``/``description``/
``examples``. ``{}`` accepts any value. Each value is checked by :mod:`.values` (the rule the
console's form shares); every message is a plain sentence keyed by the field it is about.

No Django here: the unit tests import this module on its own.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from .values import FILE_FORMAT, MAX_ITEM_MESSAGES, Problem, check_value

__all__ = [
    "FILE_FORMAT",
    "MAX_ITEM_MESSAGES",
    "SECRET_MASK",
    "WHOLE",
    "ParameterErrors",
    "check_parameters",
    "file_parameters",
    "mask_parameters",
    "public_schema",
    "secret_parameters",
    "split_secrets",
    "validate_parameters",
]

SECRET_MASK = "••••"
WHOLE = "parameters"  # the error key for problems with the parameters as a whole


class ParameterErrors(ValueError):
    """Every problem found, as ``{field name: [messages]}``; ``"parameters"`` for the whole.

    ``problems`` holds the same as keys and params, the way the console reports them.
    """

    def __init__(self, problems: dict[str, list[Problem]]) -> None:
        self.problems = problems
        self.errors = {name: [p.sentence() for p in found] for name, found in problems.items()}
        super().__init__(
            "; ".join(f"{name}: {message}" for name, ms in self.errors.items() for message in ms)
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


def validate_parameters(
    schema: dict[str, Any] | None,
    values: object,
    *,
    max_fields: int = 200,
    max_bytes: int | None = None,
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
    - ``max_bytes``: the values that fit, defaults filled in, encoded as the script gets them
      (UTF-8 JSON), take at most this many bytes, or the whole is refused: they travel in one
      environment string and may be command-line arguments too.
    """
    cleaned, problems = check_parameters(schema, values, max_fields=max_fields)
    if not problems and max_bytes is not None:
        size = len(json.dumps(cleaned, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            problems = {WHOLE: [Problem("tooLarge", {"size": size, "most": max_bytes})]}
    if problems:
        raise ParameterErrors(problems)
    return cleaned


def check_parameters(
    schema: dict[str, Any] | None, values: object, *, max_fields: int = 200
) -> tuple[dict[str, Any], dict[str, list[Problem]]]:
    """``(the values with defaults filled in, {field: problems})``: see validate_parameters."""
    if not isinstance(values, dict):
        return {}, {WHOLE: [Problem("notAnObject")]}
    if len(values) > max_fields:
        return {}, {WHOLE: [Problem("tooMany", {"given": len(values), "most": max_fields})]}
    schema = schema or {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return dict(values), {}
    extra = schema.get("additionalProperties", False)
    errors: dict[str, list[Problem]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name in properties:
            if value is None:
                continue
            spec = properties[name]
        elif extra is True or isinstance(extra, dict):
            spec = extra if isinstance(extra, dict) else {}
        else:
            errors[name] = [Problem("unknown")]
            continue
        problems = check_value(spec, value)
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
            errors[name] = [Problem("required")]
    return cleaned, errors


def mask_parameters(schema: dict[str, Any] | None, values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with each secret field that was given (not null) shown as ``••••``."""
    return split_secrets(schema, values)[0]


def split_secrets(
    schema: dict[str, Any] | None, values: dict[str, Any], also: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(values with secrets masked, {name: secret value})``: what may be shown, what may not.

    ``also``: names secret whatever ``schema`` says now (a value stored as secret stays so).
    """
    shown = dict(values)
    secrets: dict[str, Any] = {}
    for name in dict.fromkeys([*secret_parameters(schema), *also]):
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
