"""A value stored as secret stays secret, whatever the script's schema says later.

Alice stores a password with an execution, a schedule or a webhook. Then the schema
changes: ``secret`` dropped, or a ``pattern`` or ``maxLength`` added that a manager could
use to test the hidden value. Bob, a manager of the script, re-runs her execution, edits
her schedule or calls her hook (waiting for the result). The password is never in an
answer, a row of the database or the audit log, and the answers are the same whether the
hidden value fits the new constraint or not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.apps import apps
from django.core import serializers
from django.db import connection
from django.test import AsyncClient

from scriptdeck.access.models import AuditEvent, Level, ScriptGrant
from scriptdeck.automation.models import Schedule
from scriptdeck.automation.scheduler import run_due
from scriptdeck.catalog.models import Script
from scriptdeck.celery import app as celery_app
from scriptdeck.executions.models import Status, TaskExecution
from scriptdeck.worker.execute import execute

from .conftest import client_for, write_script
from .test_uploads import upload

MASK = "••••"
# Each change of the schema, and two hidden values: one that fits it, one that does not.
FITS = "S3cret-ok"
DOES_NOT_FIT = "x-Secret-value-far-too-long-42"
CHANGES = {
    "secret dropped": {"type": "string"},
    "pattern added": {"type": "string", "secret": True, "pattern": "^S"},
    "maxLength added": {"type": "string", "secret": True, "maxLength": 10},
}

KEEPER = """
\"\"\"Uses a password, and prints it everywhere it should not.\"\"\"
import json
import os
import sys

params = json.loads(os.environ["SCRIPT_PARAMETERS"])
password = params.get("password") or ""
print("password:", password, flush=True)
print("password:", password, file=sys.stderr, flush=True)
result = {"status": "success", "message": "used " + password, "given": params}
with open(os.environ["SCRIPT_RESULT_FILE"], "w", encoding="utf-8") as handle:
    json.dump(result, handle)
