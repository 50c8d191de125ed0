"""How a script's result is read: the result file first, then stdout (the source's rules)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from scriptdeck import legacy

TEXT_OUTPUT_MESSAGE = f"{legacy.TEXT_OUTPUT_MESSAGE} (the script's output is text, not JSON)"


class ResultFileError(ValueError):
    """The script wrote its result file but it does not hold JSON."""


class NonFiniteResult(ValueError):
    """The result is JSON but for NaN or Infinity, which no database stores nor answer shows."""

    def __init__(self, text: str) -> None:
        super().__init__(f"it holds {text}, and a result may hold finite numbers only")


def _refuse(text: str) -> float:
    raise NonFiniteResult(text)


def _finite(literal: str) -> float:
    value = float(literal)  # 1e999 reads as inf
    return value if math.isfinite(value) else _refuse(literal)


def loads_result(text: str) -> Any:
    """``json.loads`` without Python's NaN and Infinity: :class:`NonFiniteResult` instead."""
    return json.loads(text, parse_constant=_refuse, parse_float=_finite)


def read_result_file(path: str | Path | None) -> tuple[bool, Any]:
    """Return ``(written, value)`` for the SDK's result file."""
    if not path:
        return False, None
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return False, None
    if not raw.strip():
        return False, None
    try:
        return True, loads_result(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"the result file is not valid JSON: {exc}") from exc
    except NonFiniteResult as exc:
        raise ResultFileError(f"the result file is not valid JSON: {exc}") from exc


def parse_stdout(stdout: str, stderr: str, complete: bool = True) -> Any:
    """The source's rule: all of stdout as JSON is the result; otherwise a text result.

    ``complete`` is False when stdout was too large to keep whole: it is then text.
    Raises :class:`NonFiniteResult` for JSON with NaN or Infinity in it.
    """
    if complete:
        if not stdout.strip():
            return {}
        try:
            return loads_result(stdout)
        except json.JSONDecodeError:
            pass
    return {
        "type": "text",
        "content": stdout,
        "stderr": stderr,
        "message": TEXT_OUTPUT_MESSAGE,
    }


def with_defaults(
    result: Any,
    script_name: str,
    completed_at: datetime | None = None,
    status: str | None = "success",
) -> Any:
    """A dict result gets ``script_name``, ``execution_time`` and ``status`` when missing.

    ``status`` is None for a process that did not exit cleanly: its status is decided
    with the outcome, and a failed run's result never claims success.
    """
    if isinstance(result, dict):
        result.setdefault("script_name", script_name)
        result.setdefault(
            "execution_time", (completed_at or datetime.now().astimezone()).isoformat()
        )
        if status is not None:
            result.setdefault("status", status)
    return result


def reports_error(result: Any) -> bool:
    """A result whose ``status`` is ``"error"`` is the script saying it failed."""
    return isinstance(result, dict) and str(result.get("status", "")).lower() == "error"
