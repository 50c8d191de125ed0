"""The subset of JSON Schema a parameter form can render, and the cleaning of a schema to it.

A schema read from a file is cleaned (what falls outside is dropped, with a sentence for
each drop); a manager's schema is refused when cleaning finds anything. A default is
checked by the same value check that a run's parameters go through (:mod:`.values`).
"""

from __future__ import annotations

import re
from typing import Any

from .values import Problem, check_value, fits_type, pattern_error

SCALAR_TYPES = ("string", "integer", "number", "boolean")
TYPES = (*SCALAR_TYPES, "array")
FORMATS = ("date", "date-time", "textarea", "file")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOP_LEVEL_KEYWORDS = ("type", "properties", "required", "title", "description")
# Inference writes additionalProperties for ``**kwargs``, so a copy of it must pass too.
TOP_LEVEL_EXTRA = ("additionalProperties",)


def clean_schema(schema: object) -> tuple[dict[str, Any] | None, list[str]]:
    """The schema with everything outside the subset removed, and a sentence for each removal.

    The cleaned schema always passes :func:`check_schema`, so what the file declares can be
    shown and validated even when part of it was wrong.
    """
    if not isinstance(schema, dict):
        return None, [f"the schema must be a JSON object, not {kind_name(schema)}"]
    if not schema:
        return {}, []
    problems: list[str] = []
    clean: dict[str, Any] = {"type": "object"}
    for key in schema:
        if key not in TOP_LEVEL_KEYWORDS and key not in TOP_LEVEL_EXTRA:
            problems.append(f"unsupported top-level keyword {key!r}")
    if schema.get("type") != "object":
        problems.append('the schema\'s "type" must be "object"')
    for key in ("title", "description"):
        if key in schema:
            if isinstance(schema[key], str):
                clean[key] = schema[key]
            else:
                problems.append(f"the schema's {key} must be a string")

    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        problems.append("properties must be an object of parameter name to property")
        properties = {}
    clean_properties: dict[str, Any] = {}
    for name, spec in properties.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.append(
                f"parameter name {name!r} must be letters, digits and _, not starting with a digit"
            )
        elif not isinstance(spec, dict):
            problems.append(f"parameter {name!r} must be an object of JSON Schema keywords")
        else:
            clean_properties[name], found = _clean_property(name, spec)
            problems.extend(found)
    clean["properties"] = clean_properties

    required = schema.get("required", [])
    if not isinstance(required, list):
        problems.append("required must be a list of parameter names")
        required = []
    clean_required: list[str] = []
    for name in required:
        if not isinstance(name, str) or name not in clean_properties:
            problems.append(f"required names {name!r}, which is not a parameter")
        elif name in clean_required:
            problems.append(f"required names {name!r} twice")
        else:
            clean_required.append(name)
    clean["required"] = clean_required
    if "additionalProperties" in schema:
        if isinstance(schema["additionalProperties"], bool):
            clean["additionalProperties"] = schema["additionalProperties"]
        else:
            problems.append("additionalProperties must be true or false")
    return clean, problems


