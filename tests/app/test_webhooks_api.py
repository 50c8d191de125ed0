"""Managing incoming webhooks over the API: made by who may run the script, shown once."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from scriptdeck.access.models import AuditEvent
from scriptdeck.automation.models import WebhookTrigger
from scriptdeck.catalog.models import Script
from scriptdeck.executions.models import TaskExecution, Trigger

from .conftest import client_for


def test_a_hook_made_over_the_api_shows_its_url_once_and_runs_the_script(
    synced, alice, broker, django_capture_on_commit_callbacks
):
    script = Script.objects.get(name="scan_dev_update")
    client = client_for(alice)
    made = client.post(
        "/api/webhooks/",
        {
            "name": "deploy hook",
            "script": script.pk,
            "parameters": {"mode": "full"},
            "allowed_fields": ["target"],
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    key = body["key"]
    assert body["url"].endswith(f"/api/hooks/{key}/") and body["owner"] == "alice"
    assert key not in str(list(WebhookTrigger.objects.values()))  # only its digest is kept
    listed = client.get("/api/webhooks/").json()["results"]
    assert [h["key"] for h in listed] == [None] and listed[0]["prefix"] == key[:9]

    with django_capture_on_commit_callbacks(execute=True):
        fired = client_for(None).post(
            f"/api/hooks/{key}/", {"target": "db1", "mode": "quick"}, format="json"
        )
    assert fired.status_code == 202, fired.content
    run = TaskExecution.objects.get(pk=fired.json()["execution_id"])
    assert run.trigger == Trigger.WEBHOOK and run.user == alice
    assert run.parameters == {"target": "db1", "mode": "full"}  # the fixed value wins

    assert client.delete(f"/api/webhooks/{body['id']}/").status_code == 204
    assert client_for(None).post(f"/api/hooks/{key}/", {}, format="json").status_code == 404
    actions = AuditEvent.objects.filter(action="webhook.change").values_list(
        "detail__change", flat=True
    )
    assert sorted(actions) == ["created", "revoked"]


def test_only_who_may_run_a_script_makes_a_hook_and_others_do_not_see_it(synced, alice, broker):
    script = Script.objects.get(name="scan_dev_update")
    outsider = get_user_model().objects.create_user("outsider", "", "pw-outsider-1")
    refused = client_for(outsider).post(
        "/api/webhooks/", {"name": "x", "script": script.pk}, format="json"
    )
    assert refused.status_code == 400 and "script" in refused.json()
    made = client_for(alice).post(
        "/api/webhooks/", {"name": "mine", "script": script.pk}, format="json"
    )
    hook_id = made.json()["id"]
    assert client_for(outsider).get(f"/api/webhooks/{hook_id}/").status_code == 404
    assert client_for(outsider).delete(f"/api/webhooks/{hook_id}/").status_code == 404
    assert client_for(outsider).get("/api/webhooks/").json()["count"] == 0
