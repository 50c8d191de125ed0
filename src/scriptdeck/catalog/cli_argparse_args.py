"""An argparse parser's recorded ``add_argument`` calls, turned into parameters.

:mod:`.cli_argparse` finds the calls; this module reads each one's keywords as argparse
would (the dest, the action, ``type``, ``nargs``, ``choices``, ``default``) and gives the
property and its command-line mapping.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from .cli_common import (
    NO_VALUE,
    Module,
    Param,
    apply_choices,
    identifier,
    keyword,
    string_of,
    unique,
)

if TYPE_CHECKING:
    from .cli_argparse import _Parser, _Subparsers

_TYPES = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "Path": {"type": "string"},
    "pathlib.Path": {"type": "string"},
}
_IGNORED_ACTIONS = ("help", "version")


class ArgumentBuilder:
    """From the recorded ``add_argument`` calls to parameters."""

    def __init__(self, module: Module, file_name: str, problems: list[str]) -> None:
        self.module = module
        self.file_name = file_name
        self.problems = problems
        self.params: list[Param] = []
        self.taken: set[str] = set()
        self.positions: dict[str | None, int] = {}

    def parser(self, parser: _Parser) -> None:
        for parent in parser.parents:
            self.parser(parent)
        subparsers = parser.subparsers
        for call, command in parser.params:
            if subparsers is not None and call.lineno > subparsers.call.lineno:
                self.subcommands(subparsers)
                subparsers = None
            self.argument(call, command)
        if subparsers is not None:
            self.subcommands(subparsers)

    def subcommands(self, subparsers: _Subparsers) -> None:
        call = subparsers.call
        dest = string_of(self.module, keyword(call, "dest"))
        name = unique(identifier(dest or "command"), self.taken)
        names = [command for command, _, _ in subparsers.commands]
        if not names:
            self.problems.append(f"line {call.lineno}: add_subparsers has no add_parser call")
            return
        helps = [f"{command}: {text}" for command, text, _ in subparsers.commands if text]
        parts = [string_of(self.module, keyword(call, "help")), *helps]
        spec: dict[str, Any] = {"type": "string", "enum": names}
        described = "; ".join(part for part in parts if part)
        if described:
            spec["description"] = described
        required = self.module.literal(keyword(call, "required")) is True
        position = self.positions.get(None, 0)
        self.positions[None] = position + 1
        self.params.append(Param(name, spec, {"kind": "command", "position": position}, required))
        for command, _, sub in subparsers.commands:
            for parent in sub.parents:
                for added, _ in parent.params:
                    self.argument(added, command)
            for added, _ in sub.params:
                self.argument(added, command)
            if sub.subparsers is not None:
                self.problems.append(
                    f"line {sub.subparsers.call.lineno}: commands inside the command "
                    f"{command!r} are not read"
                )

    def argument(self, call: ast.Call, command: str | None) -> None:
        line = f"line {call.lineno}"
        flags = [string_of(self.module, arg) for arg in call.args]
        if not flags or any(flag is None for flag in flags):
            self.problems.append(f"{line}: add_argument's names are not plain strings; left out")
            return
        names = [flag for flag in flags if flag]
        action_node = keyword(call, "action")
        action = None if action_node is None else self.module.literal(action_node)
        if action in _IGNORED_ACTIONS:
            return
        positional = not names[0].startswith("-")
        dest = string_of(self.module, keyword(call, "dest"))
        if positional:
            dest = names[0]
        elif dest is None:
            longs = [flag for flag in names if flag.startswith("--")]
            dest = (longs or names)[0].lstrip("-").replace("-", "_")
        flag = next((name for name in names if name.startswith("--")), names[0])
        label = flag if not positional else dest
        param = self._shape(call, action, action_node, flag, label, positional)
        if param is None:
            return
        spec, cli, required = param
        help_node = keyword(call, "help")
        if help_node is not None and self.module.dotted(help_node) != "argparse.SUPPRESS":
            text = string_of(self.module, help_node)
            if text is None:
                self.problems.append(f"{line}: {label}: help is not a plain string; left out")
            else:
                spec["description"] = _help(text, spec.get("default"), self.file_name)
        metavar = self.module.literal(keyword(call, "metavar"))
        if isinstance(metavar, list):
            metavar = " ".join(str(item) for item in metavar)
        if isinstance(metavar, str) and metavar:
            # The placeholder of --help ("--point X Y"), shown in the form's hint; the
            # field's label stays its name.
            cli["metavar"] = metavar
        if positional:
            cli["position"] = self.positions.get(command, 0)
            self.positions[command] = cli["position"] + 1
        name = unique(identifier(dest), self.taken)
        self.params.append(Param(name, spec, cli, required, command))

    def _shape(
        self,
        call: ast.Call,
        action: object,
        action_node: ast.expr | None,
        flag: str,
        label: str,
        positional: bool,
    ) -> tuple[dict[str, Any], dict[str, Any], bool] | None:
        line = f"line {call.lineno}"
        default = self._default(call, label)
        if action in ("store_true", "store_false"):
            value = default if isinstance(default, bool) else action == "store_false"
            cli = {"kind": "flag", "flag": flag}
            if action == "store_false":
                cli["when"] = False
            return {"type": "boolean", "default": value}, cli, False
        if action in ("store_const", "append_const"):
            return {"type": "boolean", "default": False}, {"kind": "const", "flag": flag}, False
        if action == "count":
            start = default if type(default) is int else 0
            spec = {"type": "integer", "minimum": 0, "default": start}
            return spec, {"kind": "count", "flag": flag}, False
        if action_node is not None and self.module.dotted(action_node).endswith(
            "BooleanOptionalAction"
        ):
            spec = {"type": "boolean"}
            if isinstance(default, bool):
                spec["default"] = default
            off = "--no-" + flag[2:] if flag.startswith("--") else flag
            return spec, {"kind": "switch", "on": flag, "off": off}, False
        if action not in (None, "store", "append", "extend"):
            shown = ast.unparse(action_node) if action_node is not None else ""
            self.problems.append(f"{line}: {label}: action={shown} is not understood; text")
        item = self._type(call, label)
        nargs_node = keyword(call, "nargs")
        nargs = None if nargs_node is None else self.module.literal(nargs_node)
        if nargs_node is not None and self.module.dotted(nargs_node) == "argparse.REMAINDER":
            nargs = "*"
        if nargs is NO_VALUE or nargs not in (None, "?", "*", "+") and type(nargs) is not int:
            self.problems.append(f"{line}: {label}: nargs is not understood; one value is taken")
            nargs = None
        many = nargs in ("*", "+") or type(nargs) is int or action in ("append", "extend")
        if many and item.pop("format", None):
            self.problems.append(
                f"{line}: {label}: several files are not uploaded in one field; "
                "their paths are asked as text"
            )
        spec: dict[str, Any] = {"type": "array", "items": item} if many else dict(item)
        if nargs == "+":
            spec["minItems"] = 1
        elif type(nargs) is int:
            spec["minItems"] = spec["maxItems"] = nargs
        choices = keyword(call, "choices")
        if choices is not None:
            found = self.module.choices(choices)
            error = "they cannot be read" if found is None else apply_choices(spec, found)
            if error:
                self.problems.append(f"{line}: {label}: choices are not used: {error}")
        if default is not NO_VALUE and default is not None:
            if not many and spec.get("type") in ("integer", "number") and isinstance(default, str):
                default = _number(default, default)
            spec["default"] = default
        if positional:
            required = nargs not in ("?", "*")
            cli: dict[str, Any] = {"kind": "positional"}
        else:
            required = self.module.literal(keyword(call, "required")) is True
            cli = {"kind": "option", "flag": flag}
            if action == "append":
                cli["repeat"] = True
            elif many:
                cli["nargs"] = nargs if nargs is not None else "+"
        return spec, cli, required

    def _type(self, call: ast.Call, label: str) -> dict[str, Any]:
        node = keyword(call, "type")
        if node is None:
            return {"type": "string"}
        line = f"line {call.lineno}"
        if isinstance(node, ast.Call) and self.module.dotted(node.func).endswith("FileType"):
            mode = string_of(self.module, node.args[0]) if node.args else None
            mode = mode or string_of(self.module, keyword(node, "mode")) or "r"
            return {"type": "string", "format": "file"} if "r" in mode else {"type": "string"}
        known = _TYPES.get(self.module.dotted(node))
        if known is not None:
            return dict(known)
        what = "a lambda" if isinstance(node, ast.Lambda) else ast.unparse(node)
        self.problems.append(
            f"{line}: {label}: type={what} cannot be read without running it; "
            "the value is passed as text"
        )
        return {"type": "string"}

    def _default(self, call: ast.Call, label: str) -> object:
        node = keyword(call, "default")
        if node is None or self.module.dotted(node) == "argparse.SUPPRESS":
            return NO_VALUE
        value = self.module.literal(node)
        if value is NO_VALUE:
            self.problems.append(
                f"line {call.lineno}: {label}: the default {ast.unparse(node)} is not a literal; "
                "when left empty, the script's own default applies"
            )
        return value


def _number(text: str, fallback: object) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return fallback


def _help(text: str, default: object, file_name: str) -> str:
    """argparse's own ``%(default)s`` and ``%(prog)s`` in a help text, as ``--help`` shows them."""
    shown = "None" if default is NO_VALUE or default is None else str(default)
    for key, value in (("default", shown), ("prog", file_name)):
        text = text.replace(f"%({key})s", value).replace(f"%({key})r", repr(value))
    return text.replace("%%", "%")
