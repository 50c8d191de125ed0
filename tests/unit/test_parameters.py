"""Parameter validation: types, limits, formats, defaults, null, secrets, free-form schemas."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scriptdeck.catalog.parameters import (
    SECRET_MASK,
    ParameterErrors,
    file_parameters,
    mask_parameters,
    split_secrets,
    validate_parameters,
)


def schema(required: list[str] | None = None, **properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": required or []}


def errors_of(schema: dict | None, values: object, **options) -> dict[str, list[str]]:
    with pytest.raises(ParameterErrors) as caught:
        validate_parameters(schema, values, **options)
    return caught.value.errors


DEPLOY = schema(
    ["service", "replicas"],
    service={"type": "string", "enum": ["api", "worker"]},
    replicas={"type": "integer", "minimum": 1, "maximum": 10},
    ratio={"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    dry_run={"type": "boolean", "default": True},
    tags={"type": "array", "items": {"type": "string"}, "maxItems": 3, "default": []},
    token={"type": "string", "secret": True},
    note={"type": "string", "format": "textarea", "maxLength": 20},
)


def test_it_returns_the_values_with_defaults_filled_in():
    cleaned = validate_parameters(DEPLOY, {"service": "api", "replicas": 3})

    assert cleaned == {"service": "api", "replicas": 3, "dry_run": True, "tags": []}


def test_it_gives_each_run_its_own_copy_of_a_default():
    first = validate_parameters(DEPLOY, {"service": "api", "replicas": 3})
    first["tags"].append("changed")

    assert validate_parameters(DEPLOY, {"service": "api", "replicas": 3})["tags"] == []


def test_it_keeps_a_given_value_over_the_default():
    cleaned = validate_parameters(DEPLOY, {"service": "api", "replicas": 3, "dry_run": False})

    assert cleaned["dry_run"] is False


def test_it_reports_every_problem_keyed_by_field():
    errors = errors_of(
        DEPLOY,
        {"service": "db", "replicas": 0, "ratio": 1, "tags": ["a", 2, "c", None], "color": "red"},
    )

    assert errors == {
        "service": ["must be one of: api, worker"],
        "replicas": ["must be at least 1"],
        "ratio": ["must be less than 1"],
        "tags": [
            "must have at most 3 items",
            "item 1: must be a string",
            "item 3: must be a string",
        ],
        "color": ["unknown parameter"],
    }


def test_it_reports_missing_required_fields():
    assert errors_of(DEPLOY, {}) == {
        "service": ["this field is required"],
        "replicas": ["this field is required"],
    }


def test_it_reports_a_required_field_that_is_not_declared():
    assert errors_of({"properties": {}, "required": ["x"]}, {}) == {"x": ["this field is required"]}


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("integer", "3", "must be a whole number"),
        ("integer", 3.0, "must be a whole number"),
        ("integer", 3.5, "must be a whole number"),
        ("integer", True, "must be a whole number"),
        ("number", "1.5", "must be a number"),
        ("number", False, "must be a number"),
        ("number", float("nan"), "must be a number"),
        ("number", float("inf"), "must be a number"),
        ("boolean", 1, "must be true or false"),
        ("boolean", "true", "must be true or false"),
        ("string", 5, "must be a string"),
        ("string", ["a"], "must be a string"),
        ("array", "a,b", "must be a list"),
        ("array", {"a": 1}, "must be a list"),
    ],
)
def test_it_refuses_a_value_of_the_wrong_type(kind, value, message):
    assert errors_of(schema(x={"type": kind}), {"x": value}) == {"x": [message]}


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("integer", 3),
        ("integer", -(10**30)),
        ("number", 3),
        ("number", 2.5),
        ("boolean", False),
        ("string", ""),
        ("array", []),
    ],
)
def test_it_accepts_a_value_of_the_right_type(kind, value):
    assert validate_parameters(schema(x={"type": kind}), {"x": value}) == {"x": value}


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ({"type": "integer", "minimum": 3}, 2, "must be at least 3"),
        ({"type": "integer", "maximum": 3}, 4, "must be at most 3"),
        ({"type": "number", "exclusiveMinimum": 0}, 0, "must be greater than 0"),
        ({"type": "number", "exclusiveMaximum": 2.5}, 2.5, "must be less than 2.5"),
        ({"type": "number", "minimum": 1.0}, 0.5, "must be at least 1"),
        ({"type": "string", "minLength": 3}, "ab", "must be at least 3 characters"),
        ({"type": "string", "minLength": 1}, "", "must be at least 1 character"),
        ({"type": "string", "maxLength": 2}, "abc", "must be at most 2 characters"),
        ({"type": "array", "minItems": 1}, [], "must have at least 1 item"),
        ({"type": "array", "maxItems": 2}, [1, 2, 3], "must have at most 2 items"),
        ({"type": "string", "pattern": "^[a-z]+$"}, "Abc", "does not match the pattern ^[a-z]+$"),
        ({"enum": [1, "two", None, True]}, 3, "must be one of: 1, two, null, true"),
    ],
)
def test_it_refuses_a_value_outside_its_limits(prop, value, message):
    assert errors_of(schema(x=prop), {"x": value}) == {"x": [message]}


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ({"type": "integer", "minimum": 3, "maximum": 3}, 3),
        ({"type": "number", "exclusiveMinimum": 0}, 0.001),
        ({"type": "string", "minLength": 2, "maxLength": 2}, "é€"),
        ({"type": "string", "pattern": "[0-9]"}, "release 2"),
        ({"type": "array", "minItems": 2, "maxItems": 2}, ["a", "b"]),
        ({"enum": ["a", 1]}, 1),
    ],
)
def test_it_accepts_a_value_within_its_limits(prop, value):
    assert validate_parameters(schema(x=prop), {"x": value}) == {"x": value}


def test_it_does_not_take_true_for_1_in_an_enum():
    assert errors_of(schema(x={"enum": [1, 2]}), {"x": True}) == {"x": ["must be one of: 1, 2"]}


def test_it_checks_array_items_against_their_enum():
    prop = {"type": "array", "items": {"type": "string", "enum": ["eu", "us"]}}

    assert errors_of(schema(x=prop), {"x": ["eu", "asia"]}) == {
        "x": ["item 1: must be one of: eu, us"]
    }


def test_it_keeps_the_list_of_wrong_items_short():
    prop = {"type": "array", "items": {"type": "integer"}}

    errors = errors_of(schema(x=prop), {"x": ["a"] * 1000})

    assert errors["x"][0] == "item 0: must be a whole number"
    assert len(errors["x"]) == 11
    assert errors["x"][-1] == "and 990 more problems with items"


def test_it_reports_a_pattern_the_script_got_wrong_instead_of_failing():
    errors = errors_of(schema(x={"type": "string", "pattern": "("}), {"x": "a"})

    assert errors["x"][0].startswith("cannot be checked")


@pytest.mark.parametrize("value", ["2024-02-29", "2024-12-01"])
def test_it_accepts_a_date(value):
    assert validate_parameters(schema(d={"type": "string", "format": "date"}), {"d": value})


@pytest.mark.parametrize("value", ["2023-02-29", "yesterday", "", 20240101])
def test_it_refuses_what_is_not_a_date(value):
    errors = errors_of(schema(d={"format": "date"}), {"d": value})

    assert errors == {"d": ["must be a date (YYYY-MM-DD)"]}


@pytest.mark.parametrize(
    "value",
    ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00+02:00", "2024-05-01T12:00:00.123456"],
)
def test_it_accepts_a_date_and_time(value):
    assert validate_parameters(schema(t={"type": "string", "format": "date-time"}), {"t": value})


@pytest.mark.parametrize("value", ["2024-05-01T25:00:00Z", "now", "Z", 1714564800])
def test_it_refuses_what_is_not_a_date_and_time(value):
    errors = errors_of(schema(t={"format": "date-time"}), {"t": value})

    assert errors == {"t": ["must be a date and time (ISO 8601, e.g. 2024-05-01T12:00:00Z)"]}


@pytest.mark.parametrize("value", ["upload-7", 7])
def test_it_accepts_a_file_as_an_upload_id(value):
    prop = {"type": "string", "format": "file"}

    assert validate_parameters(schema(f=prop), {"f": value}) == {"f": value}


@pytest.mark.parametrize("value", [True, 7.5, {"id": 7}])
def test_it_refuses_a_file_that_is_not_an_upload_id(value):
    errors = errors_of(schema(f={"type": "string", "format": "file"}), {"f": value})

    assert errors == {"f": ["must be a file (an upload id)"]}


def test_it_refuses_a_secret_that_is_not_a_string():
    assert errors_of(schema(pin={"secret": True}), {"pin": 1234}) == {"pin": ["must be a string"]}


def test_it_drops_null_for_a_field_that_is_not_required():
    cleaned = validate_parameters(DEPLOY, {"service": "api", "replicas": 2, "ratio": None})

    assert "ratio" not in cleaned


def test_it_fills_in_the_default_for_null():
    cleaned = validate_parameters(DEPLOY, {"service": "api", "replicas": 2, "dry_run": None})

    assert cleaned["dry_run"] is True


def test_it_refuses_null_for_a_required_field():
    errors = errors_of(DEPLOY, {"service": None, "replicas": 2})

    assert errors == {"service": ["this field is required"]}


def test_it_accepts_any_value_for_an_empty_property():
    for value in ["a", 1, [1, {"b": None}], {"c": True}]:
        assert validate_parameters(schema(x={}), {"x": value}) == {"x": value}


def test_it_accepts_unknown_fields_when_additional_properties_are_allowed():
    allowing = {**schema(x={"type": "integer"}), "additionalProperties": True}

    assert validate_parameters(allowing, {"x": 1, "y": [None]}) == {"x": 1, "y": [None]}


@pytest.mark.parametrize("free_form", [None, {}, {"type": "object"}])
def test_it_accepts_any_object_when_the_schema_is_free_form(free_form):
    values = {"anything": [1, "two"], "goes": None}

    assert validate_parameters(free_form, values) == values


@pytest.mark.parametrize("free_form", [None, DEPLOY])
@pytest.mark.parametrize("values", [[1, 2], "a=b", None, 3])
def test_it_refuses_parameters_that_are_not_an_object(free_form, values):
    assert errors_of(free_form, values) == {"parameters": ["must be a JSON object"]}


@pytest.mark.parametrize("free_form", [None, {"additionalProperties": True, "properties": {}}])
def test_it_refuses_too_many_fields_in_one_message(free_form):
    values = {f"p{i}": i for i in range(6)}

    assert errors_of(free_form, values, max_fields=5) == {
        "parameters": ["too many parameters: 6 given, at most 5"]
    }
    assert validate_parameters(free_form, dict(list(values.items())[:5]), max_fields=5)


def test_it_makes_errors_a_readable_value_error():
    with pytest.raises(ValueError, match="replicas: this field is required"):
        validate_parameters(DEPLOY, {"service": "api"})


def test_it_masks_secret_fields_that_were_given():
    values = {"service": "api", "token": "hunter22"}

    assert mask_parameters(DEPLOY, values) == {"service": "api", "token": SECRET_MASK}
    assert mask_parameters(DEPLOY, {"service": "api"}) == {"service": "api"}
    assert values["token"] == "hunter22"


def test_it_splits_secrets_from_what_may_be_shown():
    shown, secrets = split_secrets(DEPLOY, {"service": "api", "token": "hunter22"})

    assert shown == {"service": "api", "token": "••••"}
    assert secrets == {"token": "hunter22"}


def test_it_has_no_secrets_without_a_schema():
    assert split_secrets(None, {"token": "hunter22"}) == ({"token": "hunter22"}, {})


def test_it_still_names_the_file_parameters():
    files = schema(a={"type": "string", "format": "file"}, b={"type": "string"})

    assert file_parameters(files) == ["a"]
    assert file_parameters(None) == []


def test_it_does_not_need_django():
    code = "import sys, scriptdeck.catalog.parameters as p; print(sorted(set(sys.modules)))"

    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout

    assert "scriptdeck.catalog.parameters" in loaded
    assert "django" not in loaded
