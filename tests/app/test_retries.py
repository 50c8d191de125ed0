"""Retries: opt-in per script, only for the failures it names, each attempt recorded."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.executions.models import Status, TaskExecution
from scriptdeck.worker import sweeper
from scriptdeck.worker.execute import execute


def configure(name: str, **policy) -> Script:
    script = Script.objects.get(name=name)
    for key, value in policy.items():
        setattr(script, key, value)
    script.save()
    return script


def attempts(first: TaskExecution) -> list[TaskExecution]:
    chain = [TaskExecution.objects.get(pk=first.pk)]
    while chain[-1].retried_by_id:
        chain.append(TaskExecution.objects.get(pk=chain[-1].retried_by_id))
    return chain


def test_a_scripts_own_failure_is_never_retried_by_default(synced, alice, broker):
    script = configure("fails", max_retries=3)
    execution = services.submit(script=script, user=alice)
    execute(execution.pk)
    assert [a.status for a in attempts(execution)] == [Status.FAILURE]


def test_a_chosen_exit_code_is_retried_with_backoff_up_to_the_limit(
    synced, alice, broker, settings
):
    script = configure("fails", max_retries=2, retry_exit_codes=[2], retry_backoff=10)
    first = services.submit(script=script, user=alice, page_context="/p")
    execute(first.pk)
    chain = attempts(first)
    assert [(a.attempt, a.status) for a in chain] == [(1, Status.FAILURE), (2, Status.PENDING)]
    second = chain[1]
    assert second.retry_of_id == first.pk
    assert second.parameters == first.parameters and second.page_context == "/p"
    wait = (second.dispatch_after - timezone.now()).total_seconds()
    assert 7 < wait <= 12  # 10 s ± 20 % jitter
    assert f"Retried as execution {second.pk} (attempt 2)" in chain[0].error_message

    # Not due yet: the sweeper leaves it alone; once due, it is sent.
    settings.SCRIPTDECK_DISPATCH_GRACE = 0
    TaskExecution.objects.filter(pk=second.pk).update(
        created_at=timezone.now() - timedelta(seconds=5)
    )
    assert second.pk not in sweeper.sweep().dispatched
    TaskExecution.objects.filter(pk=second.pk).update(dispatch_after=timezone.now())
    assert second.pk in sweeper.sweep().dispatched
    execute(second.pk)
    third = attempts(first)[2]
    assert third.attempt == 3
    wait = (third.dispatch_after - timezone.now()).total_seconds()
    assert 15 < wait <= 24  # doubled
    TaskExecution.objects.filter(pk=third.pk).update(dispatch_after=timezone.now())
    sweeper.sweep()
    execute(third.pk)
    assert [a.status for a in attempts(first)] == [Status.FAILURE] * 3  # limit reached


def test_a_spawn_failure_is_retried_when_the_policy_says_so(synced, alice, broker, settings):
    script = configure("scan_dev_update", max_retries=1, retry_backoff=0)
    settings.SCRIPTDECK_PYTHON = "/nonexistent/python3"
    first = services.submit(script=script, user=alice)
    execute(first.pk)
    first.refresh_from_db()
    assert first.failure_reason == "spawn_failed"
    settings.SCRIPTDECK_PYTHON = ""
    second = attempts(first)[1]
    sweeper.sweep()
    execute(second.pk)
    second.refresh_from_db()
    assert second.status == Status.SUCCESS, second.error_message


def test_a_lost_worker_reruns_once_when_the_script_opts_in(synced, alice, broker, settings):
    script = configure("scan_dev_update", rerun_on_worker_lost=True)
    execution = services.submit(script=script, user=alice)
    services.start(execution.pk, "frozen-host", 1)
    TaskExecution.objects.filter(pk=execution.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    sweeper.sweep()
    sweeper.sweep()  # a second sweep must not add a second rerun
    chain = attempts(execution)
    assert [(a.status, a.failure_reason) for a in chain] == [
        (Status.FAILURE, "worker_lost"),
        (Status.PENDING, ""),
    ]
    # The frozen worker wakes up and reports: no second outcome for the first attempt.
    from scriptdeck.runner import Outcome

    assert not services.finish(execution.pk, Outcome(succeeded=True))
    assert TaskExecution.objects.get(pk=execution.pk).status == Status.FAILURE
    # The rerun is lost too: it is not rerun again.
    rerun = chain[1]
    services.start(rerun.pk, "host", 2)
    TaskExecution.objects.filter(pk=rerun.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    sweeper.sweep()
    assert len(attempts(execution)) == 2


def test_the_compat_result_follows_a_retry_to_its_last_attempt(synced, alice, alice_client, broker):
    script = configure("fails", max_retries=1, retry_exit_codes=[2], retry_backoff=0)
    first = services.submit(script=script, user=alice)
    execute(first.pk)
    answer = alice_client.get("/myapp/api/script-task-result/", {"task_id": str(first.task_id)})
    assert answer.data["ready"] is False
    second = attempts(first)[1]
    assert answer.data["execution_id"] == second.pk
    sweeper.sweep()
    execute(second.pk)
    answer = alice_client.get("/myapp/api/script-task-result/", {"task_id": str(first.task_id)})
    assert answer.data["ready"] is True and answer.data["status"] == "FAILURE"
    detail = alice_client.get(f"/api/executions/{second.pk}/").data
    assert (detail["attempt"], detail["retry_of"]) == (2, first.pk)


def test_a_retry_policy_names_only_known_reasons(synced, admin_client):
    script = Script.objects.get(name="fails")
    bad = admin_client.patch(
        f"/api/scripts/{script.pk}/", {"retry_on": ["script_error"]}, format="json"
    )
    assert bad.status_code == 400 and "retry_on" in bad.data
    bad = admin_client.patch(f"/api/scripts/{script.pk}/", {"retry_exit_codes": [0]}, format="json")
    assert bad.status_code == 400 and "retry_exit_codes" in bad.data
    good = admin_client.patch(
        f"/api/scripts/{script.pk}/",
        {"retry_on": ["timeout"], "max_retries": 2, "retry_exit_codes": [75]},
        format="json",
    )
    assert good.status_code == 200, good.data
