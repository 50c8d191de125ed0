"""A shell script's parameters, read from its text: ``getopts``, ``$1``…``$9``, ``@param`` lines.

The script is never run. What the code reads decides what exists: the letters of a
``getopts`` option string (``"vn:o:"``: ``-v`` a flag, ``-n`` and ``-o`` take a value) and
the positional arguments it expands (``${1:?message}`` is required, ``${2:-fast}`` has a
default, a plain ``$3`` is required). Header comments name them and give their types, one
line per parameter (docs/scripts.md, "Shell scripts")::

    # @param -n count integer =3  How many times
    # @param 1 host string required  The host to check
    # @param 2 mode enum(fast,full) =fast  The mode

Without such a line an option is named by its letter and a positional by the variable it is
assigned to (``host=${1:?}``), else ``arg1``. Positional use inside a function is the
function's own, unless the script calls that function with ``"$@"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import shell_text
from .cli_common import Found, Param, build_schema, unique
from .shell_text import (
    NAME,
    SHEBANG,
    SHELLS,
    Declared,
    Positional,
    code_lines,
    getopts,
)

__all__ = ["is_shell_script", "read_shell", "read_shell_file"]

# A script's text is read whole; a file this big is data, not a script to read.
MAX_BYTES = 1024 * 1024


def read_shell_file(path: Path, problems: list[str]) -> Found | None:
    """The schema of a shell script (``.sh``, or a ``#!`` line naming a shell), else None."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        problems.append(f"cannot read {path.name}: {exc.strerror or exc}")
        return None
    text = data.decode("utf-8", errors="replace")
    if not is_shell_script(path.name, text.split("\n", 1)[0]):
        return None
    if len(data) > MAX_BYTES:
        problems.append(f"{path.name} is over {MAX_BYTES} bytes: its parameters are not read")
        return None
    return read_shell(text, path.name)


def is_shell_script(name: str, first_line: str) -> bool:
    """A ``.sh`` file, or one whose ``#!`` line names a POSIX-like shell."""
    if name.endswith(".sh"):
        return True
    match = SHEBANG.match(first_line)
    return bool(match) and match.group(1) in SHELLS


def read_shell(text: str, where: str) -> Found | None:
    """The schema a shell script's text implies, or None when it reads no arguments."""
    problems: list[str] = []
    lines = text.splitlines()
    declared = shell_text.declared(lines, where, problems)
    code = code_lines(lines)
    getopts_line, letters = getopts(code)
    positionals = shell_text.positionals(code)
    if getopts_line is None and not positionals and not declared:
        return None

    by_where = {d.where: d for d in declared if d.where}
    by_name = {d.name: d for d in declared if not d.where}
    taken: set[str] = set()
    params: list[Param] = []
    if getopts_line is not None:
        for letter, takes_value in letters:
            params.append(
                _option(
                    letter, takes_value, by_where.pop(f"-{letter}", None), taken, where, problems
                )
            )
        for key, item in list(by_where.items()):
            if key.startswith("-"):
                problems.append(
                    f"{where}, line {item.line}: getopts on line {getopts_line} does not read "
                    f"{key}: it is left out"
                )
                del by_where[key]
    else:
        for key, item in list(by_where.items()):
            if key.startswith("-"):
                takes_value = item.kind != "boolean"
                params.append(
                    _option(key[1:], takes_value, by_where.pop(key), taken, where, problems)
                )

    for item in list(by_where.values()) + list(by_name.values()):
        number = int(item.where) if item.where else None
        if number is None:
            match = [p for p in positionals.values() if p.variable == item.name]
            if not match:
                problems.append(
                    f"{where}, line {item.line}: @param {item.name} says neither -letter nor a "
                    "position, and no $N is assigned to a variable of that name: it is left out"
                )
                continue
            number = match[0].number
        positionals.setdefault(number, Positional(number, item.line, required=False))
    positionals_params = _positional_params(positionals, declared, taken, where, problems)
    params.extend(positionals_params)

    parts = [f"getopts on line {getopts_line}"] if getopts_line is not None else []
    parts += [
        f"${p.number} on line {p.line}" for p in sorted(positionals.values(), key=_number) if p.uses
    ]
    if declared:
        parts.append("the @param comments")
    origin = "read from " + (
        ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    )
    schema = build_schema(params, None, where, problems)
    return Found("shell", origin, schema, problems)


def _number(positional: Positional) -> int:
    return positional.number


def _option(
    letter: str,
    takes_value: bool,
    item: Declared | None,
    taken: set[str],
    where: str,
    problems: list[str],
) -> Param:
    name = unique(
        item.name if item else (letter if NAME.fullmatch(letter) else f"opt_{letter}"), taken
    )
    flag = f"-{letter}"
    if not takes_value:
        if item is not None and item.kind == "integer":
            spec: dict[str, Any] = {"type": "integer", "minimum": 0, "default": 0}
            cli = {"kind": "count", "flag": flag}
        else:
            if item is not None and item.kind != "boolean":
                problems.append(
                    f"{where}, line {item.line}: {flag} takes no value in getopts, so it is a "
                    f"boolean flag, not {item.kind}"
                )
            spec = {"type": "boolean", "default": False}
            cli = {"kind": "flag", "flag": flag}
        if item is not None and item.help:
            spec["description"] = item.help
        return Param(name, spec, cli, required=False)
    spec = _value_spec(item, where, problems)
    if item is not None and item.default is not None:
        _typed(item.default, spec, item, where, problems)
    return Param(
        name, spec, {"kind": "option", "flag": flag}, required=bool(item and item.required)
    )


def _value_spec(item: Declared | None, where: str, problems: list[str]) -> dict[str, Any]:
    if item is None:
        return {"type": "string"}
    spec: dict[str, Any]
    if item.kind == "boolean":
        problems.append(
            f"{where}, line {item.line}: {item.name} takes a value, so it cannot be a boolean: "
            "it is read as a string"
        )
        spec = {"type": "string"}
    elif item.kind in ("integer", "number"):
        spec = {"type": item.kind}
    elif item.kind == "enum":
        spec = {"type": "string", "enum": item.choices or []}
    elif item.kind == "file":
        spec = {"type": "string", "format": "file"}
    else:
        spec = {"type": "string"}
    if item.secret:
        spec["secret"] = True
    if item.help:
        spec["description"] = item.help
    return spec


def _typed(
    text: str, spec: dict[str, Any], item: Declared, where: str, problems: list[str]
) -> None:
    """Put the default on ``spec`` as its type's value; one that is not is left out."""
    kind = spec.get("type")
    try:
        if kind == "integer":
            spec["default"] = int(text)
        elif kind == "number":
            number = float(text)
            spec["default"] = int(number) if number.is_integer() and "." not in text else number
        else:
            spec["default"] = text
    except ValueError:
        problems.append(
            f"{where}, line {item.line}: the default {text!r} of {item.name} is not {kind}: "
            "it is left out"
        )


def _positional_params(
    positionals: dict[int, Positional],
    declared: list[Declared],
    taken: set[str],
    where: str,
    problems: list[str],
) -> list[Param]:
    if not positionals:
        return []
    by_number = {int(d.where): d for d in declared if d.where.isdigit()}
    by_name = {d.name: d for d in declared if not d.where}
    last = max(positionals)
    for number in range(1, last):
        if number not in positionals:
            later = positionals[min(n for n in positionals if n > number)]
            positionals[number] = Positional(number, later.line, required=later.required)
            problems.append(
                f"{where}: ${number} is never read, but ${later.number} comes after it: "
                f"arg{number} is a parameter so that ${later.number} arrives"
            )
    params: list[Param] = []
    required_after = False
    for number in range(last, 0, -1):
        found = positionals[number]
        item = by_number.get(number) or by_name.get(found.variable)
        required = (
            item.required if item is not None and item.required is not None else found.required
        )
        default = item.default if item is not None and item.default is not None else found.default
        if item is not None and item.default is not None and item.required is None:
            required = False
        if required_after and not required and default is None:
            problems.append(
                f"{where}: ${number} is optional but a later positional is required: "
                f"${number} is made required"
            )
            required = True
        required_after = required_after or required
        name = item.name if item is not None else found.variable or f"arg{number}"
        spec = _value_spec(item, where, problems)
        if item is None and found.message:
            spec["description"] = found.message
        if default is not None:
            _typed(default, spec, item or Declared(found.line, name, str(number)), where, problems)
        cli = {"kind": "positional", "position": number - 1}
        params.append(Param(name, spec, cli, required=required and "default" not in spec))
    params.reverse()
    for param in params:
        param.name = unique(param.name, taken)
    return params
