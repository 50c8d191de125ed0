"""A typer command read from its function's signature, as typer builds the command line.

A parameter without a default is an argument; one with a default is an option named
``--kebab-case``; ``Annotated[T, typer.Option(...)]`` and ``= typer.Option(...)`` say more.
A bool option is the switch ``--x/--no-x`` unless its names are given. One ``@app.command()``
and no ``@app.callback()`` is run without a command word, as typer does.
"""

from __future__ import annotations

import ast
from typing import Any

from .cli_click import command_name
from .cli_common import (
    NO_VALUE,
    Found,
    Module,
    Param,
    build_schema,
    first_paragraph,
    identifier,
    keyword,
    string_of,
    unique,
)
from .inference import _property_for, _Unsupported

_FILES = ("FileText", "FileBinaryRead")
_SKIPPED = ("typer.Context", "click.Context")


def read_typer(module: Module) -> Found | None:
    if not module.imports("typer"):
        return None
    functions = {
        statement.name: statement
        for statement in module.tree.body
        if isinstance(statement, ast.FunctionDef)
    }
    apps: dict[str, int] = {}
    helps_of_app: str | None = None
    for statement in module.tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            if module.dotted(statement.value.func) == "typer.Typer":
                helps_of_app = helps_of_app or string_of(module, keyword(statement.value, "help"))
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        apps[target.id] = statement.lineno
    commands: list[tuple[str, ast.FunctionDef, int]] = []
    callback: ast.FunctionDef | None = None
    for function in functions.values():
        for decorator in function.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id in apps
            ):
                continue
            if target.attr == "command":
                given = string_of(module, call.args[0]) if call and call.args else None
                given = given or (string_of(module, keyword(call, "name")) if call else None)
                commands.append((given or command_name(function.name), function, decorator.lineno))
            elif target.attr == "callback":
                callback = function
    problems: list[str] = []
    builder = _Builder(module, problems)
    if not commands:
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Call)
                and module.dotted(node.func) == "typer.run"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in functions
            ):
                function = functions[node.args[0].id]
                builder.function(function, None)
                origin = f"read from typer in {function.name}(), line {function.lineno}"
                description = first_paragraph(ast.get_docstring(function))
                schema = build_schema(builder.params, description, "typer", problems)
                return Found("typer", origin, schema, problems)
        return None
    if callback is not None:
        builder.function(callback, None)
    app_line = min(apps.values())
    own = ast.get_docstring(callback) if callback is not None else None
    description = first_paragraph(own or helps_of_app)
    if len(commands) == 1 and callback is None:
        _, function, line = commands[0]
        builder.function(function, None)
        description = first_paragraph(ast.get_docstring(function))
        origin = f"read from typer in {function.name}(), line {line}"
    else:
        names = [name for name, _, _ in commands]
        helps = [
            f"{name}: {first_paragraph(ast.get_docstring(function))}"
            for name, function, _ in commands
            if ast.get_docstring(function)
        ]
        spec: dict[str, Any] = {"type": "string", "enum": names}
        if helps:
            spec["description"] = "; ".join(helps)
        position = sum(1 for param in builder.params if param.cli["kind"] == "positional")
        cli = {"kind": "command", "position": position}
        builder.params.append(Param(unique("command", builder.taken), spec, cli, True))
        for name, function, _ in commands:
            builder.function(function, name)
        name = _app_name(apps, app_line)
        origin = f"read from typer in {name} = typer.Typer(), line {app_line}"
    schema = build_schema(builder.params, description, "typer", problems)
    return Found("typer", origin, schema, problems)


def _app_name(apps: dict[str, int], line: int) -> str:
    return next(name for name, at in apps.items() if at == line)


