"""Whether a script's ``main`` is called by the SDK, and the schema its signature implies.

Read from the syntax tree only: a script is never imported to learn what it takes.
"""

from __future__ import annotations

import ast
from typing import Any

from .subset import SCALAR_TYPES, clean_schema, enum_kind

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


class _Unsupported(Exception):
    """An annotation the form cannot represent; the parameter then takes any JSON value."""


def entrypoint_main(tree: ast.Module, problems: list[str]) -> ast.FunctionDef | None:
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


def import_aliases(tree: ast.Module) -> dict[str, str]:
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


def infer(main: ast.FunctionDef, aliases: dict[str, str], problems: list[str]) -> dict[str, Any]:
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
    clean, found = clean_schema(schema)
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
    kind = enum_kind(values)
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


NOT_JSON = object()


def _literal_default(node: ast.expr) -> Any:
    """A JSON default, or None when there is none to show (not a literal, None, not JSON)."""
    try:
        value = as_json(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return None if value is NOT_JSON else value


def as_json(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        items = [as_json(item) for item in value]
        return NOT_JSON if any(item is NOT_JSON for item in items) else items
    if isinstance(value, dict):
        converted = {key: as_json(item) for key, item in value.items()}
        if any(not isinstance(key, str) for key in converted) or any(
            item is NOT_JSON for item in converted.values()
        ):
            return NOT_JSON
        return converted
    return NOT_JSON
