"""A script's parameters, read from its file without running it.

Four places may say what a script takes; the first one found wins:

1. a sidecar JSON file beside the script. The primary name is ``<file name>.params.json``
   (``report.py.params.json``): it works for every kind of script and cannot be shared by
   ``report.py`` and ``report.sh`` side by side. ``<stem>.params.json`` (``report.params.json``)
   is read too; when both exist the primary one is used and the other is reported.
2. a module-level literal ``PARAMETERS = {name: {property}, ...}`` in a Python script;
3. the script's own command line: an argparse parser, a click command or group, a typer
   command (:mod:`.cli_argparse`, :mod:`.cli_click`, :mod:`.cli_typer`); each property then
   says in ``"cli"`` how its value reaches the command line;
4. the signature of a top-level ``def main(...)``, but only when the SDK is the one calling it
   (``entrypoint``): a ``main`` that the script's own ``__main__`` block calls takes whatever
   that block passes (``main(argv=None)`` is common), not the run's parameters.

A script is an entrypoint when it defines a top-level ``def main(...)`` and neither has an
``if __name__ == "__main__":`` block nor calls ``main`` at its top level: the SDK runs the file
as ``__main__``, so either would run ``main`` a second time.

Python files are read with :mod:`ast` and never imported: syncing the catalog must not run a
line of a script. Standard library only, so the unit tests and the registry share it.
What a ``main`` signature implies is worked out in :mod:`.inference`; what is kept of a
schema, and why, in :mod:`.subset`.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cli_argparse import read_argparse
from .cli_click import read_click
from .cli_common import Found, Module
from .cli_typer import read_typer
from .inference import NOT_JSON, as_json, entrypoint_main, import_aliases, infer
from .shell_reader import read_shell_file
from .subset import clean_schema, kind_name

__all__ = ["ScriptSignature", "check_schema", "read_cli", "read_script", "secret_fields"]

SIDECAR_SUFFIX = ".params.json"


@dataclass
class ScriptSignature:
    """What a script's file says about how it is called, kept on the catalog row.

    ``schema`` is the full object form, or None when the file says nothing (free-form);
    ``source`` is "sidecar", "declared", "argparse", "click", "typer", "inferred" or "";
    ``entrypoint`` tells the runner to
    call ``main(**parameters)`` through the SDK; ``problems`` are sentences for the admin;
    ``preload`` the modules a warm fork server imports ahead for it (``PRELOAD = ["pandas"]``).
    """

    schema: dict[str, Any] | None = None
    source: str = ""
    entrypoint: bool = False
    problems: list[str] = field(default_factory=list)
    preload: list[str] = field(default_factory=list)
    # Where the form came from, for the console: "read from argparse in main(), line 12".
    origin: str = ""


def read_script(path: Path) -> ScriptSignature:
    """Never raises for a bad script: what cannot be read becomes a sentence in ``problems``."""
    path = Path(path)
    problems: list[str] = []
    tree: ast.Module | None = None
    if path.suffix == ".py":
        tree = _parse(path, problems)
    main = entrypoint_main(tree, problems) if tree is not None else None
    entrypoint = main is not None
    preload = _read_preload(tree, problems) if tree is not None else []

    schema = _read_sidecar(path, problems)
    if schema is not None:
        origin = f"read from {_sidecar_name(path)}"
        return ScriptSignature(schema, "sidecar", entrypoint, problems, preload, origin)
    if tree is not None:
        schema = _read_declared(tree, problems)
        if schema is not None:
            origin = f"read from the PARAMETERS literal, line {_declared_line(tree)}"
            return ScriptSignature(schema, "declared", entrypoint, problems, preload, origin)
        found = read_cli(tree, import_aliases(tree), path.name)
        if found is not None:
            # The script parses its own command line, so the SDK never calls its main.
            problems.extend(found.problems)
            return ScriptSignature(
                found.schema, found.source, False, problems, preload, found.origin
            )
        if main is not None:
            schema = infer(main, import_aliases(tree), problems)
            origin = f"read from the signature of main(), line {main.lineno}"
            return ScriptSignature(schema, "inferred", entrypoint, problems, preload, origin)
    if path.suffix != ".py":
        shell = read_shell_file(path, problems)
        if shell is not None:
            problems.extend(shell.problems)
            return ScriptSignature(shell.schema, "shell", False, problems, [], shell.origin)
    return ScriptSignature(None, "", entrypoint, problems, preload)


def read_cli(tree: ast.Module, aliases: dict[str, str], file_name: str) -> Found | None:
    """The script's own command-line interface: typer before click, whose base it is."""
    module = Module(tree, aliases)
    return read_typer(module) or read_click(module) or read_argparse(module, file_name)


def check_schema(schema: object) -> list[str]:
    """An admin's schema is used as written, so it must stay inside what the form can render."""
    return clean_schema(schema)[1]


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


def _sidecar_name(path: Path) -> str:
    primary = path.with_name(path.name + SIDECAR_SUFFIX)
    return primary.name if primary.is_file() else path.stem + SIDECAR_SUFFIX


def _declared_line(tree: ast.Module) -> int:
    lines = [
        statement.lineno
        for statement in tree.body
        if isinstance(statement, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(target, ast.Name) and target.id == "PARAMETERS"
            for target in (
                statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            )
        )
    ]
    return lines[-1] if lines else 0


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
    value = as_json(value)
    if value is NOT_JSON:
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
        problems.append(f"{origin} must be a list of module names, not {kind_name(value)}")
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
        problems.append(f"{origin} must be a JSON object, not {kind_name(data)}: it is ignored")
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
    clean, found = clean_schema(full)
    problems.extend(f"{origin}: {problem}" for problem in found)
    return clean
