"""Runs a script that defines ``main(...)``: the file first, as if run directly, then ``main``.

The runner starts ``python entry.py SCRIPT [ARGUMENT ...]`` for a script the catalog marked as
an entrypoint (a top-level ``def main(...)`` and no ``if __name__ == "__main__":`` block), so
such a script needs no SDK boilerplate. Parameters arrive as for any script
(``SCRIPT_PARAMETERS``, ``--param name=value``); ``main`` gets those its signature accepts, and
what it returns is the run's result, handed over as ``ScriptBase.output_result`` does (the
result file and stdout), so ``None`` is a ``null`` result.

Exit codes: 0; 1 when ``main`` (or the file's top level) raised, or returned an error result;
2 when the script cannot be called (no ``main``, a parameter it requires was not given); a
``SystemExit`` keeps its own code.
"""

# Runs under the script's interpreter, which may be older than the server's: keep this file
# valid Python 3.8 and standard library only, like the SDK it uses.
from __future__ import annotations

import inspect
import os
import runpy
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["run_entrypoint"]

CANNOT_CALL = 2


class _CannotCall(Exception):
    """The script ran but its main cannot be called with this run's parameters."""


def run_entrypoint(argv: list[str]) -> int:
    """Run ``argv[1]`` as ``__main__``, call its ``main``; the process's exit code."""
    if len(argv) < 2:
        print("usage: entry.py SCRIPT [ARGUMENT ...]", file=sys.stderr)
        return CANNOT_CALL
    script_base = _script_base_class()
    path = argv[1]
    # What the script sees, as when Python runs it directly (which resolves links for path[0]).
    sys.argv = [path, *argv[2:]]
    folder = os.path.dirname(os.path.realpath(path))
    if sys.path:
        sys.path[0] = folder
    else:
        sys.path.insert(0, folder)

    run = script_base()
    namespace: dict[str, Any] = {}

    def load(_run: object) -> None:
        namespace.update(runpy.run_path(path, run_name="__main__"))

    failed_to_load = run.run_with_error_handling(load)
    if failed_to_load is not None:
        run.output_result(failed_to_load)
        return 1

    main = namespace.get("main")
    try:
        if not callable(main):
            raise _CannotCall(f"{os.path.basename(path)} defines no main(...) function to call")
        arguments = _arguments_for(main, run.parameters)
    except _CannotCall as exc:
        print(f"scriptdeck: {exc}", file=sys.stderr)
        run.output_result(run.error_result(str(exc), "EntrypointError"))
        return CANNOT_CALL

    result = run.run_with_error_handling(lambda _run: main(**arguments))
    run.output_result(result)
    return 1 if isinstance(result, dict) and result.get("status") == "error" else 0


def _script_base_class() -> type:
    """The SDK's ScriptBase: through the compat shim on PYTHONPATH, else from the file beside."""
    try:
        from scriptdeck.sdk import ScriptBase

        return ScriptBase
    except ImportError:
        import importlib.util

        sdk_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__init__.py")
        spec = importlib.util.spec_from_file_location("_scriptdeck_sdk", sdk_file)
        if spec is None or spec.loader is None:
            raise
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.ScriptBase


def _arguments_for(main: Callable[..., Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Only what ``main`` accepts (everything with ``**kwargs``), so extra parameters are safe."""
    try:
        signature = inspect.signature(main)
    except (TypeError, ValueError):
        return dict(parameters)
    accepted: dict[str, Any] = {}
    missing: list[str] = []
    takes_any = False
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            takes_any = True
        elif parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            if parameter.name in parameters:
                accepted[parameter.name] = parameters[parameter.name]
            elif parameter.default is parameter.empty:
                missing.append(parameter.name)
        elif parameter.kind is parameter.POSITIONAL_ONLY and parameter.default is parameter.empty:
            missing.append(parameter.name)  # can never be passed by name
    if missing:
        raise _CannotCall(
            "main() needs the parameter"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(missing)
            + ", which this run did not give"
        )
    return dict(parameters) if takes_any else accepted


if __name__ == "__main__":
    sys.exit(run_entrypoint(sys.argv))
