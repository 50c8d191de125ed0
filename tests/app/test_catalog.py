"""Registering the scripts folder and editing a script's settings."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from scriptdeck.access.models import AuditEvent, Level, ScriptGrant
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.paths import NoSuchScriptFile, PathRefused
from scriptdeck.catalog.registry import ScriptNotFound, resolve_request, sync
from scriptdeck.catalog.services import update_script
from scriptdeck.executions.models import Status, TaskExecution
from scriptdeck.refusals import Forbidden, Refusal
from scriptdeck.worker.execute import execute

from .conftest import client_for, write_script


def test_sync_registers_runnable_files_with_names_and_descriptions(db, scripts_dir):
    report = sync()
    scripts = {s.name: s for s in Script.objects.all()}
    assert set(scripts) == {"scan_dev_update", "fails", "ops/hello"}
    assert sorted(report.added) == sorted(scripts)
    assert scripts["ops/hello"].path == "ops/hello.sh"
    assert scripts["ops/hello"].description == "Says hello."
    assert scripts["fails"].description == "Exits with 2."
    assert scripts["scan_dev_update"].description.startswith("扫描设备更新")
    assert len(scripts["fails"].sha256) == 64


def test_sync_skips_hidden_folders_private_modules_and_links_leaving_the_folder(
    db, scripts_dir, tmp_path
):
    write_script(scripts_dir, ".hidden/secret.py", "print(1)")
    write_script(scripts_dir, "_helpers.py", "X = 1")
    outside = tmp_path / "outside.py"
    outside.write_text("print(1)")
    (scripts_dir / "escape.py").symlink_to(outside)
    sync()
    names = set(Script.objects.values_list("name", flat=True))
    assert names == {"scan_dev_update", "fails", "ops/hello"}


def test_a_vanished_file_deactivates_its_script_and_keeps_it(db, scripts_dir):
    sync()
    (scripts_dir / "fails.py").unlink()
    report = sync()
    script = Script.objects.get(name="fails")
    assert report.deactivated == ["fails"]
    assert not script.is_active
    assert script.missing_since is not None
    (scripts_dir / "fails.py").write_text("# Back again.\nprint('{}')\n")
    report = sync()
    script.refresh_from_db()
    assert report.updated == ["fails"]
    assert script.is_active and script.missing_since is None
    assert script.description == "Back again."


def test_a_changed_file_is_updated_and_an_unchanged_one_is_not(db, scripts_dir):
    sync()
    before = Script.objects.get(name="fails").sha256
    (scripts_dir / "fails.py").write_text("# Now succeeds.\nprint('{}')\n")
    report = sync()
    assert report.updated == ["fails"]
    assert report.unchanged == 2
    assert Script.objects.get(name="fails").sha256 != before


def test_staff_edit_a_scripts_limits_and_queue(synced, admin_client):
    script = Script.objects.get(name="fails")
    response = admin_client.patch(
        f"/api/scripts/{script.pk}/",
        {"soft_time_limit": 5, "time_limit": 9, "queue": "gpu", "description": "x"},
        format="json",
    )
    assert response.status_code == 200, response.data
    script.refresh_from_db()
    assert (script.soft_time_limit, script.time_limit, script.queue) == (5, 9, "gpu")


def test_a_hard_limit_below_the_soft_limit_is_refused_naming_the_field(synced, admin_client):
    script = Script.objects.get(name="fails")
    response = admin_client.patch(
        f"/api/scripts/{script.pk}/", {"soft_time_limit": 50, "time_limit": 10}, format="json"
    )
    assert response.status_code == 400
    assert "time_limit" in response.data


def test_non_staff_cannot_edit_a_script(synced, alice_client):
    script = Script.objects.get(name="fails")
    response = alice_client.patch(f"/api/scripts/{script.pk}/", {"queue": "x"}, format="json")
    assert response.status_code == 403
    assert alice_client.get("/api/scripts/").status_code == 200


def test_the_name_and_path_cannot_be_changed_through_the_api(synced, admin_client):
    script = Script.objects.get(name="fails")
    admin_client.patch(
        f"/api/scripts/{script.pk}/", {"path": "/etc/passwd", "name": "evil"}, format="json"
    )
    script.refresh_from_db()
    assert (script.name, script.path) == ("fails", "fails.py")


def test_files_differing_only_by_extension_both_register(db, scripts_dir):
    write_script(scripts_dir, "report.py", "print('{}')")
    write_script(scripts_dir, "report.sh", "echo '{}'")
    sync()
    assert Script.objects.get(path="report.py").name == "report"
    assert Script.objects.get(path="report.sh").name == "report.sh"


def test_a_name_that_is_no_python_file_falls_back_to_the_registered_script(synced):
    resolved = resolve_request(script_name="ops/hello")
    assert resolved.script.path == "ops/hello.sh"
    assert resolved.run_name == "ops/hello"


def test_a_name_leaving_the_folder_is_refused_not_looked_up_in_the_catalog(synced):
    with pytest.raises(PathRefused) as refused:
        resolve_request(script_name="../fails")
    assert not isinstance(refused.value, NoSuchScriptFile | ScriptNotFound)
    assert "outside the scripts folder" in refused.value.message


def test_an_unknown_name_is_not_found(synced):
    with pytest.raises(ScriptNotFound):
        resolve_request(script_name="nothing_here")


# --- changing a script's settings: one service for the API and the admin -------------------


def user_with(level: int | None, script: Script, name: str = "someone"):
    user = get_user_model().objects.create_user(name, password="pw-123456")
    if level is not None:
        ScriptGrant.objects.create(script=script, user=user, level=level)
    return user


def test_the_service_refuses_a_runner_and_hides_the_script_from_an_outsider(synced):
    script = Script.objects.get(name="fails")
    runner = user_with(Level.RUN, script, "runner")
    with pytest.raises(Forbidden) as refused:
        update_script(runner, script, {"queue": "gpu"})
    assert refused.value.code == "manage_required"
    assert refused.value.status == 403
    with pytest.raises(ScriptNotFound) as hidden:
        update_script(user_with(None, script, "outsider"), script, {"queue": "gpu"})
    assert hidden.value.status == 404
    script.refresh_from_db()
    assert script.queue != "gpu"
    assert not AuditEvent.objects.filter(action="script.change").exists()


def test_the_service_writes_what_changed_and_one_audit_row_of_it(synced):
    script = Script.objects.get(name="fails")
    manager = user_with(Level.MANAGE, script, "manager")
    schema = {"type": "object", "properties": {"pin": {"type": "string", "secret": True}}}
    schema["properties"]["pin"]["default"] = "1234"

    saved = update_script(
        manager,
        script,
        {"queue": "gpu", "description": script.description, "parameter_schema": schema},
    )

    assert saved.queue == "gpu" and saved.parameter_schema == schema
    event = AuditEvent.objects.get(action="script.change")
    assert event.actor == manager
    assert set(event.detail["changes"]) == {"queue", "parameter_schema"}
    assert event.detail["changes"]["queue"] == {"from": "default", "to": "gpu"}
    assert "1234" not in json.dumps(event.detail)
    update_script(manager, saved, {"queue": "gpu"})
    assert AuditEvent.objects.filter(action="script.change").count() == 1


def test_the_service_refuses_settings_that_cannot_work_together(synced):
    script = Script.objects.get(name="fails")
    with pytest.raises(Refusal) as refused:
        update_script(
            user_with(Level.MANAGE, script),
            script,
            {"time_limit": 1, "parameter_schema": {"type": "object", "oneOf": []}},
        )
    assert refused.value.code == "invalid_script_settings"
    assert set(refused.value.errors) == {"time_limit", "parameter_schema"}


def admin_form(script: Script, **changes: str) -> dict[str, str]:
    """The Script admin's change form as a browser posts it."""
    form = {
        "description": script.description,
        "is_active": "on",
        "soft_time_limit": str(script.soft_time_limit),
        "time_limit": str(script.time_limit),
        "queue": script.queue,
        "max_concurrent": "",
        "max_retries": str(script.max_retries),
        "retry_on": json.dumps(script.retry_on),
        "retry_exit_codes": json.dumps(script.retry_exit_codes),
        "retry_backoff": str(script.retry_backoff),
        **({"network": "on"} if script.network else {}),
        "parameter_schema": json.dumps(script.parameter_schema),
        "argv": json.dumps(script.argv),
        "variables-TOTAL_FORMS": "0",
        "variables-INITIAL_FORMS": "0",
        "variables-MIN_NUM_FORMS": "0",
        "variables-MAX_NUM_FORMS": "1000",
    }
    return {**form, **changes}


