"""The source's two routes: resolution order, confinement, and the polling answer."""

from __future__ import annotations

import uuid

import pytest

from scriptdeck.catalog.models import Script
from scriptdeck.executions.models import ResultRecord, TaskExecution
from scriptdeck.worker.execute import execute

from .conftest import write_script

EXECUTE = "/myapp/api/execute-script/"
RESULT = "/myapp/api/script-task-result/"


def post(client, capture, **body):
    with capture(execute=True):
        return client.post(EXECUTE, body, format="json")


def test_execute_script_answers_202_with_the_sources_fields(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    response = post(
        alice_client,
        django_capture_on_commit_callbacks,
        script_name="scan_dev_update",
        parameters={"target": "x"},
        page_context="/scanDevUpdate",
    )
    assert response.status_code == 202
    execution = TaskExecution.objects.get()
    assert response.data == {
        "task_id": str(execution.task_id),
        "execution_id": execution.pk,
        "status": "PENDING",
    }
    assert broker[0]["task_id"] == str(execution.task_id)


def test_script_id_comes_first_and_must_be_active(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    script = Script.objects.get(name="fails")
    response = post(
        alice_client,
        django_capture_on_commit_callbacks,
        script_id=script.pk,
        script_name="scan_dev_update",
    )
    assert response.status_code == 202
    assert TaskExecution.objects.get().script == script
    script.is_active = False
    script.save()
    response = post(alice_client, django_capture_on_commit_callbacks, script_id=script.pk)
    assert response.status_code == 404
    assert TaskExecution.objects.count() == 1


def test_name_and_path_run_the_path_under_the_given_name(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    response = post(
        alice_client,
        django_capture_on_commit_callbacks,
        script_name="custom_name",
        script_path="ops/hello.sh",
    )
    assert response.status_code == 202
    execution = TaskExecution.objects.get()
    assert execution.script.name == "ops/hello"
    assert execution.script_name == "custom_name"
    assert execute(execution.pk) == "finished"
    execution.refresh_from_db()
    assert execution.result["hello"] == "custom_name"  # SCRIPT_NAME is the name given


def test_a_name_alone_is_looked_up_in_the_folder_with_py_appended(
    synced, scripts_dir, admin_client, alice_client, broker, django_capture_on_commit_callbacks
):
    write_script(scripts_dir, "added_later.py", "print('{}')")  # not synced yet: staff register it
    response = post(admin_client, django_capture_on_commit_callbacks, script_name="added_later")
    assert response.status_code == 202
    execution = TaskExecution.objects.get()
    assert execution.script.path == "added_later.py"
    assert execution.script_name == "added_later"
    response = post(alice_client, django_capture_on_commit_callbacks, script_name="fails.py")
    assert response.status_code == 202
    assert TaskExecution.objects.filter(script__name="fails").count() == 1


def test_a_name_of_a_registered_shell_script_resolves(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    response = post(alice_client, django_capture_on_commit_callbacks, script_name="ops/hello")
    assert response.status_code == 202
    assert TaskExecution.objects.get().script.path == "ops/hello.sh"


@pytest.fixture
def outside_script(tmp_path):
    marker = tmp_path / "it-ran"
    path = tmp_path / "outside.py"
    path.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    return path, marker


@pytest.mark.parametrize(
    "how",
    ["dotdot", "absolute", "symlink", "nul", "directory", "missing", "name_dotdot"],
)
def test_paths_outside_the_scripts_folder_are_refused_and_nothing_runs(
    synced,
    scripts_dir,
    outside_script,
    alice_client,
    broker,
    django_capture_on_commit_callbacks,
    how,
):
    path, marker = outside_script
    (scripts_dir / "link.py").symlink_to(path)
    body = {
        "dotdot": {"script_name": "x", "script_path": "../outside.py"},
        "absolute": {"script_name": "x", "script_path": str(path)},
        "symlink": {"script_name": "x", "script_path": "link.py"},
        "nul": {"script_name": "x", "script_path": "fails.py\x00.sh"},
        "directory": {"script_name": "x", "script_path": "ops"},
        "missing": {"script_name": "x", "script_path": "nope.py"},
        "name_dotdot": {"script_name": "../outside"},
    }[how]
    response = post(alice_client, django_capture_on_commit_callbacks, **body)
    assert response.status_code == 400, response.data
    assert "error" in response.data
    assert TaskExecution.objects.count() == 0
    assert broker == []
    assert not marker.exists()


def test_the_result_route_answers_in_the_sources_shape(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    accepted = post(
        alice_client,
        django_capture_on_commit_callbacks,
        script_name="scan_dev_update",
        page_context="/scanDevUpdate",
    ).data
    query = {"task_id": accepted["task_id"], "execution_id": accepted["execution_id"]}
    pending = alice_client.get(RESULT, query).data
    assert pending["ready"] is False
    assert pending["status"] == "PENDING"
    assert pending["result"] is None
    assert execute(accepted["execution_id"]) == "finished"
    done = alice_client.get(RESULT, query).data
    assert set(done) == {
        "ready",
        "success",
        "status",
        "result",
        "error",
        "task_id",
        "execution_id",
        "execution_time",
        "memory_usage",
    }
    assert done["ready"] is True and done["success"] is True
    assert done["status"] == "SUCCESS"
    assert done["error"] is None
    assert done["result"]["message"] == "扫描完成"
    assert done["execution_time"] > 0 and done["memory_usage"] > 0
    # Polling stores nothing: the record was written once, by the worker.
    alice_client.get(RESULT, {"task_id": accepted["task_id"]})
    alice_client.get(RESULT, {"execution_id": accepted["execution_id"]})
    assert ResultRecord.objects.count() == 1


def test_the_result_route_reports_a_failure_with_its_error(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    accepted = post(alice_client, django_capture_on_commit_callbacks, script_name="fails").data
    execute(accepted["execution_id"])
    done = alice_client.get(RESULT, {"task_id": accepted["task_id"]}).data
    assert done["ready"] is True and done["success"] is False
    assert done["status"] == "FAILURE"
    assert "code 2" in done["error"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, 400),
        ({"task_id": "not-a-uuid"}, 400),
        ({"execution_id": "abc"}, 400),
        ({"task_id": str(uuid.uuid4())}, 404),
        ({"execution_id": "999999"}, 404),
    ],
)
def test_the_result_route_refuses_bad_queries(synced, alice_client, query, code):
    assert alice_client.get(RESULT, query).status_code == code


def test_the_result_route_hides_other_peoples_executions(
    synced, alice_client, bob, broker, django_capture_on_commit_callbacks
):
    from .conftest import client_for

    accepted = post(client_for(bob), django_capture_on_commit_callbacks, script_name="fails").data
    response = alice_client.get(RESULT, {"task_id": accepted["task_id"]})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["_private.py", ".hidden/tool.py"])
def test_files_the_catalog_does_not_list_are_refused_by_path(
    synced, scripts_dir, alice_client, broker, django_capture_on_commit_callbacks, path
):
    write_script(scripts_dir, path, "print('{}')")
    response = post(
        alice_client, django_capture_on_commit_callbacks, script_name="x", script_path=path
    )
    assert response.status_code == 400
    assert TaskExecution.objects.count() == 0


@pytest.mark.parametrize("by", ["name", "path"])
def test_an_unsynced_file_named_by_a_non_staff_caller_is_missing_and_not_registered(
    synced, scripts_dir, alice_client, broker, django_capture_on_commit_callbacks, by
):
    write_script(scripts_dir, "added_later.py", "print('{}')")  # not synced yet

    def named(stem):
        if by == "name":
            return {"script_name": stem}
        return {"script_name": "x", "script_path": f"{stem}.py"}

    unsynced = post(alice_client, django_capture_on_commit_callbacks, **named("added_later"))
    missing = post(alice_client, django_capture_on_commit_callbacks, **named("never_was"))
    assert unsynced.status_code == missing.status_code
    assert missing.status_code in (400, 404)
    assert unsynced.headers["Refusal-Code"] == missing.headers["Refusal-Code"]
    assert unsynced.json() == {
        key: [m.replace("never_was", "added_later") for m in value]
        if isinstance(value, list)
        else value.replace("never_was", "added_later")
        for key, value in missing.json().items()
    }
    assert not Script.objects.filter(path="added_later.py").exists()
    assert TaskExecution.objects.count() == 0
    assert broker == []


def test_a_file_back_after_going_missing_is_not_reactivated_by_a_non_staff_caller(
    synced, scripts_dir, alice_client, broker, django_capture_on_commit_callbacks
):
    from scriptdeck.catalog.registry import sync

    gone = scripts_dir / "fails.py"
    body = gone.read_text()
    gone.unlink()
    sync()
    gone.write_text(body)  # back, not synced yet
    response = post(alice_client, django_capture_on_commit_callbacks, script_name="fails")
    assert response.status_code == 404
    script = Script.objects.get(path="fails.py")
    assert not script.is_active and script.missing_since is not None
    assert TaskExecution.objects.count() == 0
