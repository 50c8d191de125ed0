"""Values as every database stores them: NUL characters (PostgreSQL refuses them) replaced."""

from __future__ import annotations

import json
from typing import Any


def jsonable(value: Any) -> Any:
    """A value every database stores: NUL characters (PostgreSQL refuses them) replaced.

    A value that is already what JSON gives back (the usual result) is kept as it is: the
    round trip would copy a big text result twice.
    """
    if _plain_json(value):
        return value
    value = json.loads(json.dumps(value, default=str))
    return scrub(value)


def _plain_json(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is str/int/float/bool/None, lists and str-keyed dicts of them, with
    no NUL character: what ``json.loads(json.dumps(value))`` gives back unchanged."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return "\x00" not in value
    if depth > 100:
        return False
    if type(value) is list:
        return all(_plain_json(item, depth + 1) for item in value)
    if type(value) is dict:
        return all(
            isinstance(key, str) and "\x00" not in key and _plain_json(item, depth + 1)
            for key, item in value.items()
        )
    return False


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, dict):
        return {storable_text(key): scrub(item) for key, item in value.items()}
    return value


def storable_text(text: str) -> str:
    """Output as every database stores it: NUL characters replaced, as bad UTF-8 is."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
