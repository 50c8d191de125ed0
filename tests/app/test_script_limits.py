"""A script's resource limits: set with PATCH and in the admin, else the global defaults."""

from __future__ import annotations

import pytest
from django.test import Client

from scriptdeck.access.models import AuditEvent
from scriptdeck.catalog.models import Script
from scriptdeck.runner.limits import Limits, MiB
from scriptdeck.worker.limits import limits_for

from .conftest import client_for
from .test_catalog import admin_form

LIMIT_FIELDS = (
    "memory_limit_mb",
    "process_limit",
    "cpu_limit_seconds",
    "file_size_limit_mb",
    "open_files_limit",
)


def test_a_script_without_limits_of_its_own_gets_the_global_defaults(synced, settings):
    settings.SCRIPTDECK_LIMIT_MEMORY_MB = 2048
    settings.SCRIPTDECK_LIMIT_PROCESSES = 512
    settings.SCRIPTDECK_LIMIT_CPU_SECONDS = 0
    settings.SCRIPTDECK_LIMIT_FILE_SIZE_MB = 1024
    settings.SCRIPTDECK_LIMIT_OPEN_FILES = 1024
    script = Script.objects.get(name="fails")

    assert limits_for(script) == Limits(
        memory_bytes=2048 * MiB,
        processes=512,
        cpu_seconds=None,
        file_size_bytes=1024 * MiB,
        open_files=1024,
    )


def test_a_scripts_own_limits_win_and_zero_is_no_limit(synced, settings):
    settings.SCRIPTDECK_LIMIT_MEMORY_MB = 2048
    settings.SCRIPTDECK_LIMIT_CPU_SECONDS = 60
    script = Script.objects.get(name="fails")
    script.memory_limit_mb = 256
    script.cpu_limit_seconds = 0

    limits = limits_for(script)

    assert limits.memory_bytes == 256 * MiB
    assert limits.cpu_seconds is None


def test_a_manager_patches_the_limits_and_the_change_is_audited(synced, admin_client):
    script = Script.objects.get(name="fails")
    changes = {
        "memory_limit_mb": 256,
        "process_limit": 32,
        "cpu_limit_seconds": 10,
        "file_size_limit_mb": 0,
        "open_files_limit": 64,
    }

    response = admin_client.patch(f"/api/scripts/{script.pk}/", changes, format="json")

    assert response.status_code == 200, response.content
    assert {name: response.json()[name] for name in LIMIT_FIELDS} == changes
    script.refresh_from_db()
    assert limits_for(script).file_size_bytes is None
    event = AuditEvent.objects.get(action="script.change")
    assert event.detail["changes"]["memory_limit_mb"] == {"from": None, "to": 256}
    back = admin_client.patch(
        f"/api/scripts/{script.pk}/", {"memory_limit_mb": None}, format="json"
    )
    assert back.status_code == 200 and back.json()["memory_limit_mb"] is None


@pytest.mark.parametrize(
    "field,value",
    [
        ("memory_limit_mb", 8),
        ("memory_limit_mb", -1),
        ("open_files_limit", 3),
        ("process_limit", "many"),
        ("cpu_limit_seconds", 2**40),
    ],
)
def test_a_limit_no_script_could_start_under_is_refused_naming_the_field(
    synced, admin_client, field, value
):
    script = Script.objects.get(name="fails")

    response = admin_client.patch(f"/api/scripts/{script.pk}/", {field: value}, format="json")

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field}: "), response.json()
    script.refresh_from_db()
    assert getattr(script, field) is None


def test_someone_who_may_only_run_it_cannot_change_its_limits(synced, alice):
    script = Script.objects.get(name="fails")

    response = client_for(alice).patch(
        f"/api/scripts/{script.pk}/", {"memory_limit_mb": 0}, format="json"
    )

    assert response.status_code in (403, 404)
    script.refresh_from_db()
    assert script.memory_limit_mb is None


def test_the_admin_shows_and_saves_the_limits(synced, admin_user):
    script = Script.objects.get(name="fails")
    browser = Client()
    browser.force_login(admin_user)
    url = f"/admin/catalog/script/{script.pk}/change/"

    page = browser.get(url).content.decode()
    assert all(f'name="{name}"' in page for name in LIMIT_FIELDS)
    response = browser.post(url, admin_form(script, memory_limit_mb="300", process_limit="40"))

    assert response.status_code == 302, response.content.decode()[-2000:]
    script.refresh_from_db()
    assert (script.memory_limit_mb, script.process_limit) == (300, 40)
    refused = browser.post(url, admin_form(script, open_files_limit="2"))
    assert refused.status_code == 200 and "Use 0 for no limit" in refused.content.decode()
