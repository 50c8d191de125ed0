"""The compat route: one answer for every script the caller cannot see, no borrowed names."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from scriptdeck.access.models import Level, ScriptGrant
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import sync
from scriptdeck.executions.models import ResultRecord, TaskExecution
from scriptdeck.worker.execute import execute

from .conftest import client_for, write_script

EXECUTE = "/myapp/api/execute-script/"


@pytest.fixture
def outsider(synced, scripts_dir):
    """Runs ``scan_dev_update`` (deactivated here) and ``ops/hello``; sees nothing else."""
    write_script(scripts_dir, "_private.py", "print('{}')")
    write_script(scripts_dir, "retired.py", "print('{}')")
    sync()
    user = get_user_model().objects.create_user("outsider", "", "outsider-pass-1")
    for name in ("retired", "ops/hello"):
        ScriptGrant.objects.create(script=Script.objects.get(name=name), user=user, level=Level.RUN)
    Script.objects.filter(name="retired").update(is_active=False)
    return client_for(user)


def answers(client, bodies: dict[str, dict], given: str) -> dict[str, tuple]:
    found = {}
    for case, body in bodies.items():
        response = client.post(EXECUTE, body, format="json")
        text = response.content.decode().replace(str(body[given]), "<given>")
        found[case] = (response.status_code, response.headers.get("Refusal-Code"), text)
    return found


def assert_one_answer(found: dict[str, tuple]) -> None:
    first = next(iter(found.values()))
    assert 400 <= first[0] < 500
    for case, answer in found.items():
        assert answer == first, (case, answer, first)


def test_by_path_every_script_the_caller_cannot_see_answers_alike(outsider, broker):
    found = answers(
        outsider,
        {
            "missing": {"script_name": "x", "script_path": "nope.py"},
            "private": {"script_name": "x", "script_path": "fails.py"},
            "deactivated": {"script_name": "x", "script_path": "retired.py"},
            "hidden file": {"script_name": "x", "script_path": "_private.py"},
            "outside": {"script_name": "x", "script_path": "../outside.py"},
        },
        "script_path",
    )
    assert_one_answer(found)
    assert TaskExecution.objects.count() == 0


def test_by_name_every_script_the_caller_cannot_see_answers_alike(outsider, broker):
    found = answers(
        outsider,
        {
            "missing": {"script_name": "never_was"},
            "private": {"script_name": "fails"},
            "deactivated": {"script_name": "retired"},
            "hidden file": {"script_name": "_private"},
        },
        "script_name",
    )
    assert_one_answer(found)
    assert "deactivated" not in found["deactivated"][2]


def test_by_id_every_script_the_caller_cannot_see_answers_alike(outsider, broker):
    found = answers(
        outsider,
        {
            "missing": {"script_id": 987654},
            "private": {"script_id": Script.objects.get(name="fails").pk},
            "deactivated": {"script_id": Script.objects.get(name="retired").pk},
        },
        "script_id",
    )
    assert_one_answer(found)


def test_a_name_of_another_script_is_not_borrowed_by_a_path(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            EXECUTE, {"script_name": "fails", "script_path": "ops/hello.sh"}, format="json"
        )
    assert response.status_code == 202
    execution = TaskExecution.objects.get()
    assert execution.script_name == "ops/hello"  # the path's script's own name
    assert execute(execution.pk) == "finished"
    assert list(ResultRecord.objects.values_list("script_name", flat=True)) == ["ops/hello"]
    assert not ResultRecord.objects.filter(script_name="fails").exists()
