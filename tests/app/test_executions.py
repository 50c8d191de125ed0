"""Submitting through the native API, and what the worker records."""

from __future__ import annotations

import json

import pytest

from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.executions.models import ResultRecord, Status, TaskExecution
from scriptdeck.worker.execute import execute

from .conftest import write_script


def submit(client, script, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/api/executions/", {"script": script, **body}, format="json")


def test_submit_records_pending_then_queues_the_id_after_commit(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(
            "/api/executions/",
            {"script": "scan_dev_update", "parameters": {"target": "a"}, "page_context": "/p"},
            format="json",
        )
        assert response.status_code == 202, response.data
        assert broker == []  # nothing is sent before the row is committed
    for callback in callbacks:
        callback()
    execution = TaskExecution.objects.get(pk=response.data["id"])
    assert response.data["status"] == "PENDING"
    assert response.data["task_id"] == str(execution.task_id)
    assert execution.user.username == "alice"
    assert execution.parameters == {"target": "a"}
    assert len(broker) == 1
    assert broker[0]["args"] == [execution.pk]
    assert broker[0]["task_id"] == str(execution.task_id)
    assert broker[0]["queue"] == "default"
    assert broker[0]["time_limit"] > Script.objects.get(name="scan_dev_update").time_limit
    execution.refresh_from_db()
    assert execution.dispatched_at is not None


def test_submit_routes_to_the_scripts_queue(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    Script.objects.filter(name="fails").update(queue="gpu")
    response = submit(alice_client, "fails", django_capture_on_commit_callbacks)
    assert response.status_code == 202
    assert broker[0]["queue"] == "gpu"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"script": "scan_dev_update", "parameters": [1, 2]}, "parameters"),
        ({"script": "scan_dev_update", "parameters": "x"}, "parameters"),
        ({"parameters": {}}, "script"),
        ({"script": "scan_dev_update", "page_context": "x" * 300}, "page_context"),
    ],
)
def test_bad_submissions_are_refused_naming_the_field(synced, alice_client, broker, body, field):
    response = alice_client.post("/api/executions/", body, format="json")
    assert response.status_code == 400
    assert field in response.data
    assert TaskExecution.objects.count() == 0
    assert broker == []


def test_an_unknown_or_inactive_script_is_not_found(synced, alice_client, broker):
    Script.objects.filter(name="fails").update(is_active=False)
    for name in ("nope", "fails"):
        response = alice_client.post("/api/executions/", {"script": name}, format="json")
        assert response.status_code == 404
        assert "script" in response.data
    assert TaskExecution.objects.count() == 0


def test_an_unrunnable_file_type_is_refused_before_queueing(synced, alice_client, broker):
    Script.objects.create(name="notes", path="notes.txt")
    response = alice_client.post("/api/executions/", {"script": "notes"}, format="json")
    assert response.status_code == 400
    assert "unsupported script type" in response.data["script"][0]
    assert TaskExecution.objects.count() == 0


def run_now(client, script, django_capture_on_commit_callbacks, **body) -> TaskExecution:
    response = submit(client, script, django_capture_on_commit_callbacks, **body)
    assert response.status_code == 202, response.data
    assert execute(response.data["id"], hostname="test-worker") == "finished"
    return TaskExecution.objects.get(pk=response.data["id"])


def test_a_successful_run_is_recorded_whole_with_one_result_record(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    execution = run_now(
        alice_client,
        "scan_dev_update",
        django_capture_on_commit_callbacks,
        parameters={"target": "全部"},
        page_context="/scanDevUpdate",
    )
    assert execution.status == Status.SUCCESS
    assert execution.result["message"] == "扫描完成"
    assert execution.result["data"]["processed_parameters"] == {"target": "全部"}
    assert execution.result["data"]["execution_context"] == "/scanDevUpdate"
    assert execution.exit_code == 0
    assert execution.worker_host == "test-worker"
    assert execution.started_at <= execution.completed_at
    assert execution.execution_time > 0
    assert execution.memory_usage > 1
    assert execution.cpu_user is not None and execution.cpu_system is not None
    assert len(execution.script_sha256) == 64
    assert execution.script_sha256 == Script.objects.get(name="scan_dev_update").sha256
    records = ResultRecord.objects.filter(execution=execution)
    assert records.count() == 1
    record = records.get()
    assert record.scandevresult_filename == (
        f"scan_dev_update_执行结果_{str(execution.task_id)[:8]}.json"
    )
    assert record.director == "系统自动"
    assert record.result_type == "script"
    assert record.script_output == "扫描完成"
    assert record.page_context == "/scanDevUpdate"
    assert record.error_message is None
    assert json.loads(record.scandevresult_content) == execution.result
    assert "全部" in record.scandevresult_content  # not ASCII-escaped

    detail = alice_client.get(f"/api/executions/{execution.pk}/").data
    for field in (
        "id task_id script status failure_reason error_message parameters page_context result "
        "stdout stderr exit_code execution_time memory_usage cpu_user cpu_system created_at "
        "started_at completed_at script_sha256"
    ).split():
        assert field in detail
    results = alice_client.get("/api/results/", {"page_context": "/scanDevUpdate"}).data
    assert results["count"] == 1
    assert results["results"][0]["task_id"] == str(execution.task_id)
    download = alice_client.get(f"/api/results/{record.pk}/download/")
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]


