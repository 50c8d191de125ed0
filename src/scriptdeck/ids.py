"""What a database id given as text looks like: the one check for every door and service."""

from __future__ import annotations

MAX_ID = 2**63 - 1  # the largest value of a BIGINT column


def is_id(value: str) -> bool:
    """ASCII digits that fit a database id ("²" is a digit to ``str.isdigit``)."""
    return value.isascii() and value.isdigit() and int(value) <= MAX_ID