def test_the_admin_audits_a_change_the_way_the_api_does(synced, admin_user):
    script = Script.objects.get(name="fails")
    browser = Client()
    browser.force_login(admin_user)
    url = f"/admin/catalog/script/{script.pk}/change/"

    response = browser.post(url, admin_form(script, soft_time_limit="7", time_limit="8"))

    assert response.status_code == 302, response.content.decode()[-2000:]
    script.refresh_from_db()
    assert (script.soft_time_limit, script.time_limit) == (7, 8)
    event = AuditEvent.objects.get(action="script.change")
    assert event.actor == admin_user
    assert event.detail["changes"]["soft_time_limit"]["to"] == 7
    assert set(event.detail["changes"]) == {"soft_time_limit", "time_limit"}


def test_the_admin_shows_a_refused_setting_on_its_field(synced, admin_user):
    script = Script.objects.get(name="fails")
    browser = Client()
    browser.force_login(admin_user)
    url = f"/admin/catalog/script/{script.pk}/change/"

    response = browser.post(url, admin_form(script, soft_time_limit="50", time_limit="10"))

    assert response.status_code == 200
    assert "The hard limit must not be below the soft limit." in response.content.decode()
    script.refresh_from_db()
    assert script.time_limit != 10
    assert not AuditEvent.objects.filter(action="script.change").exists()


# --- network: false ----------------------------------------------------------------------------


def test_a_manager_turns_the_network_off_audited_and_a_runner_cannot(synced):
    script = Script.objects.get(name="fails")
    assert script.network is True
    url = f"/api/scripts/{script.pk}/"
    runner = client_for(user_with(Level.RUN, script, "runner"))
    manager = user_with(Level.MANAGE, script, "manager")

    assert runner.patch(url, {"network": False}, format="json").status_code == 403
    script.refresh_from_db()
    assert script.network is True
    assert not AuditEvent.objects.filter(action="script.change").exists()

    response = client_for(manager).patch(url, {"network": False}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["network"] is False
    script.refresh_from_db()
    assert script.network is False
    event = AuditEvent.objects.get(action="script.change")
    assert event.actor == manager
    assert event.detail["changes"] == {"network": {"from": True, "to": False}}


def test_a_run_without_the_network_is_refused_where_the_sandbox_cannot_cut_it(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    # These tests run with SCRIPTDECK_SANDBOX=off: no network namespace can be had.
    Script.objects.filter(name="ops/hello").update(network=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/api/executions/", {"script": "ops/hello"}, format="json")
    assert response.status_code == 202, response.data

    assert execute(response.data["id"]) == "failed"

    execution = TaskExecution.objects.get(pk=response.data["id"])
    assert execution.status == Status.FAILURE
    assert execution.failure_reason == "spawn_failed"
    assert "without the network (network: false)" in execution.error_message
    assert "was not started" in execution.error_message
    assert execution.stdout == ""
