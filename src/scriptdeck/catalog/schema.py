"""A script's parameters, read from its file without running it.

Three places may say what a script takes; the first one found wins:

1. a sidecar JSON file beside the script. The primary name is ``<file name>.params.json``
   (``report.py.params.json``): it works for every kind of script and cannot be shared by
   ``report.py`` and ``report.sh`` side by side. ``<stem>.params.json`` (``report.params.json``)
   is read too; when both exist the primary one is used and the other is reported.
2. a module-level literal ``PARAMETERS = {name: {property}, ...}`` in a Python script;
3. the signature of a top-level ``def main(...)``, but only when the SDK is the one calling it
   (``entrypoint``): a ``main`` that the script's own ``__main__`` block calls takes whatever
   that block passes (``main(argv=None)`` is common), not the run's parameters.

A script is an entrypoint when it defines a top-level ``def main(...)`` and neither has an
``if __name__ == "__main__":`` block nor calls ``main`` at its top level: the SDK runs the file
as ``__main__``, so either would run ``main`` a second time.

Python files are read with :mod:`ast` and never imported: syncing the catalog must not run a
line of a script. Standard library only, so the unit tests and the registry share it.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ScriptSignature", "check_schema", "read_script", "secret_fields"]

SIDECAR_SUFFIX = ".params.json"
SCALAR_TYPES = ("string", "integer", "number", "boolean")
TYPES = (*SCALAR_TYPES, "array")
FORMATS = ("date", "date-time", "textarea", "file")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOP_LEVEL_KEYWORDS = ("type", "properties", "required", "title", "description")
# Inference writes additionalProperties for ``**kwargs``, so a copy of it must pass too.
TOP_LEVEL_EXTRA = ("additionalProperties",)

_ANNOTATION_SCALARS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime.date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "datetime.datetime": {"type": "string", "format": "date-time"},
    "Path": {"type": "string"},
    "pathlib.Path": {"type": "string"},
    "Any": {},
    "typing.Any": {},
}
_SEQUENCES = ("list", "List", "Sequence")
_TUPLES = ("tuple", "Tuple")


@dataclass
class ScriptSignature:
    """What a script's file says about how it is called, kept on the catalog row.

    ``schema`` is the full object form, or None when the file says nothing (free-form);
    ``source`` is "sidecar", "declared", "inferred" or ""; ``entrypoint`` tells the runner to
    call ``main(**parameters)`` through the SDK; ``problems`` are sentences for the admin;
    ``preload`` the modules a warm fork server imports ahead for it (``PRELOAD = ["pandas"]``).
    """

    schema: dict[str, Any] | None = None
    source: str = ""
    entrypoint: bool = False
    problems: list[str] = field(default_factory=list)
    preload: list[str] = field(default_factory=list)


class _Unsupported(Exception):
    """An annotation the form cannot represent; the parameter then takes any JSON value."""


def read_script(path: Path) -> ScriptSignature:
    """Never raises for a bad script: what cannot be read becomes a sentence in ``problems``."""
    path = Path(path)
    problems: list[str] = []
    tree: ast.Module | None = None
    if path.suffix == ".py":
        tree = _parse(path, problems)
    main = _entrypoint_main(tree, problems) if tree is not None else None
    entrypoint = main is not None
    preload = _read_preload(tree, problems) if tree is not None else []

    schema = _read_sidecar(path, problems)
    if schema is not None:
        return ScriptSignature(schema, "sidecar", entrypoint, problems, preload)
    if tree is not None:
        schema = _read_declared(tree, problems)
        if schema is not None:
            return ScriptSignature(schema, "declared", entrypoint, problems, preload)
        if main is not None:
            schema = _infer(main, _import_aliases(tree), problems)
            return ScriptSignature(schema, "inferred", entrypoint, problems, preload)
    return ScriptSignature(None, "", entrypoint, problems, preload)


def check_schema(schema: object) -> list[str]:
    """An admin's schema is used as written, so it must stay inside what the form can render."""
    return _clean_schema(schema)[1]


