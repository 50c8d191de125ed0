"""Schedules: ticks on time, misfire and overlap policies, the owner's permission, the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scriptdeck.access.models import AuditEvent
from scriptdeck.automation.models import MisfirePolicy, OverlapPolicy, Schedule
from scriptdeck.automation.scheduler import first_tick_after, next_tick, plan, run_due
from scriptdeck.catalog.models import Script
from scriptdeck.executions.models import Status, TaskExecution, Trigger
from scriptdeck.worker.execute import execute

from .conftest import client_for, write_script

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def make(owner, script_name="scan_dev_update", **fields) -> Schedule:
    fields.setdefault("interval_seconds", 2)
    schedule = Schedule(
        name=fields.pop("name", "every two seconds"),
        script=Script.objects.get(name=script_name),
        owner=owner,
        **fields,
    )
    plan(schedule, now=T0)
    schedule.save()
    return schedule


def runs_of(schedule: Schedule) -> list[TaskExecution]:
    return list(
        TaskExecution.objects.filter(
            trigger=Trigger.SCHEDULE, trigger_ref=str(schedule.pk)
        ).order_by("pk")
    )


def test_an_interval_schedule_fires_once_per_tick_and_records_its_trigger(synced, alice, broker):
    schedule = make(alice, parameters={"target": "db1"})
    assert schedule.next_run_at == T0 + timedelta(seconds=2)

    assert run_due(now=T0 + timedelta(seconds=1)) == []
    fired = run_due(now=T0 + timedelta(seconds=2, milliseconds=300))
    assert [f.action for f in fired] == ["started"]
    assert run_due(now=T0 + timedelta(seconds=2, milliseconds=800)) == []  # same tick: once

    [run] = runs_of(schedule)
    assert run.user == alice and run.parameters == {"target": "db1"}
    schedule.refresh_from_db()
    assert schedule.next_run_at == T0 + timedelta(seconds=4)
    assert schedule.last_execution_id == run.pk and schedule.last_error == ""


def test_a_disabled_schedule_never_fires(synced, alice, broker):
    schedule = make(alice, enabled=False)
    assert schedule.next_run_at is None
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=T0)  # even if a tick was left
    assert run_due(now=T0 + timedelta(hours=1)) == []
    assert runs_of(schedule) == []


@pytest.mark.parametrize("overlap", [OverlapPolicy.SKIP, OverlapPolicy.QUEUE, OverlapPolicy.ALLOW])
def test_the_overlap_policy_holds_while_the_previous_run_goes_on(synced, alice, broker, overlap):
    schedule = make(alice, overlap_policy=overlap)
    run_due(now=T0 + timedelta(seconds=2))
    [first] = runs_of(schedule)
    assert first.status == Status.PENDING  # still going when the next tick comes

    fired = run_due(now=T0 + timedelta(seconds=4))
    expected = {"skip": "skipped_overlap", "queue": "queued", "allow": "started"}[overlap]
    assert [f.action for f in fired] == [expected]
    assert len(runs_of(schedule)) == (2 if overlap == OverlapPolicy.ALLOW else 1)
    schedule.refresh_from_db()
    if overlap == OverlapPolicy.SKIP:
        assert schedule.skipped_runs == 1 and "still running" in schedule.last_error

    execute(first.pk)  # the previous run ends
    fired = run_due(now=T0 + timedelta(seconds=4, milliseconds=500))
    if overlap == OverlapPolicy.QUEUE:
        assert [f.action for f in fired] == ["started"]  # the queued run starts now
        assert len(runs_of(schedule)) == 2
        assert Schedule.objects.get(pk=schedule.pk).queued_at is None
    else:
        assert fired == []


@pytest.mark.parametrize(("policy", "runs"), [(MisfirePolicy.SKIP, 0), (MisfirePolicy.RUN_ONCE, 1)])
def test_ticks_missed_while_the_scheduler_was_down_follow_the_misfire_policy(
    synced, alice, broker, policy, runs
):
    schedule = make(alice, misfire_policy=policy)
    back = T0 + timedelta(seconds=61)  # 30 ticks were due while nobody fired them

    fired = run_due(now=back)

    assert len(runs_of(schedule)) == runs
    schedule.refresh_from_db()
    assert schedule.next_run_at == T0 + timedelta(seconds=62)  # back on the grid, after now
    if policy == MisfirePolicy.SKIP:
        assert [f.action for f in fired] == ["skipped_missed"]
        assert schedule.skipped_runs == 30 and "missed" in schedule.last_error


def test_a_tick_a_little_late_is_not_a_misfire(synced, alice, broker):
    schedule = make(alice, interval_seconds=60, misfire_policy=MisfirePolicy.SKIP)
    fired = run_due(now=T0 + timedelta(seconds=61))
    assert [f.action for f in fired] == ["started"]
    assert len(runs_of(schedule)) == 1


def test_cron_ticks_follow_the_schedules_time_zone_across_daylight_saving(synced, alice):
    schedule = Schedule(cron="30 2 * * *", timezone="Europe/Riga")
    # Riga moves from +02:00 to +03:00 on the last Sunday of March 2026 (the 29th).
    before = next_tick(schedule, datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    after = next_tick(schedule, datetime(2026, 3, 30, 12, 0, tzinfo=UTC))
    assert before == datetime(2026, 3, 28, 0, 30, tzinfo=UTC)
    assert after == datetime(2026, 3, 30, 23, 30, tzinfo=UTC)  # 02:30 at +03:00
    tick, missed = first_tick_after(schedule, before, before + timedelta(days=3, hours=1))
    assert missed == 3 and tick == datetime(2026, 3, 31, 23, 30, tzinfo=UTC)


def test_an_owner_who_lost_the_permission_starts_nothing(synced, alice, runners, broker):
    schedule = make(alice)
    alice.groups.remove(runners)
    fired = run_due(now=T0 + timedelta(seconds=2))
    assert [f.action for f in fired] == ["refused"]
    assert runs_of(schedule) == []
    assert "may not run" in Schedule.objects.get(pk=schedule.pk).last_error


def test_the_api_validates_timing_and_parameters_naming_the_field(synced, alice, broker):
    write_script(
        synced,
        "typed.py",
        """
        def main(host: str, retries: int = 3) -> dict:
            return {"host": host}
        """,
    )
    from scriptdeck.catalog.registry import sync

    sync()
    script = Script.objects.get(name="typed")
    client = client_for(alice)
    base = {"name": "n", "script": script.pk, "interval_seconds": 60}

    cases = [
        ({"cron": "61 * * * *", "interval_seconds": None}, "cron"),
        ({"cron": "* * *", "interval_seconds": None}, "cron"),
        ({"cron": "* * * * *"}, "cron"),  # both
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"parameters": {"host": "a", "retries": "x"}}, "retries"),
        ({"parameters": {}}, "host"),
    ]
    for change, field in cases:
        answer = client.post("/api/schedules/", {**base, **change}, format="json")
        assert answer.status_code == 400, (change, answer.json())
        assert field in answer.json(), (change, answer.json())
    assert Schedule.objects.count() == 0

    made = client.post("/api/schedules/", {**base, "parameters": {"host": "db1"}}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["owner"] == "alice" and body["parameters"] == {"host": "db1", "retries": 3}
    assert body["next_run_at"] is not None
    assert AuditEvent.objects.filter(action="schedule.change", target_id=str(body["id"])).exists()


def test_schedules_are_seen_and_changed_by_their_owner_only(synced, alice, bob, broker):
    schedule = make(alice)
    assert client_for(bob).get(f"/api/schedules/{schedule.pk}/").status_code == 404
    assert client_for(bob).get("/api/schedules/").json()["count"] == 0
    answer = client_for(alice).patch(
        f"/api/schedules/{schedule.pk}/", {"enabled": False}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["next_run_at"] is None


def test_a_secret_parameter_of_a_schedule_is_stored_encrypted_and_reaches_the_run(
    synced, alice, broker
):
    write_script(
        synced,
        "secretive.py",
        """
        PARAMETERS = {"token": {"type": "string", "secret": True, "required": True}}
        import json, os
        print(json.dumps({"length": len(json.loads(os.environ["SCRIPT_PARAMETERS"])["token"])}))
        """,
    )
    from scriptdeck.catalog.registry import sync

    sync()
    script = Script.objects.get(name="secretive")
    client = client_for(alice)
    made = client.post(
        "/api/schedules/",
        {
            "name": "s",
            "script": script.pk,
            "interval_seconds": 5,
            "parameters": {"token": "t0p-s3cret"},
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert made.json()["parameters"] == {"token": "••••"}
    schedule = Schedule.objects.get(pk=made.json()["id"])
    assert "t0p-s3cret" not in schedule.secret_parameters
    # Sent back masked, as shown, the secret is kept.
    client.patch(f"/api/schedules/{schedule.pk}/", {"parameters": {"token": "••••"}}, format="json")
    schedule.refresh_from_db()
    fired = run_due(now=schedule.next_run_at + timedelta(milliseconds=10))
    [run] = runs_of(schedule)
    assert [f.action for f in fired] == ["started"]
    execute(run.pk)
    run.refresh_from_db()
    assert run.status == Status.SUCCESS and run.result["length"] == len("t0p-s3cret")
    assert run.parameters == {"token": "••••"}


def test_a_schedule_made_in_the_admin_keeps_its_secret_encrypted(synced, admin_user, client):
    write_script(
        synced,
        "secretive.py",
        """
        PARAMETERS = {"token": {"type": "string", "secret": True, "required": True}}
        print("{}")
        """,
    )
    from scriptdeck.catalog.registry import sync

    sync()
    script = Script.objects.get(name="secretive")
    client.force_login(admin_user)
    form = {
        "name": "nightly",
        "script": script.pk,
        "owner": admin_user.pk,
        "cron": "0 3 * * *",
        "interval_seconds": "",
        "timezone": "UTC",
        "parameters": '{"token": "adm1n-s3cret"}',
        "page_context": "",
        "enabled": "on",
        "misfire_policy": "skip",
        "overlap_policy": "skip",
    }
    answer = client.post("/admin/automation/schedule/add/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    schedule = Schedule.objects.get(name="nightly")
    assert schedule.parameters == {"token": "••••"}
    assert "adm1n-s3cret" not in schedule.secret_parameters and schedule.secret_parameters
    assert schedule.next_run_at is not None
    page = client.get(f"/admin/automation/schedule/{schedule.pk}/change/").content.decode()
    assert "adm1n-s3cret" not in page

    bad = client.post("/admin/automation/schedule/add/", {**form, "name": "x", "cron": "nope"})
    assert bad.status_code == 200 and not Schedule.objects.filter(name="x").exists()
