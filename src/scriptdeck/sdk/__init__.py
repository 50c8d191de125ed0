"""What scripts import: parameters in, a structured result out. Standard library only.

Scripts written for the source import it as ``celery_app.script_base``; new ones may use
``scriptdeck.sdk``. Both give the same objects (see ``scriptdeck/compat/pythonpath``).

The runner passes ``SCRIPT_PARAMETERS``, ``PAGE_CONTEXT``, ``SCRIPT_NAME`` and ``EXECUTION_ID``
in the environment. Run by hand, a script takes ``--param name=value`` instead.
"""

# Scripts may run on an older interpreter than the server: keep this file valid Python 3.8
# (annotations are never evaluated; no 3.9+ library calls).
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

from scriptdeck.legacy import SDK_ERROR_MESSAGE

__all__ = ["ScriptBase", "create_simple_script", "run"]

RESULT_FILE_VARIABLE = "SCRIPT_RESULT_FILE"
_RESULT_VERSION = "1.0.0"
_RESULT_METHOD = "subprocess_execution"


class ScriptBase:
    """One run of a script: its name, parameters and context, and the result helpers."""

    def __init__(self, script_name: str | None = None) -> None:
        self.script_name: str = script_name or self._get_script_name()
        self.parameters: dict[str, Any] = self._get_parameters()
        self.page_context: str = os.environ.get("PAGE_CONTEXT", "")
        self.execution_id: str = os.environ.get("EXECUTION_ID", "")
        self.start_time: float = time.time()

    @staticmethod
    def _get_script_name() -> str:
        name = os.environ.get("SCRIPT_NAME")
        if name:
            return name
        main_file = sys.argv[0] if sys.argv else ""
        if main_file in ("", "-", "-c", "-m"):
            return "script"
        return os.path.splitext(os.path.basename(main_file))[0] or "script"

    @staticmethod
    def _get_parameters() -> dict[str, Any]:
        try:
            parameters = json.loads(os.environ.get("SCRIPT_PARAMETERS", "{}"))
        except ValueError:
            parameters = {}
        if not isinstance(parameters, dict):
            parameters = {}
        parameters.update(_parameters_from_argv(sys.argv[1:]))
        return parameters

    def get_parameter(self, name: str, default: Any = None) -> Any:
        """The parameter ``name``, or ``default`` when it was not given."""
        return self.parameters.get(name, default)

    def _duration(self) -> float:
        return time.time() - self.start_time

    def success_result(self, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """A success result in the source's format."""
        return {
            "status": "success",
            "message": message,
            "timestamp": time.time(),
            "data": data or {},
            "metadata": {
                "script_name": self.script_name,
                "execution_time": datetime.now().isoformat(),
                "execution_duration": self._duration(),
                "version": _RESULT_VERSION,
                "method": _RESULT_METHOD,
            },
        }

    def error_result(
        self, message: str | BaseException, error_type: str | None = None
    ) -> dict[str, Any]:
        """An error result in the source's format; an exception gives its class name."""
        if isinstance(message, BaseException):
            error_type = type(message).__name__
        return {
            "status": "error",
            "message": str(message),
            "timestamp": time.time(),
            "script_name": self.script_name,
            "error_type": error_type or "Error",
            "execution_duration": self._duration(),
        }

    def output_result(self, result: Any) -> None:
        """Hand the result to the runner: the result file when there is one, and stdout."""
        result_file = os.environ.get(RESULT_FILE_VARIABLE)
        if result_file:
            try:
                _write_atomically(result_file, result)
            except OSError as exc:
                # stdout still carries the result; the runner falls back to it.
                print(f"cannot write {RESULT_FILE_VARIABLE}: {exc}", file=sys.stderr)
        print(json.dumps(result, ensure_ascii=True, indent=2, default=str), flush=True)

    def run_with_error_handling(self, func: Callable[[ScriptBase], Any]) -> Any:
        """Return ``func(self)``; an exception becomes an error result (traceback on stderr)."""
        try:
            return func(self)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return self.error_result(
                SDK_ERROR_MESSAGE.format(script=self.script_name, error=exc),
                error_type=type(exc).__name__,
            )


def create_simple_script(name: str | None, main_logic: Callable[[ScriptBase], Any]) -> NoReturn:
    """Run ``main_logic(script)``, output its result, exit 1 on an error result, else 0."""
    script = ScriptBase(name)
    result = script.run_with_error_handling(main_logic)
    script.output_result(result)
    failed = isinstance(result, dict) and result.get("status") == "error"
    sys.exit(1 if failed else 0)


def run(main_logic: Callable[[ScriptBase], Any], script_name: str | None = None) -> NoReturn:
    """Like :func:`create_simple_script`, with the name optional (``SCRIPT_NAME`` or file stem)."""
    create_simple_script(script_name, main_logic)


def _parameters_from_argv(argv: list[str]) -> dict[str, Any]:
    """``--param name=value`` and ``--param=name=value``; other arguments are left alone."""
    parameters: dict[str, Any] = {}
    index = 0
    while index < len(argv):
        argument = argv[index]
        index += 1
        if argument == "--param" and index < len(argv):
            pair = argv[index]
            index += 1
        elif argument.startswith("--param="):
            pair = argument[len("--param=") :]
        else:
            continue
        name, separator, raw = pair.partition("=")
        if not separator or not name:
            continue
        try:
            parameters[name] = json.loads(raw)
        except ValueError:
            parameters[name] = raw
    return parameters


def _write_atomically(path: str, result: Any) -> None:
    # Written beside the target then renamed over it, so a reader never sees half a result.
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".result-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(result, handle, ensure_ascii=False, indent=2, default=str)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