def secret_fields(schema: dict[str, Any] | None) -> set[str]:
    """The parameters whose values must never be stored or shown in clear."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return set()
    return {
        name
        for name, spec in properties.items()
        if isinstance(spec, dict) and spec.get("secret") is True
    }


# Reading the file


def _parse(path: Path, problems: list[str]) -> ast.Module | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        problems.append(f"cannot read {path.name}: {exc.strerror or exc}")
        return None
    try:
        return ast.parse(text, filename=path.name)
    except SyntaxError as exc:
        problems.append(f"{path.name} is not valid Python (line {exc.lineno}): {exc.msg}")
    except ValueError as exc:  # e.g. a NUL byte in the source
        problems.append(f"{path.name} is not valid Python: {exc}")
    except (RecursionError, MemoryError):
        problems.append(f"{path.name} is nested too deeply to read")
    return None


def _read_sidecar(path: Path, problems: list[str]) -> dict[str, Any] | None:
    candidates = [path.with_name(path.name + SIDECAR_SUFFIX)]
    if path.suffix:
        candidates.append(path.with_name(path.stem + SIDECAR_SUFFIX))
    found = [candidate for candidate in candidates if candidate.is_file()]
    if not found:
        return None
    sidecar = found[0]
    if len(found) > 1:
        problems.append(f"both {found[0].name} and {found[1].name} exist: {sidecar.name} is used")
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8-sig", errors="replace"))
    except OSError as exc:
        problems.append(f"cannot read {sidecar.name}: {exc.strerror or exc}")
        return None
    except ValueError as exc:
        problems.append(f"{sidecar.name} is not valid JSON: {exc}")
        return None
    except RecursionError:
        problems.append(f"{sidecar.name} is nested too deeply to read")
        return None
    return _normalise(data, sidecar.name, problems)


def _read_declared(tree: ast.Module, problems: list[str]) -> dict[str, Any] | None:
    node: ast.expr | None = None
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "PARAMETERS"
            for target in statement.targets
        ):
            node = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == "PARAMETERS"
            and statement.value is not None
        ):
            node = statement.value
    if node is None:
        return None
    origin = f"PARAMETERS (line {node.lineno})"
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        problems.append(
            f"{origin} is not a plain literal (only dicts, lists, strings, numbers, "
            "True/False/None): it is ignored"
        )
        return None
    value = _as_json(value)
    if value is _NOT_JSON:
        problems.append(
            f"{origin} holds something JSON cannot (a set, bytes, a key that is not a string...): "
            "it is ignored"
        )
        return None
    return _normalise(value, origin, problems)


PRELOAD_NAMES = ("PRELOAD", "preload")
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _read_preload(tree: ast.Module, problems: list[str]) -> list[str]:
    """A module-level ``PRELOAD = ["pandas", ...]`` literal: module names, each once.

    Only names are kept (``a.b.c``), never code: the warm server imports them by name.
    """
    node: ast.expr | None = None
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id in PRELOAD_NAMES
            for target in statement.targets
        ):
            node = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id in PRELOAD_NAMES
            and statement.value is not None
        ):
            node = statement.value
    if node is None:
        return []
    origin = f"PRELOAD (line {node.lineno})"
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        problems.append(f"{origin} is not a plain list of module names: it is ignored")
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        problems.append(f"{origin} must be a list of module names, not {_kind_name(value)}")
        return []
    modules: list[str] = []
    for name in value:
        if not isinstance(name, str) or not MODULE_NAME.fullmatch(name):
            problems.append(f"{origin}: {name!r} is not a module name; it is left out")
        elif name not in modules:
            modules.append(name)
    return modules


def _normalise(data: object, origin: str, problems: list[str]) -> dict[str, Any] | None:
    """Both declared forms become the full object form, cleaned of what the subset refuses."""
    if not isinstance(data, dict):
        problems.append(f"{origin} must be a JSON object, not {_kind_name(data)}: it is ignored")
        return None
    if data.get("type") == "object":
        full: dict[str, Any] = data
    else:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, spec in data.items():
            if not isinstance(spec, dict):
                problems.append(
                    f"{origin}: parameter {name!r} must be an object of JSON Schema keywords"
                )
                continue
            spec = dict(spec)
            flag = spec.pop("required", False)
            if not isinstance(flag, bool):
                problems.append(f"{origin}: parameter {name!r}: required must be true or false")
            elif flag:
                required.append(name)
            properties[name] = spec
        full = {"type": "object", "properties": properties, "required": required}
    clean, found = _clean_schema(full)
    problems.extend(f"{origin}: {problem}" for problem in found)
    return clean


# The entrypoint and inference from its signature


def _entrypoint_main(tree: ast.Module, problems: list[str]) -> ast.FunctionDef | None:
    main: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    runs_itself = False
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            if statement.name == "main":
                main = statement
        elif isinstance(statement, ast.If) and _is_main_guard(statement.test):
            runs_itself = True
        elif not isinstance(statement, ast.ClassDef) and _calls_main(statement):
            runs_itself = True
    if isinstance(main, ast.AsyncFunctionDef):
        problems.append(
            f"main (line {main.lineno}) is async def: the SDK only calls a plain def main(...), "
            "so the script runs as a file"
        )
        return None
    if main is None or runs_itself:
        return None
    return main


def _is_main_guard(test: ast.expr) -> bool:
    """Any comparison of ``__name__`` with ``"__main__"`` in the test, however it is combined."""
    for node in ast.walk(test):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides) and any(
                isinstance(side, ast.Constant) and side.value == "__main__" for side in sides
            ):
                return True
    return False


def _calls_main(statement: ast.stmt) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "main"
        for node in ast.walk(statement)
    )


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound by imports, to their dotted origin (``dt`` → ``datetime``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _infer(main: ast.FunctionDef, aliases: dict[str, str], problems: list[str]) -> dict[str, Any]:
    arguments = main.args
    for arg in arguments.posonlyargs:
        problems.append(
            f"main: positional-only parameter {arg.arg!r} cannot be passed by name; it is left out"
        )
    if arguments.vararg is not None:
        problems.append(f"main: *{arguments.vararg.arg} is not supported; it is left out")

    positional = [*arguments.posonlyargs, *arguments.args]
    padding: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults = [*padding, *arguments.defaults][len(arguments.posonlyargs) :]
    named = [
        *zip(arguments.args, defaults, strict=True),
        *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
    ]

    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg, default in named:
        spec, may_be_none = _annotation_property(arg, aliases, problems)
        if default is not None:
            value = _literal_default(default)
            if value is not None:
                spec["default"] = value
        elif may_be_none:
            problems.append(
                f"main: parameter {arg.arg!r} may be None but has no default, so a run "
                "that leaves it out stops with a missing parameter"
            )
        else:
            required.append(arg.arg)
        properties[arg.arg] = spec

    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if arguments.kwarg is not None:
        schema["additionalProperties"] = True
    clean, found = _clean_schema(schema)
    problems.extend(f"main: {problem}" for problem in found)
    return clean


def _annotation_property(
    arg: ast.arg, aliases: dict[str, str], problems: list[str]
) -> tuple[dict[str, Any], bool]:
    if arg.annotation is None:
        return {}, False
    try:
        return _property_for(arg.annotation, aliases)
    except _Unsupported as exc:
        reason = f" ({exc})" if str(exc) else ""
        problems.append(
            f"main: parameter {arg.arg!r}: annotation {ast.unparse(arg.annotation)!r} is not "
            f"supported{reason}; it takes any value"
        )
        return {}, False


def _property_for(node: ast.expr, aliases: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """The property an annotation stands for, and whether it also admits None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            parsed = ast.parse(node.value.strip(), mode="eval").body
        except SyntaxError as exc:
            raise _Unsupported("not a valid expression") from exc
        return _property_for(parsed, aliases)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union(_flatten_or(node), aliases)
    if isinstance(node, ast.Subscript):
        construct = _dotted(node.value, aliases).rpartition(".")[2]
        arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if construct == "Optional" and len(arguments) == 1:
            return _property_for(arguments[0], aliases)[0], True
        if construct == "Union":
            return _union(arguments, aliases)
        if construct == "Literal":
            return _literal_enum(arguments)
        if construct == "Annotated":
            spec, may_be_none = _property_for(arguments[0], aliases)
            notes = [a.value for a in arguments[1:] if isinstance(a, ast.Constant)]
            texts = [note for note in notes if isinstance(note, str)]
            if texts:
                spec["description"] = texts[0]
            return spec, may_be_none
        if construct in _SEQUENCES and len(arguments) == 1:
            return _array_of(arguments[0], aliases), False
        if construct in _TUPLES and len(arguments) == 2 and _is_ellipsis(arguments[1]):
            return _array_of(arguments[0], aliases), False
        raise _Unsupported("")
    if _is_none(node):
        raise _Unsupported("None alone")
    spec = _ANNOTATION_SCALARS.get(_dotted(node, aliases))
    if spec is None:
        raise _Unsupported("")
    return dict(spec), False


