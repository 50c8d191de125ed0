"""A run's command line: built from the parameters' ``"cli"`` mappings, or a script's template.

Each property of an inferred schema may carry ``"cli"``, saying how its value reaches the
script's own argument parser (docs/scripts.md, "Command-line arguments"). The arguments come
in this order: global options (schema order), global positionals (by position; the
subcommand is one of them), then the chosen subcommand's options and its positionals.

Every value is exactly one argument and no shell ever sees them, so a value can never
become two arguments or a command. A string is passed as it is, a number as its JSON text
(``2222``, ``0.5``); a boolean is never text, it decides whether a flag is present.

Nor can a value become an option of the script's parser: an option's value starting with
"-" is attached to its flag (``--name=-x``, ``-n-x``), and when a positional starting with
"-" is given, ``--`` comes before the positionals of its group.

Pure and standard library only: the worker builds the real command line with it, the API a
preview from the schema's defaults.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["MASK", "build_argv", "preview_values", "shown_argv", "template_argv"]

MASK = "••••"
OPTION_KINDS = ("option", "flag", "switch", "count", "const")
POSITIONAL_KINDS = ("positional", "command")


def build_argv(
    schema: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    template: list[str] | None = None,
) -> list[str]:
    """The arguments that follow the program. A hand-written ``template`` wins when set."""
    if template:
        return template_argv(template, values)
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return []
    required = schema.get("required") if isinstance(schema, Mapping) else None
    required_names = set(required) if isinstance(required, list) else set()
    mapped = [
        (name, spec["cli"])
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and isinstance(spec.get("cli"), Mapping)
    ]
    chosen = _chosen_command(mapped, values)
    arguments: list[str] = []
    for command in (None, chosen) if chosen is not None else (None,):
        group = [(name, cli) for name, cli in mapped if cli.get("command") == command]
        for name, cli in group:
            if cli.get("kind") in OPTION_KINDS:
                arguments.extend(_option(cli, values.get(name), name in required_names))
        positionals = [(n, c) for n, c in group if c.get("kind") in POSITIONAL_KINDS]
        positionals.sort(key=lambda item: _position(item[1]))
        words: list[str] = []
        for name, _cli in positionals:
            given = _given(values.get(name), name in required_names)
            if given is None:
                break  # a later positional would take this one's place
            words.extend(given)
        # After "--" a parser reads no more options. Not in a group holding a subcommand: the
        # parser must still read the command word and the command's own options after it, so
        # a positional starting with "-" before a subcommand stays as it is.
        if any(word.startswith("-") for word in words) and not any(
            cli.get("kind") == "command" for _name, cli in positionals
        ):
            arguments.append("--")
        arguments.extend(words)
    return arguments


def shown_argv(
    schema: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    template: list[str] | None,
    secrets: Collection[str],
) -> list[str]:
    """The arguments as people may see them: every secret value is ``••••``."""
    masked = {name: _masked(value) if name in secrets else value for name, value in values.items()}
    return build_argv(schema, masked, template)


def preview_values(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values a preview is built from: each default, and ``<name>`` for a required value
    that has none (a list of one such item for an array)."""
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return {}
    required = schema.get("required") if isinstance(schema, Mapping) else None
    required_names = set(required) if isinstance(required, list) else set()
    values: dict[str, Any] = {}
    for name, spec in properties.items():
        if not isinstance(spec, Mapping):
            continue
        if "default" in spec:
            values[name] = spec["default"]
        elif name in required_names and spec.get("type") != "boolean":
            values[name] = [f"<{name}>"] if spec.get("type") == "array" else f"<{name}>"
    return values


def template_argv(template: list[str], parameters: Mapping[str, Any]) -> list[str]:
    """A hand-written template: each item is one argument; ``{name}`` is replaced by that
    parameter (a list gives one argument per element; a missing one, nothing)."""
    arguments: list[str] = []
    for item in template:
        item = str(item)
        if len(item) > 2 and item[0] == "{" and item[-1] == "}":
            name = item[1:-1]
            if name in parameters and parameters[name] is not None:
                value = parameters[name]
                items = value if isinstance(value, list) else [value]
                arguments.extend(_text(v) for v in items)
            continue
        arguments.append(item)
    return arguments


def _chosen_command(mapped: list[tuple[str, Mapping[str, Any]]], values: Mapping[str, Any]) -> Any:
    for name, cli in mapped:
        if cli.get("kind") == "command" and "command" not in cli:
            value = values.get(name)
            return value if isinstance(value, str) and value else None
    return None


def _position(cli: Mapping[str, Any]) -> int:
    position = cli.get("position")
    return position if isinstance(position, int) and not isinstance(position, bool) else 0


def _option(cli: Mapping[str, Any], value: Any, required: bool) -> list[str]:
    kind = cli.get("kind")
    flag = cli.get("flag")
    if kind == "switch":
        chosen = cli.get("on") if value is True else cli.get("off") if value is False else None
        return [chosen] if isinstance(chosen, str) else []
    if not isinstance(flag, str):
        return []
    if kind == "flag":
        when = cli.get("when", True)
        return [flag] if isinstance(value, bool) and value is when else []
    if kind == "const":
        return [flag] if value is True else []
    if kind == "count":
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return [flag] * value
        return []
    given = _given(value, required)
    if given is None:
        return []
    if isinstance(value, list) and cli.get("repeat") is True:
        return [part for item in given for part in _attached(flag, [item])]
    return _attached(flag, given)


def _attached(flag: str, given: list[str]) -> list[str]:
    """A flag and its value; a single value starting with "-" joined to the flag as one
    argument (``--name=-x``; a one-letter flag ``-n-x``), so it is never read as an option.
    Several values after one flag stay separate: no form joins them all to it."""
    if len(given) != 1 or not given[0].startswith("-"):
        return [flag, *given]
    if len(flag) == 2 and flag[0] == "-" and flag[1] != "-":
        return [flag + given[0]]
    return [f"{flag}={given[0]}"]


def _given(value: Any, required: bool) -> list[str] | None:
    """A value as its arguments, or None when it is absent: missing, None, a boolean (never
    text), an empty list, or an empty string for an optional parameter."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, list):
        items = [_text(item) for item in value if item is not None and not isinstance(item, bool)]
        return items or None
    if value == "" and not required:
        return None
    return [_text(value)]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _masked(value: Any) -> Any:
    # Booleans and absent values carry no secret text; the rest is masked item by item, so
    # the shown command line keeps the real one's shape.
    if value is None or isinstance(value, bool) or value == "":
        return value
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return MASK
