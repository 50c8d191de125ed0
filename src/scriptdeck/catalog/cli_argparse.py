"""An argparse parser read from the syntax tree: the calls are followed, never made.

The module body is walked in order; a call of a function defined in the file is followed
into its body (with the parsers passed to it), so a parser built in ``build_parser()``,
filled by a helper and parsed in ``main(argv=None)`` is found whole. Only names bound to
parsers, groups and subparsers are tracked; every other call is looked through for nested
calls and otherwise ignored.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .cli_argparse_args import ArgumentBuilder
from .cli_common import Found, Module, build_schema, keyword, string_of

PARSER = "argparse.ArgumentParser"
MAX_DEPTH = 8


@dataclass
class _Parser:
    line: int
    scope: str
    description: str | None = None
    params: list[tuple[ast.Call, str | None]] = field(default_factory=list)
    parents: list[_Parser] = field(default_factory=list)
    subparsers: _Subparsers | None = None
    parsed: bool = False
    is_parent: bool = False
    command: str | None = None


@dataclass
class _Group:
    parser: _Parser


@dataclass
class _Subparsers:
    parser: _Parser
    call: ast.Call
    commands: list[tuple[str, str | None, _Parser]] = field(default_factory=list)


class _Reader:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.functions = {
            statement.name: statement
            for statement in module.tree.body
            if isinstance(statement, ast.FunctionDef)
        }
        self.globals: dict[str, object] = {}
        self.parsers: list[_Parser] = []
        self.active: list[str] = []
        self.visited: set[str] = set()

    def run(self) -> None:
        self._block(self.module.tree.body, self.globals)
        for name, function in self.functions.items():
            if name not in self.visited:
                self._enter(function, [], {})

    # Walking statements and expressions

    def _block(self, statements: list[ast.stmt], env: dict[str, object]) -> object:
        returned: object = None
        for statement in statements:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if isinstance(statement, ast.Assign | ast.AnnAssign):
                value = self._expr(statement.value, env)
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                for target in targets:
                    if isinstance(target, ast.Name):
                        if value is None:
                            env.pop(target.id, None)
                        else:
                            env[target.id] = value
            elif isinstance(statement, ast.Return):
                value = self._expr(statement.value, env)
                returned = value if value is not None else returned
            elif isinstance(statement, ast.Expr):
                self._expr(statement.value, env)
            else:
                for name in ("body", "orelse", "finalbody"):
                    inner = getattr(statement, name, None)
                    if isinstance(inner, list):
                        returned = self._block(inner, env) or returned
                for handler in getattr(statement, "handlers", []) or []:
                    returned = self._block(handler.body, env) or returned
                for case in getattr(statement, "cases", []) or []:
                    returned = self._block(case.body, env) or returned
                for item in getattr(statement, "items", []) or []:
                    self._expr(item.context_expr, env)
        return returned

    def _expr(self, node: ast.expr | None, env: dict[str, object]) -> object:
        if node is None:
            return None
        if isinstance(node, ast.Name):
            return env.get(node.id, self.globals.get(node.id))
        if isinstance(node, ast.Call):
            return self._call(node, env)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child, env)
        return None

    def _call(self, call: ast.Call, env: dict[str, object]) -> object:
        func = call.func
        if self.module.dotted(func) == PARSER:
            return self._new_parser(call, env)
        if isinstance(func, ast.Attribute):
            receiver = self._expr(func.value, env)
            if isinstance(receiver, _Parser | _Group | _Subparsers):
                return self._method(receiver, func.attr, call, env)
        arguments = [self._expr(arg, env) for arg in call.args]
        keywords = {item.arg: self._expr(item.value, env) for item in call.keywords if item.arg}
        if isinstance(func, ast.Name) and func.id in self.functions and func.id not in self.active:
            if not env.get(func.id) and len(self.active) < MAX_DEPTH:
                return self._enter(self.functions[func.id], arguments, keywords)
        return None

    def _enter(
        self, function: ast.FunctionDef, arguments: list[object], keywords: dict[str, object]
    ) -> object:
        self.visited.add(function.name)
        env: dict[str, object] = {}
        names = [arg.arg for arg in [*function.args.posonlyargs, *function.args.args]]
        for name, value in zip(names, arguments, strict=False):
            if value is not None:
                env[name] = value
        for name, value in keywords.items():
            if value is not None:
                env[name] = value
        self.active.append(function.name)
        try:
            return self._block(function.body, env)
        finally:
            self.active.pop()

    # What a parser's methods do

    def _new_parser(self, call: ast.Call, env: dict[str, object]) -> _Parser:
        scope = self.active[-1] if self.active else ""
        parser = _Parser(call.lineno, scope, string_of(self.module, keyword(call, "description")))
        parents = keyword(call, "parents")
        if isinstance(parents, ast.List | ast.Tuple):
            for element in parents.elts:
                parent = self._expr(element, env)
                if isinstance(parent, _Parser):
                    parent.is_parent = True
                    parser.parents.append(parent)
        self.parsers.append(parser)
        return parser

    def _method(
        self, receiver: _Parser | _Group | _Subparsers, method: str, call: ast.Call, env: dict
    ) -> object:
        if isinstance(receiver, _Subparsers):
            if method != "add_parser":
                return None
            name = string_of(self.module, call.args[0]) if call.args else None
            name = name or string_of(self.module, keyword(call, "name"))
            if name is None:
                return None
            sub = _Parser(call.lineno, receiver.parser.scope, command=name)
            sub.description = string_of(self.module, keyword(call, "description"))
            help_text = string_of(self.module, keyword(call, "help")) or sub.description
            receiver.commands.append((name, help_text, sub))
            return sub
        parser = receiver.parser if isinstance(receiver, _Group) else receiver
        if method == "add_argument":
            parser.params.append((call, parser.command))
        elif method in ("add_argument_group", "add_mutually_exclusive_group"):
            return _Group(parser)
        elif method == "add_subparsers" and isinstance(receiver, _Parser):
            receiver.subparsers = _Subparsers(receiver, call)
            return receiver.subparsers
        elif method.startswith("parse_") and isinstance(receiver, _Parser):
            receiver.parsed = True
            for arg in call.args:
                self._expr(arg, env)
        return None


def read_argparse(module: Module, file_name: str) -> Found | None:
    if not module.imports("argparse"):
        return None
    reader = _Reader(module)
    reader.run()
    roots = [parser for parser in reader.parsers if not parser.is_parent]
    if not roots:
        return None
    parsed = [parser for parser in roots if parser.parsed]
    root = (parsed or roots)[0]
    problems: list[str] = []
    for other in roots:
        if other is not root and other.line != root.line:
            problems.append(f"line {other.line}: another ArgumentParser is not read")
    builder = ArgumentBuilder(module, file_name, problems)
    builder.parser(root)
    where = f"in {root.scope}()" if root.scope else "at the top level"
    origin = f"read from argparse {where}, line {root.line}"
    schema = build_schema(builder.params, root.description, "argparse", problems)
    return Found("argparse", origin, schema, problems)