"""


def schema(password: dict) -> dict:
    return {
        "type": "object",
        "properties": {"password": password, "host": {"type": "string"}},
        "required": ["host"],
    }


@pytest.fixture
def keeper(synced, scripts_dir, bob) -> Script:
    write_script(scripts_dir, "keeper.py", KEEPER)
    script = Script.objects.create(
        name="keeper",
        path="keeper.py",
        parameter_schema=schema({"type": "string", "secret": True}),
    )
    ScriptGrant.objects.create(user=bob, script=script, level=Level.MANAGE)
    return script


def change_schema(script: Script, change: str) -> None:
    script.parameter_schema = schema(CHANGES[change])
    script.save()


def every_row() -> str:
    """Every row of every table, as JSON: the encrypted columns hold no plain text."""
    rows = []
    for model in apps.get_models():
        rows.append(serializers.serialize("json", model.objects.all()))
    return "\n".join(rows)


def assert_nowhere(secret: str, *answers: bytes) -> None:
    forms = {secret, json.dumps(secret)[1:-1]}
    for answer in answers:
        for form in forms:
            assert form not in answer.decode(), f"{form!r} in an answer"
    stored = every_row()
    for form in forms:
        assert form not in stored, f"{form!r} in a stored row"
    for event in AuditEvent.objects.all():
        assert secret not in json.dumps(event.detail, ensure_ascii=False)


def what_shows(answer) -> tuple[int, object]:
    """The part of an answer that could depend on the hidden value."""
    body = answer.json()
    if answer.status_code >= 400:
        return answer.status_code, body
    if "parameters" in body:
        return answer.status_code, body["parameters"]
    result = {k: v for k, v in (body.get("result") or {}).items() if k != "execution_time"}
    return answer.status_code, (body.get("status"), result, body.get("error"))


def ran_to_the_end(execution_id: int) -> TaskExecution:
    execute(execution_id)
    run = TaskExecution.objects.get(pk=execution_id)
    assert run.status == Status.SUCCESS, (run.failure_reason, run.error_message)
    return run


# --- re-run ----------------------------------------------------------------------------------


def rerun_after_change(keeper, alice, bob, capture, change: str, secret: str):
    keeper.parameter_schema = schema({"type": "string", "secret": True})
    keeper.save()
    with capture(execute=True):
        made = client_for(alice).post(
            "/api/executions/",
            {"script": "keeper", "parameters": {"password": secret, "host": "db1"}},
            format="json",
        )
    assert made.status_code == 202, made.content
    ran_to_the_end(made.json()["id"])
    change_schema(keeper, change)
    with capture(execute=True):
        again = client_for(bob).post(f"/api/executions/{made.json()['id']}/rerun/")
    if again.status_code == 202:
        run = ran_to_the_end(again.json()["id"])
        # The script still got the value it was given.
        assert run.result["message"] == f"used {MASK}"
        assert run.parameters == {"password": MASK, "host": "db1"}
    assert_nowhere(secret, made.content, again.content)
    return again


@pytest.mark.parametrize("change", CHANGES)
def test_a_rerun_after_a_schema_change_never_shows_the_stored_secret(
    keeper, alice, bob, broker, django_capture_on_commit_callbacks, change
):
    answers = [
        rerun_after_change(keeper, alice, bob, django_capture_on_commit_callbacks, change, secret)
        for secret in (FITS, DOES_NOT_FIT)
    ]
    assert answers[0].status_code == 202
    assert what_shows(answers[0]) == what_shows(answers[1])


# --- schedule edit ---------------------------------------------------------------------------


def edit_schedule_after_change(keeper, alice, bob, change: str, secret: str):
    keeper.parameter_schema = schema({"type": "string", "secret": True})
    keeper.save()
    made = client_for(alice).post(
        "/api/schedules/",
        {
            "name": "nightly",
            "script": keeper.pk,
            "interval_seconds": 5,
            "parameters": {"password": secret, "host": "db1"},
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    change_schema(keeper, change)
    edited = client_for(bob).patch(
        f"/api/schedules/{made.json()['id']}/",
        {"parameters": {"password": MASK, "host": "db2"}},
        format="json",
    )
    schedule = Schedule.objects.get(pk=made.json()["id"])
    fired = run_due(now=schedule.next_run_at + timedelta(milliseconds=10))
    started = [f for f in fired if f.schedule_id == schedule.pk]
    assert [f.action for f in started] == ["started"], [f.detail for f in started]
    run = ran_to_the_end(started[0].execution_id)
    assert run.parameters["password"] == MASK
    assert_nowhere(secret, made.content, edited.content)
    return edited


@pytest.mark.parametrize("change", CHANGES)
def test_a_schedule_edit_after_a_schema_change_never_shows_the_stored_secret(
    keeper, alice, bob, broker, change
):
    answers = [
        edit_schedule_after_change(keeper, alice, bob, change, secret)
        for secret in (FITS, DOES_NOT_FIT)
    ]
    assert answers[0].status_code == 200, answers[0].content
    assert answers[0].json()["parameters"] == {"password": MASK, "host": "db2"}
    assert what_shows(answers[0]) == what_shows(answers[1])


# --- webhook call, waiting for the result ----------------------------------------------------


@pytest.fixture
def inline_worker(monkeypatch) -> Iterator[None]:
    """The broker replaced by a worker in this process: what is sent runs at once, in a thread."""
    threads: list[threading.Thread] = []

    def run(execution_id: int) -> None:
        try:
            execute(execution_id)
        finally:
            connection.close()

    def send_task(name, args=None, kwargs=None, **options):
        thread = threading.Thread(target=run, args=(args[0],))
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(celery_app, "send_task", send_task)
    yield
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


def call_hook_after_change(keeper, alice, change: str, secret: str):
    keeper.parameter_schema = schema({"type": "string", "secret": True})
    keeper.save()
    made = client_for(alice).post(
        "/api/webhooks/",
        {
            "name": "deploy",
            "script": keeper.pk,
            "parameters": {"password": secret},
            "allowed_fields": ["host", "password"],
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    change_schema(keeper, change)
    answer = async_to_sync(AsyncClient().post)(
        f"/api/hooks/{made.json()['key']}/?wait=20",
        {"host": "db1", "password": "typed-by-the-caller"},
        content_type="application/json",
    )
    assert_nowhere(secret, made.content, answer.content)
    return answer


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", CHANGES)
def test_a_hook_call_after_a_schema_change_never_shows_the_stored_secret(
    keeper, alice, inline_worker, change
):
    answers = [
        call_hook_after_change(keeper, alice, change, secret) for secret in (FITS, DOES_NOT_FIT)
    ]
    assert answers[0].status_code == 200, answers[0].content
    assert answers[0].json()["result"]["given"] == {"password": MASK, "host": "db1"}
    assert what_shows(answers[0]) == what_shows(answers[1])


# --- a manager's edit of someone else's schedule ---------------------------------------------

FILE_SCHEMA = {"type": "object", "properties": {"data": {"type": "string", "format": "file"}}}


def test_a_managers_edit_of_a_staff_schedule_cannot_hand_it_another_users_upload(
    synced, scripts_dir, admin_user, alice, bob, broker
):
    write_script(scripts_dir, "reads.py", "import json, os\nprint(json.dumps({'ok': True}))\n")
    script = Script.objects.create(name="reads", path="reads.py", parameter_schema=FILE_SCHEMA)
    ScriptGrant.objects.create(user=bob, script=script, level=Level.MANAGE)
    alices = upload(client_for(alice), "private.txt", b"alice's private rows").data["id"]
    bobs = upload(client_for(bob), "mine.txt", b"bob's rows").data["id"]
    made = client_for(admin_user).post(
        "/api/schedules/",
        {"name": "staff's", "script": script.pk, "interval_seconds": 5, "parameters": {}},
        format="json",
    )
    assert made.status_code == 201, made.content
    url = f"/api/schedules/{made.json()['id']}/"

    refused = client_for(bob).patch(url, {"parameters": {"data": alices}}, format="json")
    assert refused.status_code == 400, refused.content
    assert "data" in refused.json()
    schedule = Schedule.objects.get(pk=made.json()["id"])
    assert schedule.parameters == {}
    fired = run_due(now=schedule.next_run_at + timedelta(milliseconds=10))
    [run] = TaskExecution.objects.filter(pk__in=[f.execution_id for f in fired])
    assert run.parameters == {}

    # His own upload he may give it; the owner's own edit is checked at each run, as before.
    accepted = client_for(bob).patch(url, {"parameters": {"data": bobs}}, format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["parameters"] == {"data": bobs}


def test_a_rerun_by_a_manager_refuses_someone_elses_secret_upload_without_naming_it(
    synced, scripts_dir, alice, bob, broker, django_capture_on_commit_callbacks
):
    write_script(scripts_dir, "reads.py", "import json, os\nprint(json.dumps({'ok': True}))\n")
    secret_file = {"type": "string", "format": "file", "secret": True}
    script = Script.objects.create(
        name="reads",
        path="reads.py",
        parameter_schema={"type": "object", "properties": {"data": secret_file}},
    )
    ScriptGrant.objects.create(user=bob, script=script, level=Level.MANAGE)
    alices = upload(client_for(alice), "private.txt", b"alice's private rows").data["id"]
    with django_capture_on_commit_callbacks(execute=True):
        made = client_for(alice).post(
            "/api/executions/", {"script": "reads", "parameters": {"data": alices}}, format="json"
        )
    assert made.status_code == 202, made.content
    assert made.json()["parameters"] == {"data": MASK}

    refused = client_for(bob).post(f"/api/executions/{made.json()['id']}/rerun/")
    assert refused.status_code == 400, refused.content
    assert "data" in refused.json()
    assert str(alices) not in refused.content.decode()
    assert TaskExecution.objects.count() == 1
