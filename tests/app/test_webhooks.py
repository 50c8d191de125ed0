"""Incoming webhooks: ``POST /api/hooks/<key>/`` runs a script as the webhook's owner.

The synchronous mode (``?wait=N``) needs a run to happen while the view waits. These tests
replace only the broker: what would be sent is run at once in a thread (``execute``, the
worker's own code), so the view's polling and the run truly overlap, through the ASGI
handler. Those tests commit for real (``transaction=True``): the view polls from the shared
thread pool and the "worker" thread has its own connection, and both must see the rows.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import AsyncClient, Client

from scriptdeck.access.models import AuditEvent, Level, ScriptGrant
from scriptdeck.automation import webhooks
from scriptdeck.automation.models import WebhookTrigger
from scriptdeck.catalog.models import Script
from scriptdeck.celery import app as celery_app
from scriptdeck.executions import services
from scriptdeck.executions.models import TERMINAL_STATUSES, Status, TaskExecution, Trigger
from scriptdeck.security.crypto import decrypt_json
from scriptdeck.worker.execute import execute

from .conftest import write_script

NOT_FOUND = {"detail": "no such hook"}
MASK = "••••"

DEPLOY = """
\"\"\"Deploys something, and says what it was given.\"\"\"
import json
import os

params = json.loads(os.environ["SCRIPT_PARAMETERS"])
result = {"status": "success", "message": "deployed " + params["target"], "given": params}
with open(os.environ["SCRIPT_RESULT_FILE"], "w", encoding="utf-8") as handle:
    json.dump(result, handle)
"""

SCHEMA = {
    "type": "object",
    "properties": {
        "target": {"type": "string"},
        "count": {"type": "integer", "default": 1},
        "env": {"type": "string", "default": "dev"},
        "password": {"type": "string", "secret": True},
    },
    "required": ["target"],
}

SLOW = """
\"\"\"Takes its time.\"\"\"
import time

