"""The overview's aggregates: per day by status, per script rates and percentiles, now."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from scriptdeck.catalog.models import Script
from scriptdeck.executions.models import Status, TaskExecution
from scriptdeck.reports import overview
from scriptdeck.reports import percentiles as stats

from .conftest import client_for


def record(script: Script, user, status: str, seconds: float | None, ago: timedelta, name=None):
    execution = TaskExecution.objects.create(
        script=script,
        script_name=name or script.name,
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


def record_at(script, user, status: str, seconds: float | None, at: datetime, name=None):
    execution = TaskExecution.objects.create(
        script=script,
        script_name=name or script.name,
        script_path=script.path,
        user=user,
        status=status,
        execution_time=seconds,
    )
    TaskExecution.objects.filter(pk=execution.pk).update(created_at=at)
    return execution


def exact(values: list[float], fraction: float) -> float:
    """percentile_cont by the book: linear interpolation between the closest ranks."""
    values = sorted(values)
    if fraction == 0.5:
        return statistics.median(values)
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.5, 0.95, 0.99, 1.0])
def test_a_walk_s_two_values_give_percentile_cont(fraction):
    """What the index walks return (two values from the nearer end) is enough for
    percentile_cont, whatever the count."""
    for count in [1, 2, 3, 4, 5, 19, 20, 21, 100, 101]:
        values = sorted((i * 7919) % 1009 / 10 for i in range(1, count + 1))
        rank = math.floor(fraction * (count - 1))
        if fraction <= 0.5:
            walked = values[rank : rank + 2]  # ORDER BY execution_time OFFSET rank LIMIT 2
        else:
            offset = max(count - 2 - rank, 0)  # ORDER BY … DESC OFFSET offset LIMIT 2
            walked = values[::-1][offset : offset + 2]
        expected = exact(values, fraction) if fraction not in (0.0, 1.0) else values[rank]
        assert stats.walked(fraction, count, walked) == pytest.approx(expected, rel=1e-12)
        assert stats.percentile_cont(fraction, count, values.__getitem__) == pytest.approx(
            expected, rel=1e-12
        )


@pytest.mark.parametrize(
    ("zone", "since", "now"),
    [
        ("Europe/Paris", "2026-03-27T10:00:00+00:00", "2026-03-31T10:00:00+00:00"),  # 23 h day
        ("Europe/Paris", "2026-10-23T10:00:00+00:00", "2026-10-27T10:00:00+00:00"),  # 25 h day
        ("America/Santiago", "2026-09-04T12:00:00+00:00", "2026-09-08T12:00:00+00:00"),
        ("Asia/Kathmandu", "2026-01-01T00:00:00+00:00", "2026-01-03T00:00:00+00:00"),
        ("UTC", "2026-01-01T00:00:00+00:00", "2026-01-01T23:00:00+00:00"),
    ],
)
def test_days_begin_at_the_zone_s_local_midnights(zone, since, now):
    tz = ZoneInfo(zone)
    since, now = datetime.fromisoformat(since), datetime.fromisoformat(now)
    first, starts = stats.day_starts(since, now, tz)
    assert first == since.astimezone(tz).date() and starts[0] == since
    assert first + timedelta(days=len(starts) - 1) == now.astimezone(tz).date()
    tick = timedelta(microseconds=1)
    for i, start in enumerate(starts[1:], start=1):
        assert start.astimezone(tz).date() == first + timedelta(days=i)
        assert (start - tick).astimezone(tz).date() == first + timedelta(days=i - 1)
    if zone == "America/Santiago":  # 2026-09-06 begins at 01:00: midnight is skipped
        assert starts[2].astimezone(tz).time() == time(1, 0)


def test_runs_are_counted_on_the_caller_s_local_days(synced, alice, monkeypatch):
    """Across a clock change: Paris leaves summer time on 2026-10-25 at 01:00 UTC."""
    scan = Script.objects.get(name="scan_dev_update")
    monkeypatch.setattr(overview.timezone, "now", lambda: datetime(2026, 10, 27, 12, tzinfo=UTC))
    for at in ["2026-10-24T22:30", "2026-10-25T22:30", "2026-10-25T23:30", "2026-10-26T23:10"]:
        record_at(scan, alice, Status.SUCCESS, 1.0, datetime.fromisoformat(at + "+00:00"))
    record_at(scan, alice, Status.FAILURE, 1.0, datetime.fromisoformat("2026-10-25T22:50+00:00"))
    record_at(scan, alice, Status.SUCCESS, 1.0, datetime.fromisoformat("2026-10-20T11:59+00:00"))

    def days(tz):
        body = client_for(alice).get("/api/stats/overview/", {"days": 7, "tz": tz}).json()
        return [(d["day"], d["status"], d["runs"]) for d in body["per_day"]]

    assert days("Europe/Paris") == [  # +02:00 until 10-25 01:00 UTC, then +01:00
        ("2026-10-25", "FAILURE", 1),
        ("2026-10-25", "SUCCESS", 2),  # 00:30 CEST and 23:30 CET
        ("2026-10-26", "SUCCESS", 1),
        ("2026-10-27", "SUCCESS", 1),
    ]
    assert days("UTC") == [
        ("2026-10-24", "SUCCESS", 1),
        ("2026-10-25", "FAILURE", 1),
        ("2026-10-25", "SUCCESS", 2),
        ("2026-10-26", "SUCCESS", 1),
    ]
    assert days("Asia/Tokyo")[0] == ("2026-10-25", "SUCCESS", 1)  # 07:30 JST


def test_percentiles_are_exact_over_the_window_s_timed_finished_runs(synced, alice):
    scan = Script.objects.get(name="scan_dev_update")
    fails = Script.objects.get(name="fails")
    durations = [0.0, 0.0004, 0.02, 0.02, 0.5, 1.25, 3.0, 7.5, 7.5, 12.0, 61.0, 3600.5] * 3
    durations += [0.9 + i / 7 for i in range(17)]  # 53 in all
    for i, seconds in enumerate(durations):
        status = Status.FAILURE if i % 5 == 0 else Status.SUCCESS
        record(scan, alice, status, seconds, timedelta(hours=i))
    record(scan, alice, Status.CANCELLED, 1e6, timedelta(hours=1))  # not finished
    record(scan, alice, Status.FAILURE, None, timedelta(hours=2))  # not timed
    record(scan, alice, Status.SUCCESS, 1e6, timedelta(days=31))  # outside the window
    record(fails, alice, Status.FAILURE, 2.5, timedelta(hours=3))  # one run

    body = client_for(alice).get("/api/stats/overview/", {"days": 30}).json()
    rows = {row["script_name"]: row for row in body["scripts"]}
    assert rows["scan_dev_update"]["runs"] == 55
    assert rows["scan_dev_update"]["failures"] == 12
    assert rows["scan_dev_update"]["p50_seconds"] == pytest.approx(exact(durations, 0.5))
    assert rows["scan_dev_update"]["p95_seconds"] == pytest.approx(exact(durations, 0.95))
    assert rows["fails"]["p50_seconds"] == rows["fails"]["p95_seconds"] == 2.5
    if connection.vendor == "postgresql":  # bit for bit what percentile_cont says
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY execution_time), "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY execution_time) "
                "FROM executions_taskexecution WHERE script_id = %s AND status IN "
                "('SUCCESS', 'FAILURE') AND execution_time IS NOT NULL "
                "AND created_at >= now() - interval '30 days'",
                [scan.pk],
            )
            p50, p95 = cursor.fetchone()
        assert (rows["scan_dev_update"]["p50_seconds"], rows["scan_dev_update"]["p95_seconds"]) == (
            p50,
            p95,
        )


def test_a_manager_sees_every_run_of_the_scripts_they_manage(synced, alice, bob):
    from scriptdeck.access.models import Level, ScriptGrant

    scan = Script.objects.get(name="scan_dev_update")
    fails = Script.objects.get(name="fails")
    ScriptGrant.objects.create(script=fails, user=alice, level=Level.MANAGE)
    record(fails, bob, Status.SUCCESS, 4.0, timedelta(hours=1))
    record(fails, alice, Status.FAILURE, 2.0, timedelta(hours=2))
    record(scan, bob, Status.SUCCESS, 9.0, timedelta(hours=3))  # bob's, not managed
    record(scan, alice, Status.SUCCESS, 1.0, timedelta(hours=4))

    body = client_for(alice).get("/api/stats/overview/").json()
    rows = {row["script_name"]: row for row in body["scripts"]}
    assert (rows["fails"]["runs"], rows["fails"]["last_status"]) == (2, Status.SUCCESS)
    assert (rows["fails"]["p50_seconds"], rows["fails"]["p95_seconds"]) == (3.0, 3.9)
    assert (rows["scan_dev_update"]["runs"], rows["scan_dev_update"]["p95_seconds"]) == (1, 1.0)
    assert sum(d["runs"] for d in body["per_day"]) == 3
    assert [row["script_name"] for row in body["scripts"]] == ["fails", "scan_dev_update"]


def test_the_runs_of_deleted_scripts_are_one_row_without_a_last_status(synced, admin_user):
    scan = Script.objects.get(name="scan_dev_update")
    gone = Script.objects.get(name="fails")
    record(gone, admin_user, Status.SUCCESS, 1.0, timedelta(hours=3))
    record(gone, admin_user, Status.FAILURE, 3.0, timedelta(hours=1))
    record(scan, admin_user, Status.SUCCESS, 5.0, timedelta(hours=2))
    gone.delete()

    body = client_for(admin_user).get("/api/stats/overview/").json()
    (row,) = [row for row in body["scripts"] if row["script_id"] is None]
    assert (row["runs"], row["successes"], row["failures"]) == (2, 1, 1)
    assert (row["script_name"], row["last_status"]) == ("fails", None)
    assert (row["p50_seconds"], row["p95_seconds"]) == (2.0, 2.9)
    assert row["last_run_at"] is not None
    assert list(row) == [
        "script_id",
        "runs",
        "successes",
        "failures",
        "last_run_at",
        "script_name",
        "last_status",
        "success_rate",
        "p50_seconds",
        "p95_seconds",
    ]


def test_the_name_is_the_one_the_latest_run_ran_under(synced, alice):
    scan = Script.objects.get(name="scan_dev_update")
    record(scan, alice, Status.SUCCESS, 1.0, timedelta(hours=2), name="zz_old_name")
    record(scan, alice, Status.SUCCESS, 1.0, timedelta(hours=1))
    (row,) = client_for(alice).get("/api/stats/overview/").json()["scripts"]
    assert row["script_name"] == "scan_dev_update"
