"""Who may do what: per-script grants on every endpoint, personal tokens, sign-in, audit.

The cast: ``owner`` holds run on the private script through a grant of their own and
submits executions; ``member`` holds run on it through the group "team"; ``viewer`` may
only see it; ``manager`` manages it; ``outsider`` holds nothing; ``staff`` is staff.
None of them is in the conftest's "runners" group (which may run every script).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from scriptdeck.access import tokens
from scriptdeck.access.models import ApiToken, AuditEvent, Level, ScriptGrant, SignInThrottle
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import sync
from scriptdeck.executions import services
from scriptdeck.executions.models import ResultRecord, Status, TaskExecution
from scriptdeck.worker.execute import execute

from .conftest import client_for, write_script

EXECUTE = "/myapp/api/execute-script/"
RESULT = "/myapp/api/script-task-result/"

PRIVATE_JOB = """
\"\"\"A job only some people may see; it leaves a report behind as an artifact.\"\"\"
import json, os
with open(os.path.join(os.environ["SCRIPT_OUTPUT_DIR"], "report.txt"), "w") as handle:
    handle.write("private report")
print(json.dumps({"done": True}))
"""


@dataclass
class People:
    owner: object
    member: object
    viewer: object
    manager: object
    outsider: object
    staff: object


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Many users per test: the default hasher's deliberate slowness would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(name: str, *, staff: bool = False):
    return get_user_model().objects.create_user(name, "", f"{name}-pass-1", is_staff=staff)


@pytest.fixture
def private(synced, scripts_dir) -> Script:
    write_script(scripts_dir, "private_job.py", PRIVATE_JOB)
    sync()
    return Script.objects.get(name="private_job")


@pytest.fixture
def people(private) -> People:
    team = Group.objects.create(name="team")
    owner = make_user("owner")
    member = make_user("member")
    member.groups.add(team)
    viewer = make_user("viewer")
    manager = make_user("manager")
    ScriptGrant.objects.create(script=private, user=owner, level=Level.RUN)
    ScriptGrant.objects.create(script=private, group=team, level=Level.RUN)
    ScriptGrant.objects.create(script=private, user=viewer, level=Level.VIEW)
    ScriptGrant.objects.create(script=private, user=manager, level=Level.MANAGE)
    return People(
        owner=owner,
        member=member,
        viewer=viewer,
        manager=manager,
        outsider=make_user("outsider"),
        staff=make_user("staff", staff=True),
    )


@pytest.fixture
def owners_run(people, private, broker) -> TaskExecution:
    """A PENDING execution the owner submitted."""
    return services.submit(script=private, user=people.owner)


@pytest.fixture
def finished_run(people, private, broker) -> TaskExecution:
    """An execution of the owner's that ran to SUCCESS, with its result record."""
    execution = services.submit(script=private, user=people.owner)
    assert execute(execution.pk) == "finished"
    execution.refresh_from_db()
    assert execution.status == Status.SUCCESS
    return execution


def nothing_was_run(broker) -> None:
    assert TaskExecution.objects.count() == 0
    assert not AuditEvent.objects.filter(action="execution.run").exists()
    assert broker == []


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


# --- scripts ---------------------------------------------------------------------------------


def test_the_script_list_shows_each_user_what_they_hold_and_their_level(people, private):
    everything = set(Script.objects.values_list("name", flat=True))
    assert len(everything) > 1
    for user, level in [
        (people.owner, "run"),
        (people.member, "run"),
        (people.viewer, "view"),
        (people.manager, "manage"),
    ]:
        response = client_for(user).get("/api/scripts/")
        assert names(response) == {"private_job"}, user
        assert response.json()["results"][0]["my_level"] == level
    assert names(client_for(people.outsider).get("/api/scripts/")) == set()
    staff_view = client_for(people.staff).get("/api/scripts/")
    assert names(staff_view) == everything
    assert {row["my_level"] for row in staff_view.json()["results"]} == {"manage"}