def test_a_second_delivery_of_the_same_message_runs_nothing(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    execution = run_now(alice_client, "scan_dev_update", django_capture_on_commit_callbacks)
    completed = execution.completed_at
    assert execute(execution.pk, hostname="other") == "skipped"
    execution.refresh_from_db()
    assert execution.completed_at == completed
    assert execution.worker_host == "test-worker"
    assert ResultRecord.objects.count() == 1


def test_a_failing_script_is_failure_with_the_code_and_no_result_record(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    execution = run_now(alice_client, "fails", django_capture_on_commit_callbacks)
    assert execution.status == Status.FAILURE
    assert execution.failure_reason == "exit_code"
    assert execution.exit_code == 2
    assert "boom" in execution.error_message
    assert execution.stderr == "boom\n"
    assert not ResultRecord.objects.exists()


def test_an_error_result_is_failure_with_the_structured_result_kept(
    synced, scripts_dir, alice_client, broker, django_capture_on_commit_callbacks
):
    write_script(
        scripts_dir,
        "reports_error.py",
        """
        from celery_app.script_base import create_simple_script

        def main_logic(script):
            raise FileNotFoundError("文件不存在")

        create_simple_script("scanner_file", main_logic)
        """,
    )
    from scriptdeck.catalog.registry import sync

    sync()
    execution = run_now(alice_client, "reports_error", django_capture_on_commit_callbacks)
    assert execution.status == Status.FAILURE
    assert execution.failure_reason == "script_error"
    assert execution.result["status"] == "error"
    assert execution.result["message"] == "scanner_file执行出错: 文件不存在"
    assert not ResultRecord.objects.exists()


def test_a_script_whose_file_vanished_before_it_ran_fails_explained(
    synced, scripts_dir, alice_client, broker, django_capture_on_commit_callbacks
):
    response = submit(alice_client, "fails", django_capture_on_commit_callbacks)
    (scripts_dir / "fails.py").unlink()
    assert execute(response.data["id"]) == "failed"
    execution = TaskExecution.objects.get(pk=response.data["id"])
    assert execution.status == Status.FAILURE
    assert execution.failure_reason == "script_missing"
    assert execution.completed_at is not None


def test_shell_scripts_in_subfolders_run(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    execution = run_now(alice_client, "ops/hello", django_capture_on_commit_callbacks)
    assert execution.status == Status.SUCCESS, execution.error_message
    assert execution.result["hello"] == "ops/hello"


def test_people_see_their_own_executions_and_staff_see_all(
    synced, alice_client, admin_client, bob, broker, django_capture_on_commit_callbacks
):
    from .conftest import client_for

    mine = submit(alice_client, "fails", django_capture_on_commit_callbacks).data["id"]
    theirs = submit(client_for(bob), "fails", django_capture_on_commit_callbacks).data["id"]
    listed = [e["id"] for e in alice_client.get("/api/executions/").data["results"]]
    assert listed == [mine]
    assert alice_client.get(f"/api/executions/{theirs}/").status_code == 404
    assert admin_client.get("/api/executions/").data["count"] == 2


def test_the_execution_list_filters_by_script_status_user_and_time(
    synced, alice_client, admin_client, broker, django_capture_on_commit_callbacks
):
    first = submit(alice_client, "fails", django_capture_on_commit_callbacks).data
    submit(admin_client, "scan_dev_update", django_capture_on_commit_callbacks)
    TaskExecution.objects.filter(pk=first["id"]).update(status=Status.FAILURE)

    def ids(**query):
        return [e["id"] for e in admin_client.get("/api/executions/", query).data["results"]]

    assert ids(script="fails") == [first["id"]]
    script_id = Script.objects.get(name="fails").pk
    assert ids(script=str(script_id)) == [first["id"]]
    assert ids(status="FAILURE") == [first["id"]]
    assert ids(user="alice") == [first["id"]]
    assert len(ids(created_after=first["created_at"])) == 2
    assert ids(created_before=first["created_at"]) == []
    assert "stdout" not in admin_client.get("/api/executions/").data["results"][0]


def test_unauthenticated_requests_are_refused(synced, client):
    assert client.get("/api/executions/").status_code in (401, 403)
    assert client.get("/api/scripts/").status_code in (401, 403)
    assert client.post("/myapp/api/execute-script/", {}).status_code in (401, 403)


def test_a_token_is_issued_for_valid_credentials_only(alice, client):
    good = client.post("/api/auth/token/", {"username": "alice", "password": "alice-pass-1"})
    assert good.status_code == 200
    token = good.json()["token"]
    bad = client.post("/api/auth/token/", {"username": "alice", "password": "wrong"})
    assert bad.status_code == 400
    authed = client.get("/api/scripts/", HTTP_AUTHORIZATION=f"Token {token}")
    assert authed.status_code == 200


def test_the_openapi_schema_is_served(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/executions/" in response.content
    assert b"/myapp/api/execute-script/" in response.content


def test_services_finish_only_once(synced, alice, broker, django_capture_on_commit_callbacks):
    script = Script.objects.get(name="fails")
    execution = services.submit(script=script, user=alice)
    assert services.start(execution.pk, "w1", 1) is not None
    assert services.start(execution.pk, "w2", 2) is None
    assert services.fail(execution.pk, "worker_lost", "gone")
    assert not services.fail(execution.pk, "internal_error", "again")
    execution.refresh_from_db()
    assert (execution.status, execution.failure_reason) == (Status.FAILURE, "worker_lost")


class QueueTimeLimit(Exception):
    """Stands for an exception a queue raises into a running task (Celery's soft limit)."""


def test_an_exception_raised_into_a_run_ends_the_tree_and_explains_the_execution(
    synced, scripts_dir, alice, broker, tmp_path
):
    import signal

    import psutil

    write_script(
        scripts_dir,
        "sleeper.py",
        """
        import os, time
        open("sleeper.pid", "w").write(str(os.getpid()))
        time.sleep(60)
        """,
    )
    from scriptdeck.catalog.registry import sync

    sync()
    execution = services.submit(script=Script.objects.get(name="sleeper"), user=alice)

    def interrupt(signum, frame):
        raise QueueTimeLimit()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(QueueTimeLimit):
            execute(
                execution.pk,
                interruptions={QueueTimeLimit: ("timeout", "the queue's time limit fired")},
            )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    execution.refresh_from_db()
    assert (execution.status, execution.failure_reason) == (Status.FAILURE, "timeout")
    assert execution.error_message == "the queue's time limit fired"
    pid = int((scripts_dir / "sleeper.pid").read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_parameters_that_no_database_can_store_are_refused_naming_the_field(
    synced, alice_client, broker
):
    for parameters in ('{"x": "a\\u0000b"}', '{"x": "\\ud800"}'):
        response = alice_client.post(
            "/api/executions/",
            data=f'{{"script": "scan_dev_update", "parameters": {parameters}}}',
            content_type="application/json",
        )
        assert response.status_code == 400, parameters
        assert "parameters" in response.data
    assert TaskExecution.objects.count() == 0


def test_result_records_are_visible_to_whoever_may_see_the_execution(
    synced, alice_client, admin_client, bob, broker, django_capture_on_commit_callbacks
):
    from .conftest import client_for

    bob_client = client_for(bob)
    execution = run_now(bob_client, "scan_dev_update", django_capture_on_commit_callbacks)
    record = ResultRecord.objects.get(execution=execution)
    assert bob_client.get("/api/results/").data["count"] == 1
    assert admin_client.get("/api/results/").data["count"] == 1
    assert alice_client.get("/api/results/").data["count"] == 0
    assert alice_client.get(f"/api/results/{record.pk}/download/").status_code == 404


SECRET_SCHEMA = {
    "type": "object",
    "properties": {
        "host": {"type": "string", "default": "db1"},
        "password": {"type": "string", "secret": True},
    },
}


def test_prepared_parameters_show_secrets_masked_and_keep_them_encrypted(db, alice):
    from scriptdeck.security.crypto import decrypt_json

    script = Script.objects.create(name="vault", path="vault.py", parameter_schema=SECRET_SCHEMA)
    prepared = services.prepare_parameters(script, {"password": "hunter2"}, alice)
    assert prepared.values == {"host": "db1", "password": "hunter2"}
    assert prepared.shown == {"host": "db1", "password": "••••"}
    assert decrypt_json(prepared.encrypted_secrets) == {"password": "hunter2"}
    edited = services.prepare_parameters(
        script,
        {"host": "db2", "password": "••••"},
        alice,
        stored_secrets=prepared.encrypted_secrets,
    )
    assert edited.values == {"host": "db2", "password": "hunter2"}
    assert services.prepare_parameters(script, {}, alice).encrypted_secrets == ""


def test_prepared_parameters_refuse_a_bad_value_naming_the_field(db, alice):
    script = Script.objects.create(name="vault", path="vault.py", parameter_schema=SECRET_SCHEMA)
    with pytest.raises(services.SubmitError) as caught:
        services.prepare_parameters(script, {"host": 3}, alice)
    assert caught.value.field == "host"
