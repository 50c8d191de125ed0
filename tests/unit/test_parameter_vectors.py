"""The shared table of parameter cases, as the server answers it.

The console's form runs the same table (web/src/composables/paramForm.vectors.spec.ts), so a
rule changed on one side only fails one of the two suites.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scriptdeck.catalog.parameters import ParameterErrors, check_parameters, validate_parameters
from scriptdeck.catalog.schema import check_schema
from scriptdeck.catalog.values import check_value

TABLE = json.loads((Path(__file__).parents[1] / "vectors" / "parameters.json").read_text("utf-8"))
CASES = TABLE["cases"]
DEFAULTS = TABLE["defaults"]


def test_the_table_covers_the_rules():
    names = {case["name"] for case in CASES}
    assert len(names) == len(CASES), "every case has its own name"
    assert "3.0 is not an integer" in names
    assert all("errors" in case or "parameters" in case for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_server_answers_each_case(case):
    options = {"max_fields": case["maxFields"]} if "maxFields" in case else {}
    cleaned, problems = check_parameters(case["schema"], case["values"], **options)

    found = {name: [problem.as_json() for problem in ps] for name, ps in problems.items()}
    assert found == case.get("errors", {})
    if "errors" in case:
        with pytest.raises(ParameterErrors) as refused:
            validate_parameters(case["schema"], case["values"], **options)
        assert set(refused.value.errors) == set(case["errors"])
    else:
        assert cleaned == case["parameters"]
        assert validate_parameters(case["schema"], case["values"], **options) == cleaned


@pytest.mark.parametrize("case", DEFAULTS, ids=[case["name"] for case in DEFAULTS])
def test_a_schema_may_declare_a_default_exactly_when_a_run_may_give_it(case):
    schema = {
        "type": "object",
        "properties": {"a": {**case["property"], "default": case["default"]}},
    }

    assert (check_schema(schema) == []) is case["accepted"]
    assert (check_value(case["property"], case["default"]) == []) is case["accepted"]


def given_values_within_the_subset():
    """Each given value of the cases whose schema a manager could save, and its verdict."""
    for case in CASES:
        schema = case["schema"]
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if not properties or check_schema(schema) or not isinstance(case["values"], dict):
            continue
        for name, value in case["values"].items():
            if name in properties and value is not None:
                accepted = name not in case.get("errors", {})
                yield pytest.param(schema, name, value, accepted, id=f"{case['name']}: {name}")


@pytest.mark.parametrize(
    ("schema", "name", "value", "accepted"), list(given_values_within_the_subset())
)
def test_every_given_value_is_judged_the_same_as_a_default(schema, name, value, accepted):
    with_default = copy.deepcopy(schema)
    with_default["properties"][name]["default"] = value

    assert (check_schema(with_default) == []) is accepted
