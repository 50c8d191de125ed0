"""Parameters are refused at submit when a command line and an environment could not carry them."""

from __future__ import annotations

import pytest

from scriptdeck.access.models import AuditEvent
from scriptdeck.catalog.parameters import ParameterErrors, validate_parameters
from scriptdeck.executions.models import TaskExecution

MAX_ARG_STRLEN = 128 * 1024  # Linux: the longest single argument or environment string


def submit(client, **body):
    return client.post("/api/executions/", {"script": "scan_dev_update", **body}, format="json")


def test_a_900_kb_parameter_is_a_400_before_anything_is_written(synced, alice_client, broker):
    response = submit(alice_client, parameters={"blob": "x" * 900_000})

    assert response.status_code == 400, response.content
    assert "bytes" in response.json()["parameters"][0]
    assert TaskExecution.objects.count() == 0
    assert not AuditEvent.objects.filter(action="execution.run").exists()
    assert broker == []


def test_the_default_limit_fits_comfortably_in_one_environment_string(settings):
    assert settings.SCRIPTDECK_MAX_PARAMETER_BYTES <= MAX_ARG_STRLEN * 3 // 4


def test_the_limit_counts_encoded_bytes_and_is_a_setting(synced, alice_client, broker, settings):
    settings.SCRIPTDECK_MAX_PARAMETER_BYTES = 1000

    # 300 characters of three bytes each: 900 bytes of text, over 1000 once encoded whole
    assert submit(alice_client, parameters={"a": "é" * 300, "b": "é" * 300}).status_code == 400
    accepted = submit(alice_client, parameters={"a": "é" * 300})
    assert accepted.status_code == 202, accepted.content


def test_the_validator_counts_defaults_and_names_the_whole():
    schema = {"type": "object", "properties": {"s": {"type": "string", "default": "d" * 50}}}

    with pytest.raises(ParameterErrors) as refused:
        validate_parameters(schema, {}, max_bytes=40)

    assert list(refused.value.errors) == ["parameters"]
    assert validate_parameters(schema, {}, max_bytes=100) == {"s": "d" * 50}
