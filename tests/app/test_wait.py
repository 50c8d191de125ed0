"""``GET /api/executions/{id}/wait/``: the record once the run has ended, or at the timeout."""

from __future__ import annotations

import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient

from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.executions.models import Status
from scriptdeck.worker.execute import execute

pytestmark = pytest.mark.django_db(transaction=True)


def get_async(path: str, user=None) -> object:
    """Through the ASGI handler, as uvicorn serves it."""
    client = AsyncClient()
    if user is not None:
        client.force_login(user)
    return async_to_sync(client.get)(path)


def run_in_thread(execution_id: int) -> threading.Thread:
    def work() -> None:
        try:
            execute(execution_id)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_an_ended_run_answers_at_once_with_its_record(synced, alice, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    execute(execution.pk)
    began = time.monotonic()
    response = get_async(f"/api/executions/{execution.pk}/wait/?timeout=30", alice)
    assert time.monotonic() - began < 5
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == execution.pk
    assert body["status"] == Status.FAILURE
    assert body["failure_reason"]


def test_the_answer_comes_when_the_run_ends(synced, alice, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    thread = run_in_thread(execution.pk)
    try:
        response = get_async(f"/api/executions/{execution.pk}/wait/?timeout=60", alice)
    finally:
        thread.join(timeout=60)
    assert response.status_code == 200
    assert response.json()["status"] == Status.FAILURE


def test_at_the_timeout_the_current_state_is_answered(synced, alice, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    began = time.monotonic()
    response = get_async(f"/api/executions/{execution.pk}/wait/?timeout=0.3", alice)
    assert 0.3 <= time.monotonic() - began < 10
    assert response.status_code == 200
    assert response.json()["status"] == Status.PENDING


@pytest.mark.parametrize("value", ["-1", "301", "soon", "nan"])
def test_a_bad_timeout_is_refused_naming_the_field(synced, alice, broker, value):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    response = get_async(f"/api/executions/{execution.pk}/wait/?timeout={value}", alice)
    assert response.status_code == 400
    assert "timeout" in response.json()


def test_outsiders_get_the_same_404_as_for_a_missing_run(synced, alice, bob, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    assert get_async(f"/api/executions/{execution.pk}/wait/?timeout=0").status_code == 401
    hidden = get_async(f"/api/executions/{execution.pk}/wait/?timeout=0", bob)
    missing = get_async("/api/executions/999999/wait/?timeout=0", bob)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_a_runs_changes_are_announced_and_only_its_end_as_the_end(
    synced, alice, broker, monkeypatch
):
    from scriptdeck.executions import announcements

    said: list[tuple[int, bool]] = []
    monkeypatch.setattr(announcements, "announce", lambda pk, ended=False: said.append((pk, ended)))
    execution = services.submit(script=Script.objects.get(name="scan_dev_update"), user=alice)
    execute(execution.pk)
    assert said[0] == (execution.pk, False)  # started
    assert said[-1] == (execution.pk, True)  # ended
    assert [ended for _, ended in said].count(True) == 1


def test_a_retried_failure_is_not_the_end_the_answer_is_the_last_attempts(synced, alice, broker):
    from scriptdeck.worker import sweeper

    script = Script.objects.get(name="fails")
    script.max_retries, script.retry_exit_codes, script.retry_backoff = 1, [2], 0
    script.save()
    first = services.submit(script=script, user=alice)
    execute(first.pk)
    first.refresh_from_db()
    assert first.status == Status.FAILURE and first.retried_by_id
    # Still going (the retry waits to be sent): at the timeout, the retry's current state.
    response = get_async(f"/api/executions/{first.pk}/wait/?timeout=0.3", alice)
    assert response.status_code == 200
    assert response.json()["id"] == first.retried_by_id
    assert response.json()["status"] == Status.PENDING
    sweeper.sweep()
    execute(first.retried_by_id)
    body = get_async(f"/api/executions/{first.pk}/wait/?timeout=30", alice).json()
    assert (body["id"], body["status"], body["attempt"]) == (first.retried_by_id, "FAILURE", 2)