def _clean_property(name: str, spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    where = f"parameter {name!r}"
    problems: list[str] = []
    kind = spec.get("type")
    if "type" in spec and kind not in TYPES:
        problems.append(f"{where}: type {kind!r} is not supported (use one of {', '.join(TYPES)})")
        kind = None
    if kind == "array":
        error = _items_error(spec["items"]) if "items" in spec else "an array needs items"
        if error:
            problems.append(f"{where}: {error}")
            kind = None
    clean: dict[str, Any] = {"type": kind} if kind else {}
    for key, value in spec.items():
        if key in ("type", "default"):
            continue
        if key == "items":
            if kind == "array":
                clean["items"] = dict(value)
            elif spec.get("type") != "array":  # a declared array's bad items: reported above
                problems.append(f"{where}: items applies to array parameters only")
            continue
        check = _KEYWORD_CHECKS.get(key)
        error = check(value, kind) if check else "is not a supported keyword"
        if error:
            problems.append(f"{where}: {key} {error}")
        else:
            clean[key] = value
    if "default" in spec:
        error = _default_error(spec["default"], clean)
        if error:
            problems.append(f"{where}: the default {spec['default']!r} {error}")
        else:
            clean["default"] = spec["default"]
    return clean, problems


def _items_error(items: object) -> str | None:
    if not isinstance(items, dict):
        return "items must be an object"
    unknown = sorted(set(items) - {"type", "enum"})
    if unknown:
        return f"items may only have type and enum, not {', '.join(unknown)}"
    if items.get("type") not in SCALAR_TYPES:
        return f"items type must be one of {', '.join(SCALAR_TYPES)}"
    if "enum" in items:
        error = _check_enum(items["enum"], items["type"])
        if error:
            return f"items enum {error}"
    return None


def _check_enum(value: object, kind: str | None) -> str | None:
    if kind == "array":
        return "belongs in items for an array"
    if not isinstance(value, list) or not value:
        return "must be a non-empty list"
    own = enum_kind(value)
    if own is None:
        return "must hold strings, numbers or booleans, all of one type"
    if kind and any(not fits_type(item, kind) for item in value):
        return f"values must all be of type {kind}"
    return None


def _check_format(value: object, kind: str | None) -> str | None:
    if value not in FORMATS:
        return f"must be one of {', '.join(FORMATS)}"
    return None if kind == "string" else "applies to string parameters only"


def _check_secret(value: object, kind: str | None) -> str | None:
    if not isinstance(value, bool):
        return "must be true or false"
    return "applies to string parameters only" if value and kind != "string" else None


def _check_bound(value: object, kind: str | None) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    return None if kind in ("integer", "number") else "applies to number parameters only"


def _counter_check(applies_to: str, label: str) -> Any:
    def check(value: object, kind: str | None) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "must be a whole number, 0 or more"
        return None if kind == applies_to else f"applies to {label} parameters only"

    return check


def _check_pattern(value: object, kind: str | None) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    problem = pattern_error(value)
    if problem is not None:
        return problem
    return None if kind == "string" else "applies to string parameters only"


def _check_text(value: object, kind: str | None) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _check_examples(value: object, kind: str | None) -> str | None:
    return None if isinstance(value, list) else "must be a list"


# How a value reaches the script's command line (docs/scripts.md); the validator ignores it.
CLI_KINDS = ("option", "flag", "switch", "count", "const", "positional", "command")


def _check_cli(value: object, kind: str | None) -> str | None:
    if not isinstance(value, dict) or value.get("kind") not in CLI_KINDS:
        return f"must be an object whose kind is one of {', '.join(CLI_KINDS)}"
    return None


_KEYWORD_CHECKS = {
    "enum": _check_enum,
    "format": _check_format,
    "secret": _check_secret,
    "minimum": _check_bound,
    "maximum": _check_bound,
    "exclusiveMinimum": _check_bound,
    "exclusiveMaximum": _check_bound,
    "minLength": _counter_check("string", "string"),
    "maxLength": _counter_check("string", "string"),
    "minItems": _counter_check("array", "array"),
    "maxItems": _counter_check("array", "array"),
    "pattern": _check_pattern,
    "title": _check_text,
    "description": _check_text,
    "examples": _check_examples,
    "cli": _check_cli,
}


def _default_error(value: object, spec: dict[str, Any]) -> str | None:
    """Why a run that gave this default would be refused: the very check a submit makes."""
    phrases: list[str] = []
    for problem in check_value(spec, value):
        phrase = _default_phrase(problem)
        if phrase not in phrases:
            phrases.append(phrase)
    return "; ".join(phrases) or None


def _default_phrase(problem: Problem) -> str:
    if problem.key in _ARTICLES:
        return f"is not {_ARTICLES[problem.key]}"
    if problem.key == "enum":
        return "is not one of the enum values"
    inner = problem.params.get("problem")
    if problem.key == "item" and isinstance(inner, Problem):
        if inner.key in _ARTICLES:
            return f"holds an item that is not {_ARTICLES[inner.key]}"
        if inner.key == "enum":
            return "holds an item that is not one of the items' enum values"
    return problem.sentence()


_ARTICLES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
}


def enum_kind(values: list[Any]) -> str | None:
    """The JSON type all the values share (integers and numbers mix as number), else None."""
    kinds = set()
    for value in values:
        if isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int):
            kinds.add("integer")
        elif isinstance(value, float):
            kinds.add("number")
        elif isinstance(value, str):
            kinds.add("string")
        else:
            return None
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else None


def kind_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__