def _union(members: list[ast.expr], aliases: dict[str, str]) -> tuple[dict[str, Any], bool]:
    others = [member for member in members if not _is_none(member)]
    if len(others) != 1:
        raise _Unsupported("a union of several types")
    spec, may_be_none = _property_for(others[0], aliases)
    return spec, may_be_none or len(others) < len(members)


def _literal_enum(arguments: list[ast.expr]) -> tuple[dict[str, Any], bool]:
    values: list[Any] = []
    may_be_none = False
    for argument in arguments:
        try:
            value = ast.literal_eval(argument)
        except (ValueError, TypeError, SyntaxError) as exc:
            raise _Unsupported("Literal values must be plain literals") from exc
        if value is None:
            may_be_none = True
        else:
            values.append(value)
    kind = _enum_kind(values)
    if kind is None:
        raise _Unsupported("Literal values must be strings, numbers or booleans of one type")
    return {"type": kind, "enum": values}, may_be_none


def _array_of(node: ast.expr, aliases: dict[str, str]) -> dict[str, Any]:
    items, may_be_none = _property_for(node, aliases)
    if may_be_none or items.get("type") not in SCALAR_TYPES or set(items) - {"type", "enum"}:
        raise _Unsupported("list items must be str, int, float, bool or a Literal")
    return {"type": "array", "items": items}


