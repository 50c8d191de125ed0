"""What the argparse, click and typer readers share: literals, names, and the schema they build.

Each reader turns a script's own command-line interface into :class:`Param` items; this module
puts them in one schema whose properties carry a ``"cli"`` mapping (how the value reaches the
command line, see docs/scripts.md). Everything is read from the syntax tree: nothing here
imports or runs the script.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from .inference import NOT_JSON, as_json
from .subset import clean_schema, enum_kind

NO_VALUE = object()
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A range longer than this becomes minimum/maximum instead of a list to choose from.
RANGE_ENUM_LIMIT = 20


@dataclass
class Param:
    """One parameter as a reader found it; ``command`` names the subcommand it belongs to."""

    name: str
    spec: dict[str, Any]
    cli: dict[str, Any]
    required: bool = False
    command: str | None = None


@dataclass
class Found:
    """A schema read from a script's command-line interface."""

    source: str
    origin: str
    schema: dict[str, Any]
    problems: list[str] = field(default_factory=list)


class Module:
    """The module-level facts every reader needs: import aliases and literal constants."""

    def __init__(self, tree: ast.Module, aliases: dict[str, str]) -> None:
        self.tree = tree
        self.aliases = aliases
        self.docstring = ast.get_docstring(tree)
        self.constants: dict[str, Any] = {}
        for statement in tree.body:
            targets: list[ast.expr] = []
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets = [statement.target]
            value = getattr(statement, "value", None)
            for target in targets:
                if isinstance(target, ast.Name) and isinstance(value, ast.expr):
                    found = self.literal(value)
                    if found is NO_VALUE:
                        self.constants.pop(target.id, None)
                    else:
                        self.constants[target.id] = found

    def imports(self, *packages: str) -> bool:
        """Whether the file imports one of the packages, under any name."""
        roots = {origin.split(".")[0] for origin in self.aliases.values()}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
        return any(package in roots for package in packages)

    def dotted(self, node: ast.expr) -> str:
        """``ap.ArgumentParser`` → ``argparse.ArgumentParser``, through the file's imports."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return ""
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def literal(self, node: ast.expr | None) -> Any:
        """A JSON-able literal (module constants and ``__doc__`` included), else NO_VALUE."""
        if node is None:
            return NO_VALUE
        if isinstance(node, ast.Name):
            if node.id == "__doc__" and self.docstring is not None:
                return self.docstring
            return self.constants.get(node.id, NO_VALUE)
        try:
            value = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return NO_VALUE
        value = as_json(value)
        return NO_VALUE if value is NOT_JSON else value

    def choices(self, node: ast.expr) -> list[Any] | dict[str, int] | None:
        """Literal choices: a list, tuple, set or dict's keys, possibly through a constant,
        ``list(...)``/``sorted(...)``/``tuple(...)`` or ``.keys()``; a ``range`` as bounds."""
        if isinstance(node, ast.Call):
            name = self.dotted(node.func)
            if name in ("list", "sorted", "tuple") and len(node.args) == 1 and not node.keywords:
                return self.choices(node.args[0])
            if name == "range" and not node.keywords:
                return _range(self, node.args)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "keys" and not node.args:
                return self.choices(node.func.value)
            return None
        if isinstance(node, ast.Set | ast.Dict):
            keys = node.elts if isinstance(node, ast.Set) else node.keys
            values = [self.literal(key) for key in keys if key is not None]
            return None if any(value is NO_VALUE for value in values) else values
        value = self.literal(node)
        if isinstance(node, ast.Name) and isinstance(value, dict):
            return list(value)
        return list(value) if isinstance(value, list) else None


def _range(module: Module, args: list[ast.expr]) -> list[Any] | dict[str, int] | None:
    bounds = [module.literal(arg) for arg in args]
    if not 1 <= len(bounds) <= 3 or any(type(bound) is not int for bound in bounds):
        return None
    start, stop, step = (0, bounds[0], 1) if len(bounds) == 1 else (*bounds[:2], 1)
    if len(bounds) == 3:
        step = bounds[2]
    if step == 0:
        return None
    values = range(start, stop, step)
    if len(values) <= RANGE_ENUM_LIMIT:
        return list(values)
    if step != 1:
        return None
    return {"minimum": start, "maximum": stop - 1}


def apply_choices(spec: dict[str, Any], found: list[Any] | dict[str, int]) -> str | None:
    """Put the choices on the property (or its items); a sentence when they do not fit."""
    target = spec["items"] if spec.get("type") == "array" else spec
    if isinstance(found, dict):
        if target.get("type") not in ("integer", "number"):
            return "a range of choices applies to int values only"
        if target is spec:
            spec.update(found)
            return None
        target["enum"] = list(range(found["minimum"], found["maximum"] + 1))
        return None
    if not found:
        return "the choices are empty"
    kind = enum_kind(found)
    if kind is None or (kind != target.get("type") and target.get("type") != "number"):
        return "the choices are not all of the parameter's type"
    target["enum"] = found
    return None


def identifier(text: str) -> str:
    """A property name from a dest or an option: dashes and other signs become ``_``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text.strip())
    if not name or name[0].isdigit():
        name = f"_{name}"
    return name


def unique(name: str, taken: set[str]) -> str:
    """Two parameters never share a property; the later one gets a numbered name."""
    candidate, number = name, 2
    while candidate in taken:
        candidate = f"{name}_{number}"
        number += 1
    taken.add(candidate)
    return candidate


def string_of(module: Module, node: ast.expr | None) -> str | None:
    value = module.literal(node)
    return value if isinstance(value, str) else None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == name:
            return item.value
    return None


def first_paragraph(text: str | None) -> str | None:
    """Help text as a form shows it: click's ``\\f`` cut-off, surrounding space removed."""
    if not text:
        return None
    return text.split("\f", 1)[0].strip() or None


def build_schema(
    params: list[Param],
    description: str | None,
    where: str,
    problems: list[str],
) -> dict[str, Any]:
    """The object schema, cleaned to the subset; a subcommand's parameters are never in
    ``required`` because the other commands run without them."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in params:
        spec = dict(param.spec)
        cli = dict(param.cli)
        if param.command is not None:
            cli["command"] = param.command
        spec["cli"] = cli
        properties[param.name] = spec
        if param.required and param.command is None:
            required.append(param.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if description:
        schema["description"] = description
    clean, found = clean_schema(schema)
    problems.extend(f"{where}: {problem}" for problem in found)
    return clean or {"type": "object", "properties": {}, "required": []}