class _Builder:
    def __init__(self, module: Module, problems: list[str]) -> None:
        self.module = module
        self.problems = problems
        self.params: list[Param] = []
        self.taken: set[str] = set()

    def function(self, function: ast.FunctionDef, command: str | None) -> None:
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        padding: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
        named = [
            *zip(positional, [*padding, *arguments.defaults], strict=True),
            *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
        ]
        position = 0
        for arg, default in named:
            param = self._param(arg, default, command)
            if param is None:
                continue
            if param.cli["kind"] == "positional":
                param.cli["position"] = position
                position += 1
            param.name = unique(param.name, self.taken)
            self.params.append(param)

    def _param(self, arg: ast.arg, default: ast.expr | None, command: str | None) -> Param | None:
        annotation = arg.annotation
        info: ast.Call | None = None
        if isinstance(annotation, ast.Subscript) and self.module.dotted(annotation.value).endswith(
            "Annotated"
        ):
            parts = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else []
            if parts:
                annotation = parts[0]
                calls = [part for part in parts[1:] if isinstance(part, ast.Call)]
                info = next((call for call in calls if self._info_kind(call)), None)
        value: object = NO_VALUE
        decls_from = 0
        required = default is None
        if isinstance(default, ast.Call) and self._info_kind(default):
            info = default
            decls_from = 1
            raw = info.args[0] if info.args else keyword(info, "default")
            required = raw is None or (isinstance(raw, ast.Constant) and raw.value is ...)
            value = NO_VALUE if required else self.module.literal(raw)
        elif isinstance(default, ast.Constant) and default.value is ...:
            required = True  # Annotated[T, typer.Option()] = ... : typer asks for it
        elif default is not None:
            value = self._member(default)
            if value is NO_VALUE:
                self.problems.append(
                    f"line {arg.lineno}: {arg.arg}: the default {ast.unparse(default)} is not "
                    "a literal; when left empty, the script's own default applies"
                )
        if annotation is not None and self.module.dotted(annotation) in _SKIPPED:
            return None
        spec = self._annotation(arg, annotation)
        kind = self._info_kind(info) if info is not None else None
        is_argument = kind == "Argument" or (kind is None and default is None)
        if value is not NO_VALUE and value is not None:
            spec["default"] = value
        if is_argument:
            param = Param(identifier(arg.arg), spec, {"kind": "positional"}, required, command)
        else:
            decls = [string_of(self.module, d) for d in (info.args[decls_from:] if info else [])]
            flags = [d for d in decls if d]
            param = Param(
                identifier(arg.arg), spec, self._cli(arg.arg, spec, flags, info), required, command
            )
        if info is not None:
            self._described(info, param)
        return param

    def _cli(
        self, name: str, spec: dict[str, Any], flags: list[str], info: ast.Call | None
    ) -> dict[str, Any]:
        flag = "--" + name.replace("_", "-")
        if flags:
            first, _, second = flags[0].partition("/")
            longs = [f for f in flags if f.startswith("--")]
            flag = first.strip() or flag
            if spec.get("type") == "boolean" and second.strip():
                return {"kind": "switch", "on": flag, "off": second.strip()}
            flag = (longs[0].partition("/")[0].strip() if longs else flag) or flag
        if info is not None and self.module.literal(keyword(info, "count")) is True:
            spec.update({"type": "integer", "minimum": 0})
            spec.setdefault("default", 0)
            return {"kind": "count", "flag": flag}
        if spec.get("type") == "boolean":
            spec.setdefault("default", False)
            if flags:
                return {"kind": "flag", "flag": flag}
            return {"kind": "switch", "on": flag, "off": "--no-" + flag[2:]}
        if spec.get("type") == "array":
            return {"kind": "option", "flag": flag, "repeat": True}
        return {"kind": "option", "flag": flag}

    def _info_kind(self, node: ast.expr | None) -> str | None:
        if isinstance(node, ast.Call):
            name = self.module.dotted(node.func)
            if name in ("typer.Option", "typer.Argument"):
                return name.rpartition(".")[2]
        return None

    def _annotation(self, arg: ast.arg, annotation: ast.expr | None) -> dict[str, Any]:
        if annotation is None:
            return {"type": "string"}
        if self.module.dotted(annotation).rpartition(".")[2] in _FILES:
            return {"type": "string", "format": "file"}
        enum = self._enum_class(annotation)
        if enum is not None:
            return enum
        try:
            spec, _ = _property_for(annotation, self.module.aliases)
        except _Unsupported:
            self.problems.append(
                f"line {arg.lineno}: {arg.arg}: the type {ast.unparse(annotation)} is not "
                "understood; the value is passed as text"
            )
            return {"type": "string"}
        return spec or {"type": "string"}

    def _member(self, node: ast.expr) -> object:
        """A literal default, or an enum member's value (``Color.red`` → ``"red"``)."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            enum = self._enum_values(node.value.id)
            return enum.get(node.attr, NO_VALUE) if enum else NO_VALUE
        return self.module.literal(node)

    def _enum_values(self, name: str) -> dict[str, str] | None:
        for statement in self.module.tree.body:
            if isinstance(statement, ast.ClassDef) and statement.name == name:
                bases = [self.module.dotted(base).rpartition(".")[2] for base in statement.bases]
                if not any(base.endswith("Enum") for base in bases):
                    return None
                members: dict[str, str] = {}
                for item in statement.body:
                    if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
                        value = self.module.literal(item.value)
                        if isinstance(value, str):
                            members[item.targets[0].id] = value
                return members
        return None

    def _enum_class(self, annotation: ast.expr) -> dict[str, Any] | None:
        """``class Color(str, Enum): red = "red"``: typer offers the members' values."""
        if not isinstance(annotation, ast.Name):
            return None
        members = self._enum_values(annotation.id)
        return {"type": "string", "enum": list(members.values())} if members else None

    def _described(self, info: ast.Call, param: Param) -> None:
        text = string_of(self.module, keyword(info, "help"))
        if text:
            param.spec["description"] = text
        metavar = string_of(self.module, keyword(info, "metavar"))
        if metavar:
            param.spec["title"] = metavar
        for key, name in (("minimum", "min"), ("maximum", "max")):
            bound = self.module.literal(keyword(info, name))
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                param.spec[key] = bound
        if self.module.literal(keyword(info, "hide_input")) is True:
            param.spec["secret"] = True
