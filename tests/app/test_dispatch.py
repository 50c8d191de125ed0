"""A broker that refuses at submit loses nothing; the sweeper sends it later, once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.executions.models import Status, TaskExecution
from scriptdeck.worker import sweeper


def test_a_refused_broker_still_answers_202_and_keeps_the_execution_pending(
    synced, alice_client, refused_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            "/myapp/api/execute-script/", {"script_name": "fails"}, format="json"
        )
    assert response.status_code == 202
    execution = TaskExecution.objects.get()
    assert execution.status == Status.PENDING
    assert execution.dispatched_at is None


def test_the_sweeper_dispatches_what_the_broker_never_got_exactly_once(
    synced, alice, broker, settings
):
    settings.SCRIPTDECK_DISPATCH_GRACE = 0
    script = Script.objects.get(name="fails")
    stranded = TaskExecution.objects.create(
        script=script, script_name="fails", script_path="fails.py", user=alice
    )
    fresh = TaskExecution.objects.create(
        script=script, script_name="fails", script_path="fails.py", user=alice
    )
    TaskExecution.objects.filter(pk=stranded.pk).update(
        created_at=timezone.now() - timedelta(seconds=30)
    )
    settings.SCRIPTDECK_DISPATCH_GRACE = 10
    report = sweeper.sweep()
    assert report.dispatched == [stranded.pk]
    assert [m["args"] for m in broker] == [[stranded.pk]]
    assert sweeper.sweep().dispatched == []  # sent once; fresh one is within its grace
    assert len(broker) == 1
    stranded.refresh_from_db()
    assert stranded.dispatched_at is not None
    del fresh


def test_the_sweeper_keeps_pending_what_the_broker_still_refuses(
    synced, alice, refused_broker, settings
):
    settings.SCRIPTDECK_DISPATCH_GRACE = 0
    script = Script.objects.get(name="fails")
    execution = TaskExecution.objects.create(
        script=script, script_name="fails", script_path="fails.py", user=alice
    )
    TaskExecution.objects.filter(pk=execution.pk).update(
        created_at=timezone.now() - timedelta(seconds=5)
    )
    report = sweeper.sweep()
    assert report.still_pending == [execution.pk]
    execution.refresh_from_db()
    assert execution.status == Status.PENDING and execution.dispatched_at is None


def test_a_run_whose_worker_stopped_heartbeating_ends_as_worker_lost(
    synced, alice, broker, settings
):
    settings.SCRIPTDECK_WORKER_LOST_AFTER = 60
    script = Script.objects.get(name="fails")
    lost = services.submit(script=script, user=alice)
    alive = services.submit(script=script, user=alice)
    services.start(lost.pk, "host-a", 10)
    services.start(alive.pk, "host-b", 11)
    TaskExecution.objects.filter(pk=lost.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=61)
    )
    report = sweeper.sweep()
    assert report.lost == [lost.pk]
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert (lost.status, lost.failure_reason) == (Status.FAILURE, "worker_lost")
    assert "host-a" in lost.error_message
    assert alive.status == Status.STARTED


def test_healthz_reports_database_broker_and_workers(db, client):
    from scriptdeck.executions import workers

    workers.seen("w1@host", ["default"], 4, 123, starting=True)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["broker"] == "ok"
    assert [w["hostname"] for w in body["workers"]] == ["w1@host"]
    workers.stopped("w1@host")
    assert client.get("/healthz").json()["workers"] == []


def test_healthz_is_503_naming_the_broker_when_it_refuses(db, client, refused_broker):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("error")


def test_a_waiting_execution_says_what_it_waits_for(synced, alice, alice_client, broker):
    from scriptdeck.executions import workers

    script = Script.objects.get(name="fails")
    script.queue = "gpu"
    script.save()
    execution = services.submit(script=script, user=alice)
    detail = alice_client.get(f"/api/executions/{execution.pk}/").data
    assert detail["waiting_reason"] == "waiting for a worker on queue gpu"
    workers.seen("gpu-1@host", ["gpu"], 2, 99, starting=True)
    services.dispatch(execution.pk)
    detail = alice_client.get(f"/api/executions/{execution.pk}/").data
    assert detail["waiting_reason"] == "queued on gpu"
    listed = alice_client.get("/api/workers/").data
    assert [(w["hostname"], w["queues"], w["alive"]) for w in listed] == [
        ("gpu-1@host", ["gpu"], True)
    ]


def test_one_sweeper_holds_the_lease_and_another_takes_over_when_it_lapses(db):
    from scriptdeck.executions import leases
    from scriptdeck.executions.models import Lease

    assert leases.acquire("sweeper", "host-a:1", 15)
    assert not leases.acquire("sweeper", "host-b:2", 15)
    assert leases.acquire("sweeper", "host-a:1", 15)  # the holder renews
    Lease.objects.filter(name="sweeper").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert leases.acquire("sweeper", "host-b:2", 15)
    assert not leases.acquire("sweeper", "host-a:1", 15)
    leases.release("sweeper", "host-b:2")
    assert leases.acquire("sweeper", "host-a:1", 15)
