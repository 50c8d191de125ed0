"""Exact percentiles as PostgreSQL's ``percentile_cont`` computes them, and local days."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def day_starts(since: datetime, now: datetime, zone: ZoneInfo) -> tuple[date, list[datetime]]:
    """The local date of ``since`` and the instants at which the window's days begin.

    The first day begins at ``since``, each next one at the local midnight of ``zone`` (on
    a day whose midnight a clock change skips, at the day's first instant); the last day
    has no end.
    """
    first = since.astimezone(zone).date()
    last = now.astimezone(zone).date()
    starts = [since]
    day = first + timedelta(days=1)
    while day <= last:
        starts.append(datetime.combine(day, time(), tzinfo=zone).astimezone(UTC))
        day += timedelta(days=1)
    return first, starts


def percentile_cont(fraction: float, count: int, value_at: Callable[[int], float]) -> float:
    """PostgreSQL's ``percentile_cont(fraction)`` over ``count`` sorted values, with its
    float operations, reading only the order statistics it needs (``value_at(i)``: the
    i-th smallest, from 0)."""
    position = fraction * (count - 1)
    first_row, second_row = math.floor(position), math.ceil(position)
    first = value_at(first_row)
    if second_row == first_row:
        return first
    return first + ((position - first_row) * (value_at(second_row) - first))


def walked(fraction: float, count: int, values: list[float]) -> float:
    """``percentile_cont`` from the (at most) two values an index walk returned: from the
    start for a fraction up to 0.5 (``values[0]`` is the rank-th smallest), from the end
    otherwise (``values[0]`` is the (count - 1 - offset)-th)."""
    rank = math.floor(fraction * (count - 1))
    if fraction <= 0.5:
        return percentile_cont(fraction, count, lambda i: values[i - rank])
    top = count - 1 - max(count - 2 - rank, 0)
    return percentile_cont(fraction, count, lambda i: values[top - i])
