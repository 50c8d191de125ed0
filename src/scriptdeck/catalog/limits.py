"""Validation of a script's resource limits: 0 is no limit, anything else has a floor."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible


@deconstructible
class ZeroOrAtLeast:
    """0 (no limit), or at least ``floor``: below it no script could even start."""

    def __init__(self, floor: int) -> None:
        self.floor = floor

    def __call__(self, value: int | None) -> None:
        if value is not None and value != 0 and value < self.floor:
            raise ValidationError(
                f"Use 0 for no limit, or at least {self.floor}.", code="limit_too_low"
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ZeroOrAtLeast) and other.floor == self.floor

    def __hash__(self) -> int:
        return hash(self.floor)
