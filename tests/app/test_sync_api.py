"""POST /api/scripts/sync/: "Sync now", for staff and for managers of every script."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from scriptdeck.access.models import AuditEvent, Level, ScriptGrant
from scriptdeck.catalog.models import Script

from .conftest import client_for, write_script

SYNC = "/api/scripts/sync/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def user_managing(script: Script | None, name: str):
    user = get_user_model().objects.create_user(name, password="pw-123456")
    ScriptGrant.objects.create(script=script, user=user, level=Level.MANAGE)
    return user


@pytest.fixture
def folder_changed(synced, scripts_dir):
    """One file added, one changed, one removed since the last sync."""
    write_script(scripts_dir, "fresh.py", '"""Just dropped in."""\nprint("{}")\n')
    (scripts_dir / "fails.py").write_text("import sys\nsys.exit(3)\n")
    (scripts_dir / "ops" / "hello.sh").unlink()
    return scripts_dir


def test_it_syncs_for_staff_and_answers_the_counts(folder_changed, admin_client):
    before = Script.objects.get(path="fails.py").sha256
    response = admin_client.post(SYNC)
    assert response.status_code == 200, response.content
    assert response.json() == {"added": 1, "updated": 1, "deactivated": 1}
    listed = {s["name"]: s for s in admin_client.get("/api/scripts/").json()["results"]}
    assert listed["fresh"]["is_active"] is True
    assert Script.objects.get(path="fails.py").sha256 != before
    gone = Script.objects.get(path="ops/hello.sh")
    assert not gone.is_active and gone.missing_since is not None
    # Nothing changed since: a second press finds nothing to do.
    assert admin_client.post(SYNC).json() == {"added": 0, "updated": 0, "deactivated": 0}


def test_it_syncs_for_a_manager_of_every_script(folder_changed):
    response = client_for(user_managing(None, "chief")).post(SYNC)
    assert response.status_code == 200, response.content
    assert response.json()["added"] == 1
    assert Script.objects.filter(path="fresh.py", is_active=True).exists()


def test_it_refuses_a_manager_of_one_script_and_syncs_nothing(folder_changed):
    one = Script.objects.get(path="fails.py")
    response = client_for(user_managing(one, "partial")).post(SYNC)
    assert response.status_code == 403
    assert response.headers["Refusal-Code"] == "sync_denied"
    assert not Script.objects.filter(path="fresh.py").exists()
    assert not AuditEvent.objects.filter(action="catalog.sync").exists()


def test_it_refuses_a_user_who_may_run_every_script(folder_changed, alice_client):
    assert alice_client.post(SYNC).status_code == 403
    assert not Script.objects.filter(path="fresh.py").exists()


def test_it_asks_an_anonymous_caller_to_sign_in(folder_changed):
    assert APIClient().post(SYNC).status_code == 401
    assert not Script.objects.filter(path="fresh.py").exists()


def test_it_writes_one_audit_entry_with_the_counts(folder_changed, admin_user, admin_client):
    admin_client.post(SYNC, REMOTE_ADDR="10.1.2.3")
    entry = AuditEvent.objects.get(action="catalog.sync")
    assert entry.actor == admin_user
    assert entry.ip == "10.1.2.3"
    assert entry.detail == {"added": 1, "updated": 1, "deactivated": 1}


def test_the_schema_describes_the_answer(admin_client):
    schema = admin_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/scripts/sync/"]["post"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    counts = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(counts["properties"]) == {"added", "updated", "deactivated"}


def test_who_am_i_says_who_may_sync(db, admin_client, alice_client):
    manager = client_for(user_managing(None, "mona"))
    one_script = client_for(user_managing(Script.objects.create(name="x", path="x.py"), "olga"))
    assert admin_client.get("/api/auth/me/").json()["can_sync"] is True
    assert manager.get("/api/auth/me/").json()["can_sync"] is True
    assert one_script.get("/api/auth/me/").json()["can_sync"] is False
    assert alice_client.get("/api/auth/me/").json()["can_sync"] is False
    assert APIClient().get("/api/auth/me/").json()["can_sync"] is False
