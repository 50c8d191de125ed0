"""What a script's parameter schema says about its parameters."""

from __future__ import annotations

from typing import Any

FILE_FORMAT = "file"


def file_parameters(schema: dict[str, Any] | None) -> list[str]:
    """Names of the parameters declared as files: ``{"type": "string", "format": "file"}``."""
    properties = (schema or {}).get("properties") or {}
    return [
        name
        for name, spec in properties.items()
        if isinstance(spec, dict) and spec.get("format") == FILE_FORMAT
    ]
