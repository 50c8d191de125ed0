"""Patterns run in a linear-time engine: no schema can make a value check take seconds."""

from __future__ import annotations

import time

import pytest

from scriptdeck.catalog.parameters import ParameterErrors, validate_parameters
from scriptdeck.catalog.schema import check_schema
from scriptdeck.catalog.values import MAX_PATTERN_LENGTH, check_value

NESTED = "^(a+)+$"  # backtracking engines take exponential time on "aaa…b"


def test_a_catastrophic_pattern_answers_at_once_on_a_long_value():
    spec = {"type": "string", "pattern": NESTED}
    started = time.monotonic()

    problems = [check_value(spec, "a" * n + "b") for n in (29, 40, 10_000)]

    assert all(found[0].key == "pattern" for found in problems)
    assert time.monotonic() - started < 1.0


def test_the_catastrophic_pattern_still_accepts_what_it_matches():
    assert check_value({"type": "string", "pattern": NESTED}, "a" * 50) == []


@pytest.mark.parametrize("pattern", [r"(a)\1", "a(?=b)", "(?<!x)a", "(?!a)b"])
def test_a_pattern_the_engine_cannot_run_is_a_schema_problem(pattern):
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}}

    problems = check_schema(schema)

    assert problems and "pattern" in problems[0]
    with pytest.raises(ParameterErrors) as refused:
        validate_parameters(schema, {"s": "aa"})
    assert "is not a valid expression" in refused.value.errors["s"][0]


def test_a_pattern_longer_than_the_bound_is_refused():
    long = "a" * (MAX_PATTERN_LENGTH + 1)
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": long}}}

    assert any("pattern" in problem for problem in check_schema(schema))
    assert check_value(schema["properties"]["s"], long)[0].key == "patternInvalid"
