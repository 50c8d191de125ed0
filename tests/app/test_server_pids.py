"""Pids of server processes are shown to staff only: a script's author could aim at them."""

from __future__ import annotations

from scriptdeck.catalog.models import Script
from scriptdeck.executions import services, workers


def test_it_hides_worker_pids_from_non_staff(alice_client, admin_client, db):
    workers.seen("w1@host", ["default"], 2, 4242, starting=True)
    assert [w.get("pid") for w in alice_client.get("/api/workers/").data] == [None]
    assert "pid" not in alice_client.get("/api/workers/").data[0]
    assert [w["pid"] for w in admin_client.get("/api/workers/").data] == [4242]


def test_it_hides_an_executions_pids_from_non_staff(
    synced, alice, alice_client, admin_client, broker
):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    shown = alice_client.get(f"/api/executions/{execution.pk}/").data
    assert "worker_pid" not in shown and "pid" not in shown
    listed = alice_client.get("/api/executions/").data["results"][0]
    assert "worker_pid" not in listed and "pid" not in listed
    staff = admin_client.get(f"/api/executions/{execution.pk}/").data
    assert "worker_pid" in staff and "pid" in staff
