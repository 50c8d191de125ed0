"""NaN and Infinity: refused in a request with the field named, and a clear failure in a result."""

from __future__ import annotations

import pytest

from scriptdeck.executions.models import Status, TaskExecution
from scriptdeck.worker.execute import execute

from .conftest import write_script

CONSTANTS = ["NaN", "Infinity", "-Infinity", "1e999"]


def post_raw(client, url: str, body: str):
    return client.generic("POST", url, body.encode(), content_type="application/json")


@pytest.mark.parametrize("constant", CONSTANTS)
def test_a_non_finite_parameter_is_a_400_naming_the_field(synced, alice_client, broker, constant):
    body = f'{{"script": "scan_dev_update", "parameters": {{"ratio": [1, {constant}]}}}}'

    response = post_raw(alice_client, "/api/executions/", body)

    assert response.status_code == 400, response.content
    assert "finite" in response.json()["ratio"][0]
    assert TaskExecution.objects.count() == 0


def test_a_non_finite_value_outside_parameters_names_its_key(synced, alice_client, broker):
    response = post_raw(alice_client, "/api/executions/", '{"script": NaN}')

    assert response.status_code == 400
    assert "script" in response.json()


def test_a_non_finite_parameter_through_the_source_route_is_a_400(synced, alice_client, broker):
    body = '{"script_name": "scan_dev_update", "parameters": {"n": Infinity}}'

    response = post_raw(alice_client, "/myapp/api/execute-script/", body)

    assert response.status_code == 400
    assert "n" in response.json()


def run(client, name: str, capture) -> TaskExecution:
    with capture(execute=True):
        response = client.post("/api/executions/", {"script": name}, format="json")
    assert response.status_code == 202, response.content
    assert execute(response.data["id"], hostname="test-worker") == "finished"
    return TaskExecution.objects.get(pk=response.data["id"])


@pytest.mark.parametrize(
    "body",
    [
        "print('{\"x\": NaN}')",
        "print('{\"x\": [1, -Infinity]}')",
        "import os\nopen(os.environ['SCRIPT_RESULT_FILE'], 'w').write('{\"x\": Infinity}')",
        "import os\nopen(os.environ['SCRIPT_RESULT_FILE'], 'w').write('{\"x\": 1e999}')",
    ],
    ids=["stdout-nan", "stdout-infinity", "file-infinity", "file-overflow"],
)
def test_a_result_with_a_non_finite_number_is_result_invalid(
    synced, alice_client, broker, django_capture_on_commit_callbacks, body
):
    write_script(synced, "nan_result.py", body + "\n")
    from scriptdeck.catalog.registry import sync

    sync()

    execution = run(alice_client, "nan_result", django_capture_on_commit_callbacks)

    assert (execution.status, execution.failure_reason) == (Status.FAILURE, "result_invalid")
    assert "finite" in execution.error_message
    assert "Traceback" not in execution.error_message
    answer = alice_client.get(f"/api/executions/{execution.pk}/")
    assert answer.status_code == 200
    assert answer.json()["failure_reason"] == "result_invalid"
