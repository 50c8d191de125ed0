"""The overview's aggregates: per day by status, per script rates and percentiles, now."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from scriptdeck.catalog.models import Script
from scriptdeck.executions.models import Status, TaskExecution

from .conftest import client_for


def record(script: Script, user, status: str, seconds: float | None, ago: timedelta):
    execution = TaskExecution.objects.create(
        script=script,
        script_name=script.name,
        script_path=script.path,
        user=user,
        status=status,
        execution_time=seconds,
    )
    TaskExecution.objects.filter(pk=execution.pk).update(created_at=timezone.now() - ago)


def test_the_overview_counts_what_the_user_may_see(synced, alice, bob, admin_user):
    scan = Script.objects.get(name="scan_dev_update")
    fails = Script.objects.get(name="fails")
    for seconds in range(1, 21):  # 1..20 s, all successes of alice's, today
        record(scan, alice, Status.SUCCESS, float(seconds), timedelta(minutes=seconds))
    record(fails, alice, Status.FAILURE, 2.0, timedelta(days=1, minutes=1))
    record(fails, alice, Status.STARTED, None, timedelta(seconds=5))
    record(fails, bob, Status.PENDING, None, timedelta(seconds=5))
    record(scan, alice, Status.SUCCESS, 99.0, timedelta(days=40))  # outside the window

    answer = client_for(alice).get("/api/stats/overview/", {"days": 30, "tz": "UTC"})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    by_script = {row["script_name"]: row for row in body["scripts"]}
    assert by_script["scan_dev_update"]["runs"] == 20
    assert by_script["scan_dev_update"]["success_rate"] == 1.0
    assert by_script["scan_dev_update"]["p50_seconds"] == 10.5
    assert 19.0 <= by_script["scan_dev_update"]["p95_seconds"] <= 20.0
    assert by_script["fails"]["runs"] == 2  # bob's queued run is not alice's to see
    assert by_script["fails"]["success_rate"] == 0.0
    assert by_script["fails"]["last_status"] == Status.STARTED
    assert body["now"] == {"pending": 0, "started": 1}
    assert sum(d["runs"] for d in body["per_day"]) == 22

    everyone = client_for(admin_user).get("/api/stats/overview/").json()
    assert everyone["now"] == {"pending": 1, "started": 1}


def test_the_overview_refuses_a_bad_window_naming_the_field(synced, alice):
    client = client_for(alice)
    assert "days" in client.get("/api/stats/overview/", {"days": "x"}).json()
    assert "days" in client.get("/api/stats/overview/", {"days": 0}).json()
    assert "tz" in client.get("/api/stats/overview/", {"tz": "Mars/Base"}).json()