def _flatten_or(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*_flatten_or(node.left), *_flatten_or(node.right)]
    return [node]


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


_NOT_JSON = object()


def _literal_default(node: ast.expr) -> Any:
    """A JSON default, or None when there is none to show (not a literal, None, not JSON)."""
    try:
        value = _as_json(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return None if value is _NOT_JSON else value


def _as_json(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        items = [_as_json(item) for item in value]
        return _NOT_JSON if any(item is _NOT_JSON for item in items) else items
    if isinstance(value, dict):
        converted = {key: _as_json(item) for key, item in value.items()}
        if any(not isinstance(key, str) for key in converted) or any(
            item is _NOT_JSON for item in converted.values()
        ):
            return _NOT_JSON
        return converted
    return _NOT_JSON


# The supported subset


def _clean_schema(schema: object) -> tuple[dict[str, Any] | None, list[str]]:
    """The schema with everything outside the subset removed, and a sentence for each removal.

    The cleaned schema always passes :func:`check_schema`, so what the file declares can be
    shown and validated even when part of it was wrong.
    """
    if not isinstance(schema, dict):
        return None, [f"the schema must be a JSON object, not {_kind_name(schema)}"]
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
        error = _value_error(spec["default"], clean)
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
    own = _enum_kind(value)
    if own is None:
        return "must hold strings, numbers or booleans, all of one type"
    if kind and any(not _fits(item, kind) for item in value):
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
    try:
        re.compile(value)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None if kind == "string" else "applies to string parameters only"


def _check_text(value: object, kind: str | None) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _check_examples(value: object, kind: str | None) -> str | None:
    return None if isinstance(value, list) else "must be a list"


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
}


def _value_error(value: object, spec: dict[str, Any]) -> str | None:
    kind = spec.get("type")
    if kind and not _fits(value, kind):
        return f"is not {_ARTICLES[kind]}"
    if "enum" in spec and not _one_of(value, spec["enum"]):
        return "is not one of the enum values"
    if kind == "array" and isinstance(value, list):
        items = spec["items"]
        if any(not _fits(item, items["type"]) for item in value):
            return f"holds an item that is not {_ARTICLES[items['type']]}"
        if "enum" in items and any(not _one_of(item, items["enum"]) for item in value):
            return "holds an item that is not one of the items' enum values"
    return None


_ARTICLES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "an array",
}


def _fits(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return kind == "number" or isinstance(value, int) or value.is_integer()


def _one_of(value: object, choices: list[Any]) -> bool:
    # 1 == True in Python, not in JSON.
    return any(choice == value and _enum_kind([choice, value]) for choice in choices)


def _enum_kind(values: list[Any]) -> str | None:
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


def _kind_name(value: object) -> str:
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