time.sleep(20)
print("{}")
"""


@pytest.fixture
def deploy(synced, scripts_dir) -> Script:
    write_script(scripts_dir, "deploy.py", DEPLOY)
    return Script.objects.create(name="deploy", path="deploy.py", parameter_schema=SCHEMA)


@pytest.fixture
def hook_and_key(deploy, alice) -> tuple[WebhookTrigger, str]:
    return webhooks.create(
        "deploy prod",
        deploy,
        alice,
        parameters={"env": "prod", "password": "s3cr3t-pw"},
        allowed_fields=["target", "count", "env"],
    )


def url(key: str, query: str = "") -> str:
    return f"/api/hooks/{key}/{query}"


def call(key: str, body: object = None, query: str = "", **extra: object):
    """Like any sender: no session, no token, CSRF checks on (they must not apply)."""
    client = Client(enforce_csrf_checks=True)
    if body is None:
        return client.post(url(key, query), **extra)
    return client.post(url(key, query), body, content_type="application/json", **extra)


# --- the key ---------------------------------------------------------------------------------


def test_the_key_is_shown_once_and_only_its_digest_is_stored(hook_and_key):
    hook, key = hook_and_key
    assert key.startswith("hk_") and len(key) > 40
    row = WebhookTrigger.objects.filter(pk=hook.pk).values().get()
    assert row["digest"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == key[:9]
    assert not any(key in str(value) for value in row.values())
    assert webhooks.find(key) == hook
    assert webhooks.find(key + "x") is None


def test_secret_fixed_parameters_are_stored_masked_and_encrypted(hook_and_key):
    hook, _ = hook_and_key
    hook.refresh_from_db()
    assert hook.parameters == {"env": "prod", "password": MASK}
    assert "s3cr3t-pw" not in hook.secret_parameters
    assert decrypt_json(hook.secret_parameters) == {"password": "s3cr3t-pw"}


def test_a_hook_that_may_not_wait_that_long_is_refused(deploy, alice):
    with pytest.raises(ValidationError) as caught:
        webhooks.create("too patient", deploy, alice, max_wait=301)
    assert "max_wait" in caught.value.message_dict
    assert not WebhookTrigger.objects.exists()


# --- who gets 404 ----------------------------------------------------------------------------


def test_a_wrong_key_is_not_found(hook_and_key, broker):
    _, key = hook_and_key
    for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), "hk_nope", "x" * 300):
        response = call(wrong, {"target": "web1"})
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert not TaskExecution.objects.exists()
    assert broker == []


def test_a_revoked_hook_answers_exactly_like_a_wrong_key(hook_and_key, broker):
    hook, key = hook_and_key
    assert call(key, {"target": "web1"}).status_code == 202
    assert webhooks.revoke(hook) is True
    assert webhooks.revoke(hook) is False  # once
    wrong = call("hk_" + "A" * 43, {"target": "web1"})
    revoked = call(key, {"target": "web1"})
    assert revoked.status_code == wrong.status_code == 404
    assert revoked.content == wrong.content
    assert webhooks.find(key) is None
    assert TaskExecution.objects.count() == 1


def test_an_owner_who_lost_the_run_permission_gets_404_and_the_log_says_why(
    hook_and_key, alice, runners, broker, caplog
):
    _, key = hook_and_key
    alice.groups.remove(runners)
    ScriptGrant.objects.create(user=alice, script=None, level=Level.VIEW)  # view is not enough
    with caplog.at_level("WARNING", logger="scriptdeck.api.webhook_calls"):
        response = call(key, {"target": "web1"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert "may not run script 'deploy'" in caplog.text
    assert key not in caplog.text
    assert not TaskExecution.objects.exists()
    assert broker == []


def test_a_deactivated_owner_or_script_is_not_found_either(hook_and_key, alice, deploy, broker):
    _, key = hook_and_key
    alice.is_active = False
    alice.save()
    assert call(key, {"target": "web1"}).json() == NOT_FOUND
    alice.is_active = True
    alice.save()
    Script.objects.filter(pk=deploy.pk).update(is_active=False)
    response = call(key, {"target": "web1"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert not TaskExecution.objects.exists()


def test_a_get_is_not_allowed(hook_and_key):
    _, key = hook_and_key
    response = Client().get(url(key))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


# --- parameters ------------------------------------------------------------------------------


def test_whitelisted_fields_are_taken_and_the_others_ignored(
    hook_and_key, alice, broker, django_capture_on_commit_callbacks
):
    hook, key = hook_and_key
    with django_capture_on_commit_callbacks(execute=True):
        response = call(key, {"target": "web1", "count": 3, "verbose": True, "password": "x"})
    assert response.status_code == 202, response.content
    data = response.json()
    execution = TaskExecution.objects.get(pk=data["execution_id"])
    assert data == {
        "execution_id": execution.pk,
        "task_id": str(execution.task_id),
        "status": "PENDING",
        "url": f"/api/executions/{execution.pk}/",
    }
    assert response["Location"] == data["url"]
    # "verbose" is not whitelisted (and unknown to the schema: it would be refused if taken);
    # "password" is not whitelisted: the fixed secret stays.
    assert execution.parameters == {"target": "web1", "count": 3, "env": "prod", "password": MASK}
    assert decrypt_json(execution.secret_parameters) == {"password": "s3cr3t-pw"}
    assert execution.user == alice
    assert [message["args"] for message in broker] == [[execution.pk]]


def test_fixed_parameters_cannot_be_overridden_even_by_a_whitelisted_field(hook_and_key, broker):
    _, key = hook_and_key
    response = call(key, {"target": "web1", "env": "staging"})
    assert response.status_code == 202
    execution = TaskExecution.objects.get(pk=response.json()["execution_id"])
    assert execution.parameters["env"] == "prod"


def test_the_schemas_defaults_fill_in_what_neither_gives(deploy, alice, broker):
    _, key = webhooks.create("bare", deploy, alice, allowed_fields=["target"])
    response = call(key, {"target": "web2"})
    assert response.status_code == 202
    execution = TaskExecution.objects.get(pk=response.json()["execution_id"])
    assert execution.parameters == {"target": "web2", "count": 1, "env": "dev"}


def test_a_bad_type_in_a_whitelisted_field_is_refused_naming_it_and_nothing_is_recorded(
    hook_and_key, broker
):
    hook, key = hook_and_key
    response = call(key, {"target": "web1", "count": "three"})
    assert response.status_code == 400
    data = response.json()
    assert data["count"] == ["must be a whole number"]
    assert "count" in data["error"]
    assert not TaskExecution.objects.exists()
    assert not AuditEvent.objects.exists()
    assert broker == []
    hook.refresh_from_db()
    assert hook.last_used_at is None


def test_a_missing_required_field_is_refused(hook_and_key, broker):
    _, key = hook_and_key
    response = call(key, {})
    assert response.status_code == 400
    assert "target" in response.json()
    assert not TaskExecution.objects.exists()


@pytest.mark.parametrize("raw", ['["target"]', '"web1"', "42", "null", "{not json"])
def test_a_body_that_is_not_a_json_object_is_refused(hook_and_key, broker, raw):
    _, key = hook_and_key
    response = Client().post(url(key), raw, content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json()
    assert not TaskExecution.objects.exists()


def test_an_empty_body_is_an_empty_object(deploy, alice, broker):
    _, key = webhooks.create("fixed", deploy, alice, parameters={"target": "all"})
    response = Client().post(url(key), "", content_type="application/json")
    assert response.status_code == 202, response.content
    execution = TaskExecution.objects.get(pk=response.json()["execution_id"])
    assert execution.parameters == {"target": "all", "count": 1, "env": "dev"}


# --- what is recorded ------------------------------------------------------------------------


def test_the_run_records_its_trigger_owner_and_address_and_the_hook_its_last_use(
    hook_and_key, alice, broker
):
    hook, key = hook_and_key
    response = call(key, {"target": "web1"}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 202
    execution = TaskExecution.objects.get(pk=response.json()["execution_id"])
    assert execution.trigger == Trigger.WEBHOOK == "webhook"
    assert execution.trigger_ref == str(hook.pk)
    assert execution.user == alice
    event = AuditEvent.objects.get(target_id=str(execution.pk))
    assert event.action == "execution.run"
    assert event.actor == alice
    assert event.ip == "203.0.113.7"
    assert event.detail["trigger"] == "webhook"
    hook.refresh_from_db()
    assert hook.last_used_at is not None
    assert hook.last_used_at == execution.created_at


# --- the rate limit --------------------------------------------------------------------------


def test_over_the_rate_limit_answers_429_with_retry_after(deploy, alice, broker):
    hook, key = webhooks.create("limited", deploy, alice, allowed_fields=["target"])
    WebhookTrigger.objects.filter(pk=hook.pk).update(rate_limit=2)
    _, other_key = webhooks.create("other", deploy, alice, allowed_fields=["target"])
    for _ in range(2):
        assert call(key, {"target": "a"}).status_code == 202
    refused = call(key, {"target": "a"})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "2 runs a minute" in refused.json()["detail"]
    assert TaskExecution.objects.filter(trigger_ref=str(hook.pk)).count() == 2
    assert call(other_key, {"target": "a"}).status_code == 202  # each hook has its own
    # A minute later the window has moved on.
    TaskExecution.objects.filter(trigger_ref=str(hook.pk)).update(
        created_at=TaskExecution.objects.earliest("created_at").created_at - timedelta(seconds=61)
    )
    assert call(key, {"target": "a"}).status_code == 202


def test_refusals_carry_their_code_and_an_unknown_key_only_the_fixed_body(deploy, alice, broker):
    hook, key = webhooks.create("limited", deploy, alice, rate_limit=1, allowed_fields=["target"])
    assert call(key, {"target": "a"}).status_code == 202
    limited = call(key, {"target": "a"})
    assert limited.status_code == 429 and limited["Refusal-Code"] == "rate_limited"
    assert limited.json()["error"] == limited.json()["detail"]
    unknown = call("hk_nope", {"target": "a"})
    assert unknown["Refusal-Code"] == "webhook_not_found"
    assert unknown.content == b'{"detail": "no such hook"}'


def test_retry_after_counts_down_to_when_the_oldest_run_leaves_the_window(deploy, alice, broker):
    hook, key = webhooks.create("once", deploy, alice, rate_limit=1, allowed_fields=["target"])
    assert call(key, {"target": "a"}).status_code == 202
    execution = TaskExecution.objects.get()
    TaskExecution.objects.filter(pk=execution.pk).update(
        created_at=execution.created_at - timedelta(seconds=50)
    )
    refused = call(key, {"target": "a"})
    assert refused.status_code == 429
    assert 9 <= int(refused["Retry-After"]) <= 11


def finish_in_thread(target, *args: object) -> None:
    try:
        target(*args)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_never_start_more_than_the_limit(deploy, alice, broker):
    hook, _ = webhooks.create("raced", deploy, alice, rate_limit=3, allowed_fields=["target"])
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def one_call() -> None:
        start.wait()
        try:
            webhooks.fire(hook, {"target": "a"}, "127.0.0.1")
            outcomes.append("started")
        except webhooks.RateLimited:
            outcomes.append("limited")

    threads = [threading.Thread(target=finish_in_thread, args=(one_call,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["limited"] * 3 + ["started"] * 3
    assert TaskExecution.objects.filter(trigger_ref=str(hook.pk)).count() == 3


# --- waiting for the result ------------------------------------------------------------------


@pytest.fixture
def inline_worker(monkeypatch) -> Iterator[list[threading.Thread]]:
    """The broker replaced by a worker in this process: what is sent runs at once, in a thread."""
    threads: list[threading.Thread] = []

    def send_task(name, args=None, kwargs=None, **options):
        thread = threading.Thread(target=finish_in_thread, args=(execute, args[0]))
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(celery_app, "send_task", send_task)
    yield threads
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


def post_async(path: str, body: dict) -> object:
    """Through the ASGI handler, as uvicorn serves it."""
    return async_to_sync(AsyncClient().post)(path, body, content_type="application/json")


@pytest.mark.django_db(transaction=True)
def test_with_wait_the_answer_is_the_runs_result(hook_and_key, inline_worker):
    hook, key = hook_and_key
    began = time.monotonic()
    response = post_async(url(key, "?wait=20"), {"target": "web1", "count": 2})
    assert time.monotonic() - began < 20
    assert response.status_code == 200, response.content
    data = response.json()
    execution = TaskExecution.objects.get(pk=data["execution_id"])
    assert execution.status == Status.SUCCESS
    assert data["status"] == "SUCCESS"
    assert data["success"] is True
    assert data["error"] is None
    assert data["result"]["message"] == "deployed web1"
    # The script got the secret; what is answered, like what is stored, shows it masked.
    assert data["result"]["given"] == {
        "target": "web1",
        "count": 2,
        "env": "prod",
        "password": MASK,
    }
    assert data["result"] == execution.result
    assert data["execution_time"] == execution.execution_time > 0
    assert data["memory_usage"] == execution.memory_usage
    assert data["task_id"] == str(execution.task_id)
    assert data["url"] == f"/api/executions/{execution.pk}/"


@pytest.mark.django_db(transaction=True)
def test_with_wait_a_failed_run_answers_its_error(synced, alice, inline_worker):
    _, key = webhooks.create("fails", Script.objects.get(name="fails"), alice)
    response = post_async(url(key, "?wait=20"), {})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "FAILURE"
    assert data["success"] is False
    assert "exited with code 2" in data["error"]
    assert "boom" in data["error"]


@pytest.mark.django_db(transaction=True)
def test_a_run_longer_than_the_wait_answers_202_with_its_current_status(
    synced, scripts_dir, alice, inline_worker
):
    write_script(scripts_dir, "slow.py", SLOW)
    script = Script.objects.create(name="slow", path="slow.py")
    hook, key = webhooks.create("slow", script, alice, max_wait=1)
    began = time.monotonic()
    response = post_async(url(key, "?wait=30"), {})  # held to the hook's max_wait: 1 s
    waited = time.monotonic() - began
    assert 0.9 <= waited < 10
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["status"] in ("PENDING", "STARTED")
    assert data["status"] not in TERMINAL_STATUSES
    assert data["url"] == f"/api/executions/{data['execution_id']}/"
    # Stop the run, so the worker thread ends quickly.
    deadline = time.monotonic() + 10
    while TaskExecution.objects.get(pk=data["execution_id"]).status == Status.PENDING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    services.cancel(data["execution_id"], alice)


def test_a_hook_that_never_waits_answers_at_once(deploy, alice, broker):
    _, key = webhooks.create(
        "fire and forget", deploy, alice, allowed_fields=["target"], max_wait=0
    )
    began = time.monotonic()
    response = call(key, {"target": "web1"}, query="?wait=10")
    assert time.monotonic() - began < 5
    assert response.status_code == 202
    assert response.json()["status"] == "PENDING"


@pytest.mark.parametrize("wait", ["soon", "-1", "nan", "inf"])
def test_a_bad_wait_is_refused_before_anything_runs(hook_and_key, broker, wait):
    _, key = hook_and_key
    response = call(key, {"target": "web1"}, query=f"?wait={wait}")
    assert response.status_code == 400
    assert "wait" in response.json()
    assert not TaskExecution.objects.exists()
