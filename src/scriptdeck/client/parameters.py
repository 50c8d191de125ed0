"""``-p NAME=VALUE``: JSON when it parses, else text; ``@FILE`` reads a file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ClientError


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity stay strings: JSON has no such numbers


def parse_value(raw: str) -> Any:
    """``@file``: the file's text; ``@@x``: the string ``@x``; JSON when it parses; else
    the string as given."""
    if raw.startswith("@@"):
        return raw[1:]
    if raw.startswith("@"):
        path = Path(raw[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ClientError(f"cannot read {path}: {reason}") from exc
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except ValueError:
        return raw


def parse_parameters(items: Iterable[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for item in items:
        name, equals, raw = item.partition("=")
        if not equals or not name.strip():
            raise ClientError(f"-p {item!r}: write a parameter as name=value")
        parameters[name.strip()] = parse_value(raw)
    return parameters
