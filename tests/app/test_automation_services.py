"""The automation services: each change checked, permitted, written and audited at once."""

from __future__ import annotations

import pytest
from django.test import Client

from scriptdeck.access.models import AuditEvent, Level, ScriptGrant
from scriptdeck.automation import services
from scriptdeck.automation.models import NotificationRule, Schedule, WebhookTrigger
from scriptdeck.automation.scheduler import ScheduleError
from scriptdeck.catalog.models import Script
from scriptdeck.executions.services import SubmitError
from scriptdeck.refusals import Forbidden, Refusal

from .conftest import client_for


def scan() -> Script:
    return Script.objects.get(name="scan_dev_update")


def schedule_of(owner, **values) -> Schedule:
    return services.create_schedule(
        owner, {"name": "every minute", "script": scan(), "interval_seconds": 60, **values}
    )


def audit_details(action: str) -> list[dict]:
    return list(
        AuditEvent.objects.filter(action=action).order_by("pk").values_list("detail", flat=True)
    )


def test_a_schedule_is_made_as_its_maker_planned_and_audited(synced, alice):
    schedule = schedule_of(alice, parameters={"target": "db1"})
    assert schedule.owner == alice and schedule.next_run_at is not None
    [detail] = audit_details("schedule.change")
    assert detail["change"] == "created" and detail["script"] == "scan_dev_update"
    assert detail["parameters"] == {"target": "db1"} and detail["enabled"] is True
    assert "interval_seconds" in detail["changed"]


def test_only_the_owner_or_a_manager_changes_or_deletes_a_schedule(synced, alice, bob):
    schedule = schedule_of(alice)
    with pytest.raises(Forbidden):
        services.update_schedule(bob, schedule, {"enabled": False})
    with pytest.raises(Forbidden):
        services.delete_schedule(bob, schedule)
    assert Schedule.objects.get(pk=schedule.pk).enabled
    ScriptGrant.objects.create(user=bob, script=scan(), level=Level.MANAGE)
    services.update_schedule(bob, schedule, {"enabled": False})
    assert Schedule.objects.get(pk=schedule.pk).next_run_at is None
    services.delete_schedule(bob, schedule)
    assert not Schedule.objects.exists()
    changes = [detail["change"] for detail in audit_details("schedule.change")]
    assert changes == ["created", "changed", "deleted"]


def test_a_refused_change_writes_nothing_and_names_the_field(synced, alice):
    schedule = schedule_of(alice)
    with pytest.raises(ScheduleError) as caught:
        services.update_schedule(alice, schedule, {"timezone": "Mars/Olympus"})
    assert caught.value.field == "timezone" and caught.value.status == 400
    assert Schedule.objects.get(pk=schedule.pk).timezone == "UTC"
    assert len(audit_details("schedule.change")) == 1  # the creation only


def test_parameters_are_refused_naming_each_one(synced, alice, scripts_dir):
    (scripts_dir / "typed.py").write_text("def main(retries: int) -> None:\n    pass\n")
    from scriptdeck.catalog.registry import sync

    sync()
    typed = Script.objects.get(name="typed")
    with pytest.raises(SubmitError) as caught:
        services.create_schedule(
            alice,
            {"name": "n", "script": typed, "interval_seconds": 5, "parameters": {"retries": "x"}},
        )
    assert "retries" in caught.value.errors
    assert not Schedule.objects.exists() and not audit_details("schedule.change")


def test_who_may_not_run_a_script_may_not_schedule_it_or_make_a_webhook(synced, django_user_model):
    outsider = django_user_model.objects.create_user("outsider", "", "pw-outsider-1")
    with pytest.raises(Refusal) as caught:
        schedule_of(outsider)
    assert caught.value.field == "script"
    with pytest.raises(Refusal) as caught:
        services.create_webhook(outsider, "x", scan())
    assert caught.value.field == "script"
    assert not Schedule.objects.exists() and not WebhookTrigger.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_webhook_is_revoked_once_by_its_owner_or_a_manager(synced, alice, bob):
    hook, _ = services.create_webhook(alice, "deploy", scan(), allowed_fields=["target"])
    with pytest.raises(Forbidden) as caught:
        services.revoke_webhook(bob, hook)
    assert caught.value.status == 403
    assert services.revoke_webhook(alice, hook) is True
    assert services.revoke_webhook(alice, hook) is False
    changes = [detail["change"] for detail in audit_details("webhook.change")]
    assert changes == ["created", "revoked"]


def test_a_webhook_value_the_model_refuses_is_a_refusal_naming_it(synced, alice):
    with pytest.raises(Refusal) as caught:
        services.create_webhook(alice, "too patient", scan(), max_wait=301)
    assert "max_wait" in caught.value.errors
    assert not WebhookTrigger.objects.exists() and not audit_details("webhook.change")


def test_a_notification_rule_is_checked_and_changed_by_a_manager_only(synced, alice):
    rule = NotificationRule(name="r", script=scan(), channel="webhook", target=" http://x/ ")
    with pytest.raises(Forbidden):
        services.save_notification_rule(alice, rule, ["name"])
    ScriptGrant.objects.create(user=alice, script=scan(), level=Level.MANAGE)
    services.save_notification_rule(alice, rule, ["name"], new_signing_secret="s3cr3t")
    rule.refresh_from_db()
    assert (
        rule.target == "http://x/" and rule.signing_secret and "s3cr3t" not in rule.signing_secret
    )
    bad = NotificationRule(name="bad", on_failure=False, channel="webhook", target="ftp://x/")
    with pytest.raises(Refusal) as caught:
        services.save_notification_rule(alice, bad, ["name"])
    assert {"script", "target"} <= set(caught.value.errors)
    services.delete_notification_rule(alice, rule)
    assert not NotificationRule.objects.exists()
    assert audit_details("notification.change") == [{"changed": ["name"]}, {"changed": ["deleted"]}]


def test_a_schedule_deleted_in_the_admin_is_audited(synced, alice, admin_user):
    schedule = schedule_of(alice)
    browser = Client()
    browser.force_login(admin_user)
    answer = browser.post(f"/admin/automation/schedule/{schedule.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    assert not Schedule.objects.exists()
    assert [d["change"] for d in audit_details("schedule.change")] == ["created", "deleted"]


def test_a_manager_of_the_script_changes_someone_elses_schedule_over_the_api(synced, alice, bob):
    schedule = schedule_of(alice)
    ScriptGrant.objects.create(user=bob, script=scan(), level=Level.MANAGE)
    answer = client_for(bob).patch(
        f"/api/schedules/{schedule.pk}/", {"enabled": False}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["next_run_at"] is None
    [_, changed] = audit_details("schedule.change")
    assert changed["change"] == "changed" and changed["changed"] == ["enabled"]
