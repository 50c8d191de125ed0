"""A click command or group read from its decorators, as click itself would build it.

Options and arguments are read from ``@click.option`` / ``@click.argument`` decorators in
source order (click shows them so in ``--help``); a ``@click.group`` makes a ``command``
parameter whose choices are the functions decorated ``@<group>.command()`` or added with
``<group>.add_command(...)``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .cli_common import (
    NO_VALUE,
    Found,
    Module,
    Param,
    apply_choices,
    build_schema,
    first_paragraph,
    identifier,
    keyword,
    string_of,
    unique,
)

PACKAGES = ("click", "rich_click")
_TYPES = {
    "str": "string",
    "STRING": "string",
    "int": "integer",
    "INT": "integer",
    "float": "number",
    "FLOAT": "number",
    "bool": "boolean",
    "BOOL": "boolean",
    "UUID": "string",
}
# A bool option that is not a flag takes its value as text: "--strip false".
_BOOL_TEXT = {"type": "string", "enum": ["true", "false"]}
# click 8.2 drops these endings from a function's name when it names the command.
_SUFFIXES = ("_command", "_cmd", "_group", "_grp")


@dataclass
class _Command:
    function: ast.FunctionDef
    line: int
    name: str
    group: bool
    description: str | None
    parent: str | None = None
    children: list[_Command] = field(default_factory=list)


def _click_name(module: Module, node: ast.expr) -> str:
    """``click.option`` for any alias of click (``import click as c``, ``rich_click``)."""
    name = module.dotted(node)
    root, _, rest = name.partition(".")
    return f"click.{rest}" if root in PACKAGES and rest else name


def command_name(function: str) -> str:
    for suffix in _SUFFIXES:
        if function.endswith(suffix) and function != suffix:
            function = function[: -len(suffix)]
            break
    return function.lower().replace("_", "-")


def read_click(module: Module) -> Found | None:
    if not module.imports(*PACKAGES):
        return None
    commands: dict[str, _Command] = {}
    for statement in module.tree.body:
        if isinstance(statement, ast.FunctionDef):
            found = _command_of(module, statement)
            if found is not None:
                commands[statement.name] = found
    if not commands:
        return None
    problems: list[str] = []
    _add_commands(module, commands, problems)
    for command in commands.values():
        if command.parent in commands:
            commands[command.parent].children.append(command)
    tops = [command for command in commands.values() if command.parent not in commands]
    groups = [command for command in tops if command.group]
    root = (groups or tops)[0]
    for other in tops:
        if other is not root:
            problems.append(f"line {other.line}: another click command, {other.name}, is not read")
    builder = _Builder(module, problems)
    builder.command(root, None)
    if root.group:
        builder.commands(root)
    origin = f"read from click in {root.function.name}(), line {root.line}"
    schema = build_schema(builder.params, root.description, "click", problems)
    return Found("click", origin, schema, problems)


def _command_of(module: Module, function: ast.FunctionDef) -> _Command | None:
    for decorator in function.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call else decorator
        name = _click_name(module, target)
        parent = None
        if name not in ("click.command", "click.group"):
            if not isinstance(target, ast.Attribute) or target.attr not in ("command", "group"):
                continue
            if not isinstance(target.value, ast.Name):
                continue
            parent = target.value.id
        given = None
        if call is not None:
            given = string_of(module, call.args[0]) if call.args else None
            given = given or string_of(module, keyword(call, "name"))
        help_text = string_of(module, keyword(call, "help")) if call else None
        description = first_paragraph(help_text or ast.get_docstring(function))
        group = (name == "click.group") or target_attr(target) == "group"
        return _Command(
            function,
            decorator.lineno,
            given or command_name(function.name),
            group,
            description,
            parent,
        )
    return None


def _as_text(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_as_text(item) for item in value]
    return value


def target_attr(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else ""


def _add_commands(module: Module, commands: dict[str, _Command], problems: list[str]) -> None:
    """``cli.add_command(other, name="x")`` at the top level puts ``other`` under ``cli``."""
    for node in ast.walk(module.tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_command"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in commands
        ):
            continue
        if not node.args or not isinstance(node.args[0], ast.Name):
            continue
        child = commands.get(node.args[0].id)
        if child is None:
            problems.append(f"line {node.lineno}: the command added here is not read")
            continue
        child.parent = node.func.value.id
        given = string_of(module, node.args[1]) if len(node.args) > 1 else None
        child.name = given or string_of(module, keyword(node, "name")) or child.name


class _Builder:
    def __init__(self, module: Module, problems: list[str]) -> None:
        self.module = module
        self.problems = problems
        self.params: list[Param] = []
        self.taken: set[str] = set()

    def commands(self, group: _Command) -> None:
        if not group.children:
            self.problems.append(f"line {group.line}: the group {group.name} has no command")
            return
        names = [child.name for child in group.children]
        helps = [
            f"{child.name}: {child.description}" for child in group.children if child.description
        ]
        spec: dict[str, Any] = {"type": "string", "enum": names}
        if helps:
            spec["description"] = "; ".join(helps)
        position = sum(1 for param in self.params if param.cli["kind"] == "positional")
        cli = {"kind": "command", "position": position}
        self.params.append(Param(unique("command", self.taken), spec, cli, True))
        for child in group.children:
            self.command(child, child.name)
            if child.group:
                self.problems.append(
                    f"line {child.line}: commands inside the group {child.name} are not read"
                )

    def command(self, command: _Command, name: str | None) -> None:
        position = 0
        for decorator in command.function.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            kind = _click_name(self.module, decorator.func)
            if kind in ("click.option", "click.argument"):
                param = self._param(decorator, kind == "click.argument", name)
            elif kind == "click.confirmation_option":
                spec = {"type": "boolean", "default": False}
                param = Param("yes", spec, {"kind": "flag", "flag": "--yes"}, False, name)
            elif kind == "click.password_option":
                spec = {"type": "string", "secret": True}
                cli = {"kind": "option", "flag": "--password"}
                param = Param("password", spec, cli, False, name)
            else:
                continue
            if param is None:
                continue
            if param.cli["kind"] == "positional":
                param.cli["position"] = position
                position += 1
            param.name = unique(param.name, self.taken)
            self.params.append(param)

    def _param(self, call: ast.Call, argument: bool, command: str | None) -> Param | None:
        line = f"line {call.lineno}"
        decls = [string_of(self.module, arg) for arg in call.args]
        if not decls or any(decl is None for decl in decls):
            self.problems.append(f"{line}: the option's names are not plain strings; left out")
            return None
        names = [decl for decl in decls if decl]
        if argument:
            return self._argument(call, names[0], command)
        flags: list[str] = []
        secondary: list[str] = []
        identifier_name = None
        for decl in names:
            if not decl.startswith("-"):
                identifier_name = decl
                continue
            first, _, second = decl.partition("/")
            if first.strip():
                flags.append(first.strip())
            if second.strip():
                secondary.append(second.strip())
        if not flags:
            self.problems.append(f"{line}: the option has no flag; left out")
            return None
        label = max(flags, key=lambda flag: len(flag) - len(flag.lstrip("-")))
        dest = identifier_name or label.lstrip("-").replace("-", "_").lower()
        flag = next((name for name in flags if name.startswith("--")), flags[0])
        spec, cli = self._option(call, flag, secondary, label)
        required = self._true(call, "required") and "default" not in spec
        return self._described(call, Param(identifier(dest), spec, cli, required, command))

    def _option(
        self, call: ast.Call, flag: str, secondary: list[str], label: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        default = self._default(call, label)
        if secondary:
            spec: dict[str, Any] = {"type": "boolean"}
            spec["default"] = default if isinstance(default, bool) else False
            return spec, {"kind": "switch", "on": flag, "off": secondary[0]}
        if self._true(call, "is_flag") or keyword(call, "flag_value") is not None:
            if keyword(call, "flag_value") is not None:
                return {"type": "boolean", "default": False}, {"kind": "const", "flag": flag}
            value = default if isinstance(default, bool) else False
            return {"type": "boolean", "default": value}, {"kind": "flag", "flag": flag}
        if self._true(call, "count"):
            start = default if type(default) is int else 0
            spec = {"type": "integer", "minimum": 0, "default": start}
            return spec, {"kind": "count", "flag": flag}
        item = self._type(call, default, label)
        cli: dict[str, Any] = {"kind": "option", "flag": flag}
        nargs = self.module.literal(keyword(call, "nargs"))
        if self._true(call, "multiple"):
            spec = {"type": "array", "items": item}
            cli["repeat"] = True
        elif type(nargs) is int and nargs > 1:
            spec = {"type": "array", "items": item, "minItems": nargs, "maxItems": nargs}
            cli["nargs"] = nargs
        else:
            spec = item
        if default is not NO_VALUE and default is not None:
            spec["default"] = _as_text(default) if item == _BOOL_TEXT else default
        if self._true(call, "hide_input") and spec.get("type") == "string":
            spec["secret"] = True
        return spec, cli

    def _argument(self, call: ast.Call, decl: str, command: str | None) -> Param:
        label = decl
        default = self._default(call, label)
        item = self._type(call, default, label)
        nargs = self.module.literal(keyword(call, "nargs"))
        if nargs == -1:
            spec: dict[str, Any] = {"type": "array", "items": item}
        elif type(nargs) is int and nargs > 1:
            spec = {"type": "array", "items": item, "minItems": nargs, "maxItems": nargs}
        else:
            spec = item
        if default is not NO_VALUE and default is not None:
            spec["default"] = _as_text(default) if item == _BOOL_TEXT else default
        given = self.module.literal(keyword(call, "required"))
        required = given is True or (given is NO_VALUE and nargs != -1 and "default" not in spec)
        name = identifier(decl.replace("-", "_").lower())
        param = Param(name, spec, {"kind": "positional"}, required, command)
        return self._described(call, param)

    def _described(self, call: ast.Call, param: Param) -> Param:
        text = string_of(self.module, keyword(call, "help"))
        if text:
            param.spec["description"] = text
        metavar = string_of(self.module, keyword(call, "metavar"))
        if metavar:
            param.spec["title"] = metavar
        return param

    def _type(self, call: ast.Call, default: object, label: str) -> dict[str, Any]:
        node = keyword(call, "type")
        if node is None:
            sample = default[0] if isinstance(default, list) and default else default
            if isinstance(sample, bool):
                return dict(_BOOL_TEXT)
            for kind, name in ((int, "integer"), (float, "number")):
                if isinstance(sample, kind):
                    return {"type": name}
            return {"type": "string"}
        target = node.func if isinstance(node, ast.Call) else node
        name = _click_name(self.module, target)
        short = name.removeprefix("click.")
        if short in _TYPES and not isinstance(node, ast.Call):
            kind = _TYPES[short]
            return dict(_BOOL_TEXT) if kind == "boolean" else {"type": kind}
        if isinstance(node, ast.Call) and short == "Choice":
            spec: dict[str, Any] = {"type": "string"}
            found = self.module.choices(node.args[0]) if node.args else None
            error = "they cannot be read" if found is None else apply_choices(spec, found)
            if error:
                self.problems.append(f"line {call.lineno}: {label}: choices are not used: {error}")
            return spec
        if isinstance(node, ast.Call) and short in ("IntRange", "FloatRange"):
            return self._range(node, "integer" if short == "IntRange" else "number")
        if short in ("Path", "DateTime"):
            return {"type": "string"}
        if short == "File":
            mode = "r"
            if isinstance(node, ast.Call):
                given = node.args[0] if node.args else keyword(node, "mode")
                mode = string_of(self.module, given) or "r"
            return {"type": "string", "format": "file"} if "r" in mode else {"type": "string"}
        self.problems.append(
            f"line {call.lineno}: {label}: type={ast.unparse(node)} is not understood; "
            "the value is passed as text"
        )
        return {"type": "string"}

    def _range(self, node: ast.Call, kind: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": kind}
        bounds = dict(zip(("minimum", "maximum"), node.args, strict=False))
        for key, name in (("minimum", "min"), ("maximum", "max")):
            given = keyword(node, name)
            if given is not None:
                bounds[key] = given
        for key, bound in bounds.items():
            value = self.module.literal(bound)
            if isinstance(value, int | float) and not isinstance(value, bool):
                spec[key] = value
        return spec

    def _default(self, call: ast.Call, label: str) -> object:
        node = keyword(call, "default")
        if node is None:
            return NO_VALUE
        value = self.module.literal(node)
        if value is NO_VALUE:
            self.problems.append(
                f"line {call.lineno}: {label}: the default {ast.unparse(node)} is not a literal; "
                "when left empty, the script's own default applies"
            )
        return value

    def _true(self, call: ast.Call, name: str) -> bool:
        return self.module.literal(keyword(call, name)) is True