def test_a_script_is_not_found_for_an_outsider_exactly_like_a_missing_one(people, private):
    for user in (people.owner, people.member, people.viewer, people.manager, people.staff):
        response = client_for(user).get(f"/api/scripts/{private.pk}/")
        assert response.status_code == 200
        assert response.json()["name"] == "private_job"
    outsider = client_for(people.outsider)
    hidden = outsider.get(f"/api/scripts/{private.pk}/")
    missing = outsider.get("/api/scripts/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    other = Script.objects.get(name="fails")  # no grant at all: staff only
    assert client_for(people.owner).get(f"/api/scripts/{other.pk}/").status_code == 404


def test_changing_a_script_needs_manage_and_is_audited(people, private):
    url = f"/api/scripts/{private.pk}/"
    body = {"soft_time_limit": 120, "description": "changed"}
    for user in (people.owner, people.member, people.viewer):
        assert client_for(user).patch(url, body, format="json").status_code == 403, user
    assert client_for(people.outsider).patch(url, body, format="json").status_code == 404
    private.refresh_from_db()
    assert private.soft_time_limit != 120
    assert not AuditEvent.objects.filter(action="script.change").exists()

    response = client_for(people.manager).patch(url, body, format="json")
    assert response.status_code == 200, response.content
    private.refresh_from_db()
    assert private.soft_time_limit == 120
    assert private.description == "changed"
    event = AuditEvent.objects.get(action="script.change")
    assert event.actor == people.manager
    assert event.actor_name == "manager"
    assert (event.target_type, event.target_id) == ("script", str(private.pk))
    assert event.detail["changes"]["soft_time_limit"] == {"from": 540, "to": 120}

    staff = client_for(people.staff).patch(url, {"soft_time_limit": 130}, format="json")
    assert staff.status_code == 200
    assert AuditEvent.objects.filter(action="script.change").count() == 2


# --- submitting -------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "name"])
def test_runners_may_submit_a_viewer_is_refused(people, private, broker, by):
    reference = str(private.pk) if by == "id" else private.name
    for user in (people.owner, people.member, people.manager, people.staff):
        response = client_for(user).post("/api/executions/", {"script": reference}, format="json")
        assert response.status_code == 202, (user, response.content)
        assert TaskExecution.objects.get(pk=response.json()["id"]).user == user
    viewer = client_for(people.viewer).post(
        "/api/executions/", {"script": reference}, format="json"
    )
    assert viewer.status_code == 403
    assert TaskExecution.objects.filter(user=people.viewer).count() == 0


@pytest.mark.parametrize("by", ["id", "name"])
def test_an_outsider_submitting_is_told_the_script_does_not_exist(
    people, private, scripts_dir, broker, by
):
    reference = str(private.pk) if by == "id" else private.name
    outsider = client_for(people.outsider)
    hidden = outsider.post("/api/executions/", {"script": reference}, format="json")
    nothing_was_run(broker)
    # The same request once the script really is gone: the answer must be the same.
    Script.objects.filter(pk=private.pk).delete()
    (scripts_dir / "private_job.py").unlink()
    missing = outsider.post("/api/executions/", {"script": reference}, format="json")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    nothing_was_run(broker)


@pytest.mark.parametrize("by", ["script_id", "script_name"])
def test_compat_execute_applies_the_same_rules(
    people, private, scripts_dir, broker, django_capture_on_commit_callbacks, by
):
    body = {by: private.pk if by == "script_id" else "private_job"}
    with django_capture_on_commit_callbacks(execute=True):
        owner = client_for(people.owner).post(EXECUTE, body, format="json")
    assert owner.status_code == 202, owner.content
    assert TaskExecution.objects.get(pk=owner.json()["execution_id"]).user == people.owner
    assert len(broker) == 1
    with django_capture_on_commit_callbacks(execute=True):
        member = client_for(people.member).post(EXECUTE, body, format="json")
    assert member.status_code == 202
    assert client_for(people.viewer).post(EXECUTE, body, format="json").status_code == 403
    before = TaskExecution.objects.count()
    hidden = client_for(people.outsider).post(EXECUTE, body, format="json")
    assert TaskExecution.objects.count() == before
    assert AuditEvent.objects.filter(action="execution.run").count() == before
    assert len(broker) == 2

    TaskExecution.objects.all().delete()
    Script.objects.filter(pk=private.pk).delete()
    (scripts_dir / "private_job.py").unlink()
    missing = client_for(people.outsider).post(EXECUTE, body, format="json")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_compat_by_path_tells_an_outsider_no_more_than_about_a_missing_file(
    people, private, broker
):
    """A file the outsider may not run must answer like a file that is not there."""
    outsider = client_for(people.outsider)
    hidden = outsider.post(
        EXECUTE, {"script_name": "x", "script_path": "private_job.py"}, format="json"
    )
    missing = outsider.post(
        EXECUTE, {"script_name": "x", "script_path": "no_such_job.py"}, format="json"
    )
    nothing_was_run(broker)
    assert 400 <= hidden.status_code < 500
    assert hidden.status_code == missing.status_code, (hidden.json(), missing.json())


def test_a_newly_found_script_is_for_staff_only_until_granted(
    people, private, scripts_dir, broker, django_capture_on_commit_callbacks
):
    write_script(scripts_dir, "fresh_job.py", "print('{}')\n")
    sync()
    fresh = Script.objects.get(name="fresh_job")
    assert not fresh.grants.exists()
    for user in (people.owner, people.member, people.viewer, people.manager, people.outsider):
        client = client_for(user)
        assert "fresh_job" not in names(client.get("/api/scripts/"))
        assert client.get(f"/api/scripts/{fresh.pk}/").status_code == 404
        assert client.post("/api/executions/", {"script": "fresh_job"}).status_code == 404
        assert client.post(EXECUTE, {"script_id": fresh.pk}, format="json").status_code == 404
        assert client.post(EXECUTE, {"script_name": "fresh_job"}, format="json").status_code == 404
    nothing_was_run(broker)
    staff = client_for(people.staff)
    assert "fresh_job" in names(staff.get("/api/scripts/"))
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post("/api/executions/", {"script": "fresh_job"}, format="json")
    assert response.status_code == 202
    assert len(broker) == 1

    ScriptGrant.objects.create(script=fresh, user=people.outsider, level=Level.RUN)
    outsider = client_for(people.outsider)
    assert names(outsider.get("/api/scripts/")) == {"fresh_job"}
    assert outsider.post("/api/executions/", {"script": "fresh_job"}).status_code == 202


# --- executions -------------------------------------------------------------------------------


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_execution_list_holds_ones_own_and_those_of_managed_scripts(people, private, broker):
    by_owner = services.submit(script=private, user=people.owner)
    by_member = services.submit(script=private, user=people.member)
    elsewhere = services.submit(script=Script.objects.get(name="fails"), user=people.staff)
    assert ids(client_for(people.owner).get("/api/executions/")) == {by_owner.pk}
    assert ids(client_for(people.member).get("/api/executions/")) == {by_member.pk}
    assert ids(client_for(people.viewer).get("/api/executions/")) == set()
    assert ids(client_for(people.outsider).get("/api/executions/")) == set()
    assert ids(client_for(people.manager).get("/api/executions/")) == {by_owner.pk, by_member.pk}
    assert ids(client_for(people.staff).get("/api/executions/")) == {
        by_owner.pk,
        by_member.pk,
        elsewhere.pk,
    }
    # A filter cannot widen the view.
    filtered = client_for(people.member).get("/api/executions/", {"user": "owner"})
    assert ids(filtered) == set()


@pytest.mark.parametrize("suffix", ["", "output/", "artifacts/"])
def test_an_execution_is_seen_by_its_submitter_managers_and_staff_only(
    people, finished_run, suffix
):
    url = f"/api/executions/{finished_run.pk}/{suffix}"
    for user in (people.owner, people.manager, people.staff):
        assert client_for(user).get(url).status_code == 200, user
    missing_url = f"/api/executions/999999/{suffix}"
    for user in (people.member, people.viewer, people.outsider):
        client = client_for(user)
        hidden = client.get(url)
        missing = client.get(missing_url)
        assert hidden.status_code == missing.status_code == 404, user
        assert hidden.json() == missing.json()


def test_the_event_stream_is_not_found_for_those_who_may_not_see_the_execution(people, owners_run):
    url = f"/api/executions/{owners_run.pk}/events/"
    assert Client().get(url).status_code == 401
    for user in (people.member, people.viewer, people.outsider):
        client = Client()
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 404, user
        missing = client.get("/api/executions/999999/events/")
        assert missing.status_code == 404
        assert response.json() == missing.json()
    owner = Client()
    owner.force_login(people.owner)
    stream = owner.get(url)
    assert stream.status_code == 200
    assert stream["Content-Type"].startswith("text/event-stream")
    stream.close()


def test_artifacts_download_only_for_those_who_may_see_the_execution(people, finished_run):
    listed = client_for(people.owner).get(f"/api/executions/{finished_run.pk}/artifacts/")
    assert [a["name"] for a in listed.json()] == ["report.txt"]
    url = f"/api/executions/{finished_run.pk}/artifacts/{listed.json()[0]['id']}/download/"
    for user in (people.owner, people.manager, people.staff):
        response = client_for(user).get(url)
        assert response.status_code == 200, user
        assert b"".join(response.streaming_content) == b"private report"
    for user in (people.member, people.viewer, people.outsider):
        assert client_for(user).get(url).status_code == 404, user


def test_cancelling_needs_run_and_ownership_or_manage(people, private, broker):
    first = services.submit(script=private, user=people.owner)
    url = f"/api/executions/{first.pk}/cancel/"
    assert client_for(people.outsider).post(url).status_code == 404
    assert client_for(people.viewer).post(url).status_code == 404
    # The member holds run but neither submitted the run nor manages the script: they may
    # not even see it, so the answer is 404 (a 403 would confirm that it exists).
    assert client_for(people.member).post(url).status_code == 404
    first.refresh_from_db()
    assert first.status == Status.PENDING
    assert not AuditEvent.objects.filter(action="execution.cancel").exists()

    response = client_for(people.owner).post(url)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == Status.CANCELLED
    first.refresh_from_db()
    assert first.status == Status.CANCELLED
    assert first.cancelled_by == people.owner
    event = AuditEvent.objects.get(action="execution.cancel")
    assert event.actor == people.owner
    assert event.target_id == str(first.pk)
    assert client_for(people.owner).post(url).status_code == 409

    second = services.submit(script=private, user=people.owner)
    response = client_for(people.manager).post(f"/api/executions/{second.pk}/cancel/")
    assert response.status_code == 202
    second.refresh_from_db()
    assert second.cancelled_by == people.manager

    third = services.submit(script=private, user=people.owner)
    assert client_for(people.staff).post(f"/api/executions/{third.pk}/cancel/").status_code == 202
    assert AuditEvent.objects.filter(action="execution.cancel").count() == 3


def test_an_owner_who_lost_run_may_not_cancel_their_own_execution(people, private, broker):
    execution = services.submit(script=private, user=people.owner)
    ScriptGrant.objects.filter(user=people.owner).update(level=Level.VIEW)
    response = client_for(people.owner).post(f"/api/executions/{execution.pk}/cancel/")
    assert response.status_code == 403
    execution.refresh_from_db()
    assert execution.status == Status.PENDING


def test_rerun_needs_sight_of_the_execution_and_run_on_the_script(people, private, broker):
    execution = services.submit(script=private, user=people.owner)
    url = f"/api/executions/{execution.pk}/rerun/"
    for user in (people.member, people.viewer, people.outsider):
        assert client_for(user).post(url).status_code == 404, user
    assert TaskExecution.objects.count() == 1
    for user in (people.owner, people.manager, people.staff):
        response = client_for(user).post(url)
        assert response.status_code == 202, (user, response.content)
        again = TaskExecution.objects.get(pk=response.json()["id"])
        assert again.user == user
        assert again.script == private
        run = AuditEvent.objects.filter(action="execution.run", target_id=str(again.pk))
        assert run.get().actor == user  # a re-run is a run in the audit log
    ScriptGrant.objects.filter(user=people.owner).update(level=Level.VIEW)
    before = TaskExecution.objects.count()
    assert client_for(people.owner).post(url).status_code == 403
    assert TaskExecution.objects.count() == before


def test_result_records_follow_the_executions_one_may_see(people, finished_run):
    record = ResultRecord.objects.get(execution=finished_run)
    for user in (people.owner, people.manager, people.staff):
        client = client_for(user)
        assert ids(client.get("/api/results/")) == {record.pk}, user
        assert client.get(f"/api/results/{record.pk}/").status_code == 200
        assert client.get(f"/api/results/{record.pk}/download/").status_code == 200
    for user in (people.member, people.viewer, people.outsider):
        client = client_for(user)
        assert ids(client.get("/api/results/")) == set(), user
        assert client.get(f"/api/results/{record.pk}/").status_code == 404
        assert client.get(f"/api/results/{record.pk}/download/").status_code == 404
        by_task = client.get("/api/results/", {"task_id": str(finished_run.task_id)})
        assert ids(by_task) == set()


@pytest.mark.parametrize("key", ["execution_id", "task_id"])
def test_the_compat_result_route_is_not_found_for_an_outsider(people, finished_run, key):
    value = finished_run.pk if key == "execution_id" else str(finished_run.task_id)
    for user in (people.owner, people.manager, people.staff):
        response = client_for(user).get(RESULT, {key: value})
        assert response.status_code == 200, user
        assert response.json()["ready"] is True
        assert response.json()["success"] is True
    absent = 999999 if key == "execution_id" else "00000000-0000-4000-8000-000000000000"
    for user in (people.member, people.viewer, people.outsider):
        client = client_for(user)
        hidden = client.get(RESULT, {key: value})
        missing = client.get(RESULT, {key: absent})
        assert hidden.status_code == missing.status_code == 404, user
        assert hidden.json() == missing.json()


def test_anonymous_callers_get_nothing(people, owners_run):
    anonymous = APIClient()
    for url in (
        "/api/scripts/",
        f"/api/executions/{owners_run.pk}/",
        "/api/executions/",
        "/api/results/",
        "/api/tokens/",
        "/api/audit/",
        f"{RESULT}?execution_id={owners_run.pk}",
    ):
        assert anonymous.get(url).status_code in (401, 403), url
    assert anonymous.post("/api/executions/", {"script": "private_job"}).status_code in (401, 403)


# --- personal API tokens ----------------------------------------------------------------------


def with_key(key: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


def test_a_token_key_is_shown_once_and_authenticates(people):
    client = client_for(people.owner)
    response = client.post("/api/tokens/", {"name": "ci"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    key = created["key"]
    assert key and key.startswith(created["prefix"])
    listed = client.get("/api/tokens/").json()
    assert [row["id"] for row in listed] == [created["id"]]
    assert all(row["key"] is None for row in listed)
    assert client.get(f"/api/tokens/{created['id']}/").json()["key"] is None
    assert key not in json.dumps(listed)

    for keyword in ("Token", "Bearer", "token", "bearer"):
        me = with_key(key, keyword).get("/api/auth/me/").json()
        assert me["authenticated"] is True and me["username"] == "owner"
        assert names(with_key(key, keyword).get("/api/scripts/")) == {"private_job"}
    assert ApiToken.objects.get(pk=created["id"]).last_used_at is not None
    assert with_key(key + "x").get("/api/scripts/").status_code == 401
    assert with_key("").get("/api/scripts/").status_code == 401


def test_only_the_sha256_of_a_key_is_stored(people):
    response = client_for(people.owner).post("/api/tokens/", {"name": "ci"}, format="json")
    key = response.json()["key"]
    row = ApiToken.objects.filter(pk=response.json()["id"]).values().get()
    assert row["digest"] == hashlib.sha256(key.encode()).hexdigest()
    for column, value in row.items():
        assert key not in str(value), column
    for event in AuditEvent.objects.all():
        assert key not in json.dumps(event.detail) + event.target_repr


def test_a_revoked_token_no_longer_authenticates(people):
    client = client_for(people.owner)
    created = client.post("/api/tokens/", {"name": "ci"}, format="json").json()
    key = created["key"]
    assert with_key(key).get("/api/scripts/").status_code == 200
    assert client.delete(f"/api/tokens/{created['id']}/").status_code == 204
    assert with_key(key).get("/api/scripts/").status_code == 401
    assert with_key(key, "Bearer").get("/api/scripts/").status_code == 401
    listed = client.get("/api/tokens/").json()
    assert listed[0]["revoked_at"] is not None
    assert client.delete(f"/api/tokens/{created['id']}/").status_code == 204
    assert AuditEvent.objects.filter(action="token.revoke").count() == 1


def test_an_expired_token_no_longer_authenticates(people):
    _, old = tokens.create(people.owner, "old", timezone.now() - timedelta(seconds=1))
    _, fresh = tokens.create(people.owner, "fresh", timezone.now() + timedelta(hours=1))
    assert with_key(old).get("/api/scripts/").status_code == 401
    assert with_key(fresh).get("/api/scripts/").status_code == 200
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = client_for(people.owner).post(
        "/api/tokens/", {"name": "x", "expires_at": past}, format="json"
    )
    assert response.status_code == 400
    assert "expires_at" in response.json()


def test_a_token_of_an_inactive_user_no_longer_authenticates(people):
    _, key = tokens.create(people.owner, "ci")
    people.owner.is_active = False
    people.owner.save()
    assert with_key(key).get("/api/scripts/").status_code == 401


def test_another_users_token_cannot_be_seen_or_revoked(people):
    token, key = tokens.create(people.owner, "mine")
    intruder = client_for(people.outsider)
    assert intruder.get("/api/tokens/").json() == []
    assert intruder.get(f"/api/tokens/{token.pk}/").status_code == 404
    assert intruder.delete(f"/api/tokens/{token.pk}/").status_code == 404
    # Not even staff revoke through this route: it lists one's own tokens.
    assert client_for(people.staff).delete(f"/api/tokens/{token.pk}/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert with_key(key).get("/api/scripts/").status_code == 200
    assert not AuditEvent.objects.filter(action="token.revoke").exists()


def test_a_token_may_be_obtained_with_a_password(people):
    anonymous = APIClient()
    response = anonymous.post(
        "/api/auth/token/", {"username": "owner", "password": "owner-pass-1"}, format="json"
    )
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    assert names(with_key(key).get("/api/scripts/")) == {"private_job"}
    wrong = anonymous.post(
        "/api/auth/token/", {"username": "owner", "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400
    assert ApiToken.objects.filter(user=people.owner).count() == 1


# --- signing in ---------------------------------------------------------------------------------


def csrf_client() -> APIClient:
    return APIClient(enforce_csrf_checks=True)


def test_login_is_csrf_checked_and_then_signs_in(people):
    client = csrf_client()
    credentials = {"username": "owner", "password": "owner-pass-1"}
    refused = client.post("/api/auth/login/", credentials, format="json")
    assert refused.status_code == 403
    assert not AuditEvent.objects.filter(action="login").exists()

    me = client.get("/api/auth/me/")
    assert me.json()["authenticated"] is False
    cookie = client.cookies["csrftoken"].value
    assert cookie
    wrong_header = client.post(
        "/api/auth/login/", credentials, format="json", HTTP_X_CSRFTOKEN="x" * 32
    )
    assert wrong_header.status_code == 403

    response = client.post("/api/auth/login/", credentials, format="json", HTTP_X_CSRFTOKEN=cookie)
    assert response.status_code == 200, response.content
    assert response.json()["authenticated"] is True
    assert response.json()["username"] == "owner"
    assert client.get("/api/auth/me/").json()["username"] == "owner"
    assert names(client.get("/api/scripts/")) == {"private_job"}
    event = AuditEvent.objects.get(action="login")
    assert event.actor == people.owner
    assert event.ip == "127.0.0.1"


def test_a_wrong_password_is_refused_and_audited_without_the_password(people):
    response = APIClient().post(
        "/api/auth/login/", {"username": "owner", "password": "guess-123"}, format="json"
    )
    assert response.status_code == 400
    assert "authenticated" not in response.json()
    event = AuditEvent.objects.get(action="login.failed")
    assert event.actor is None
    assert event.actor_name == "owner"
    assert "guess-123" not in json.dumps(event.detail)


def fail_login(username: str, ip: str = "127.0.0.1", route: str = "/api/auth/login/"):
    return APIClient().post(
        route, {"username": username, "password": "wrong-pass"}, format="json", REMOTE_ADDR=ip
    )


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    wait = int(response["Retry-After"])
    assert 0 < wait <= 900


@pytest.mark.parametrize("route", ["/api/auth/login/", "/api/auth/token/"])
def test_failures_for_a_name_from_many_addresses_slow_it_down(people, route, settings):
    for attempt in range(10):
        assert fail_login("owner", f"10.0.0.{attempt + 1}", route).status_code == 400
    right = APIClient().post(
        route,
        {"username": "owner", "password": "owner-pass-1"},
        format="json",
        REMOTE_ADDR="10.0.1.1",
    )
    assert_throttled(right)
    assert int(right["Retry-After"]) <= settings.SCRIPTDECK_LOGIN_NAME_DELAY
    assert "token" not in right.json() and "authenticated" not in right.json()
    assert not ApiToken.objects.exists()
    # Another name from a fresh address is not affected.
    other = APIClient().post(
        route,
        {"username": "member", "password": "member-pass-1"},
        format="json",
        REMOTE_ADDR="10.0.2.1",
    )
    assert other.status_code == 200


def test_five_failures_from_an_address_throttle_it_for_every_name(people):
    for name in ("a", "b", "c", "d", "e"):
        assert fail_login(name, "10.9.9.9").status_code == 400
    client = APIClient()
    throttled = client.post(
        "/api/auth/login/",
        {"username": "owner", "password": "owner-pass-1"},
        format="json",
        REMOTE_ADDR="10.9.9.9",
    )
    assert_throttled(throttled)
    assert client.get("/api/auth/me/").json()["authenticated"] is False
    elsewhere = APIClient().post(
        "/api/auth/login/",
        {"username": "owner", "password": "owner-pass-1"},
        format="json",
        REMOTE_ADDR="10.9.9.10",
    )
    assert elsewhere.status_code == 200


def test_the_admin_login_is_throttled_too(people):
    """docs/security.md: throttling refuses with 429 and Retry-After "on every door: API,
    token, admin"."""
    for _ in range(5):
        assert fail_login("staff").status_code == 400
    browser = Client()
    response = browser.post(
        "/admin/login/?next=/admin/",
        {"username": "staff", "password": "staff-pass-1", "next": "/admin/"},
    )
    assert "_auth_user_id" not in browser.session  # the right password did not sign in
    assert_throttled(response)


def test_failures_older_than_the_window_do_not_count(people, settings):
    for _ in range(5):
        assert fail_login("owner").status_code == 400
    assert_throttled(fail_login("owner"))
    SignInThrottle.objects.update(
        window_start=timezone.now() - timedelta(seconds=settings.SCRIPTDECK_LOGIN_WINDOW + 1)
    )
    response = APIClient().post(
        "/api/auth/login/", {"username": "owner", "password": "owner-pass-1"}, format="json"
    )
    assert response.status_code == 200


# --- the audit log --------------------------------------------------------------------------


def test_each_audited_action_leaves_one_row(people, private, broker):
    owner = client_for(people.owner)
    run = owner.post("/api/executions/", {"script": "private_job"}, format="json")
    assert run.status_code == 202
    assert owner.post(f"/api/executions/{run.json()['id']}/cancel/").status_code == 202
    token = owner.post("/api/tokens/", {"name": "ci"}, format="json").json()
    assert owner.delete(f"/api/tokens/{token['id']}/").status_code == 204
    assert fail_login("owner").status_code == 400
    session = APIClient()
    assert (
        session.post(
            "/api/auth/login/", {"username": "owner", "password": "owner-pass-1"}, format="json"
        ).status_code
        == 200
    )
    assert session.post("/api/auth/logout/").status_code == 204
    rows = list(AuditEvent.objects.order_by("at", "id"))
    assert [e.action for e in rows] == [
        "execution.run",
        "execution.cancel",
        "token.create",
        "token.revoke",
        "login.failed",
        "login",
        "logout",
    ]
    assert {e.actor_name for e in rows} == {"owner"}
    run_event, cancel_event, create_event, revoke_event = rows[:4]
    assert run_event.target_id == cancel_event.target_id == str(run.json()["id"])
    assert run_event.detail["script"] == "private_job"
    assert create_event.target_id == revoke_event.target_id == str(token["id"])
    assert create_event.target_type == "apitoken"


def test_grant_changes_in_the_admin_are_audited(people, private):
    superuser = get_user_model().objects.create_superuser("root", "", "root-pass-1")
    admin = Client()
    admin.force_login(superuser)
    response = admin.post(
        "/admin/access/scriptgrant/add/",
        {"script": private.pk, "user": people.outsider.pk, "group": "", "level": Level.RUN},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = ScriptGrant.objects.get(user=people.outsider)
    added = AuditEvent.objects.get(action="grant.add")
    assert added.actor == superuser
    assert added.detail == {
        "script": "private_job",
        "user": "outsider",
        "group": None,
        "level": "run",
    }
    assert names(client_for(people.outsider).get("/api/scripts/")) == {"private_job"}

    response = admin.post(f"/admin/access/scriptgrant/{grant.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ScriptGrant.objects.filter(pk=grant.pk).exists()
    removed = AuditEvent.objects.get(action="grant.remove")
    assert removed.target_id == str(grant.pk)
    assert removed.detail["user"] == "outsider"
    assert names(client_for(people.outsider).get("/api/scripts/")) == set()


def test_the_audit_log_is_for_staff_and_filterable(people, private, broker):
    services.submit(script=private, user=people.owner)
    tokens_client = client_for(people.member)
    tokens_client.post("/api/tokens/", {"name": "x"}, format="json")
    fail_login("viewer")
    for user in (people.owner, people.member, people.manager, people.outsider):
        assert client_for(user).get("/api/audit/").status_code == 403, user
    staff = client_for(people.staff)
    everything = staff.get("/api/audit/")
    assert everything.status_code == 200
    assert everything.json()["count"] == AuditEvent.objects.count() == 3

    runs = staff.get("/api/audit/", {"action": "execution.run"}).json()["results"]
    assert [(r["action"], r["actor_name"]) for r in runs] == [("execution.run", "owner")]
    by_member = staff.get("/api/audit/", {"actor": "member"}).json()["results"]
    assert [r["action"] for r in by_member] == ["token.create"]
    both = staff.get("/api/audit/", {"action": ["login.failed", "token.create"]}).json()
    assert {r["action"] for r in both["results"]} == {"login.failed", "token.create"}
    nobody = staff.get("/api/audit/", {"actor": "nobody"}).json()
    assert nobody["count"] == 0
    assert staff.get("/api/audit/", {"action": "not.an.action"}).status_code == 400
    by_address = staff.get("/api/audit/", {"ip": "127.0.0.1"}).json()
    assert by_address["count"] == AuditEvent.objects.filter(ip="127.0.0.1").count()
    not_an_address = staff.get("/api/audit/", {"ip": "W\\x18 nowhere"})
    assert not_an_address.status_code == 400 and "ip" in not_an_address.json()
    one = staff.get(f"/api/audit/{runs[0]['id']}/")
    assert one.status_code == 200 and one.json()["action"] == "execution.run"


def test_the_audit_log_is_read_only(people, private, broker):
    services.submit(script=private, user=people.owner)
    event = AuditEvent.objects.get()
    before = AuditEvent.objects.values().get()
    staff = client_for(people.staff)
    body = {"action": "login", "actor_name": "forged"}
    assert staff.post("/api/audit/", body, format="json").status_code == 405
    detail = f"/api/audit/{event.pk}/"
    assert staff.put(detail, body, format="json").status_code == 405
    assert staff.patch(detail, body, format="json").status_code == 405
    assert staff.delete(detail).status_code == 405
    outsider = client_for(people.outsider)
    assert outsider.post("/api/audit/", body, format="json").status_code == 403
    assert outsider.delete(detail).status_code == 403
    assert list(AuditEvent.objects.values()) == [before]
