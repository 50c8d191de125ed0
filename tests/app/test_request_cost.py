"""What a hot API request costs: the same answers as DRF's own way, in few SQL statements."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers as drf
from rest_framework.test import APIClient

from scriptdeck.access import tokens
from scriptdeck.api.serializers import (
    ExecutionListSerializer,
    ExecutionSerializer,
    PrebuiltOutput,
    ScriptSerializer,
)
from scriptdeck.catalog.models import Script
from scriptdeck.executions import services, workers
from scriptdeck.executions.models import FailureReason, Status, TaskExecution

SUBMIT = {"script": "scan_dev_update", "parameters": {"target": "core"}}


def token_client(user) -> APIClient:
    _, key = tokens.create(user, "cost")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def drf_output(serializer: drf.Serializer, instance: object) -> dict:
    """What DRF itself answers: every field built for this serializer, as ever."""
    return drf.Serializer.to_representation(serializer, instance)


@pytest.fixture
def executions(synced, alice, admin_user, broker) -> list[TaskExecution]:
    """Runs in every state the answer shows differently."""
    script = Script.objects.get(name="scan_dev_update")
    made = [services.submit(script=script, parameters={"target": "a"}, user=alice)]
    workers.seen("w1@host", ["default"], 2, 4242, starting=True)
    made.append(services.submit(script=script, parameters={"target": "b"}, user=alice))
    ended = services.submit(script=script, user=alice)
    now = timezone.now()
    TaskExecution.objects.filter(pk=ended.pk).update(
        status=Status.SUCCESS,
        started_at=now - timedelta(seconds=2),
        completed_at=now,
        result={"status": "success", "data": {"n": 1, "名": "值"}},
        stdout="out\n",
        stdout_bytes=4,
        exit_code=0,
        execution_time=1.25,
        memory_usage=12.5,
        peak_rss_bytes=2**40,
        cpu_user=0.5,
        timeline=[[1, 0.1, 1000, 1.0, 1, 0, 0]],
    )
    failed = services.submit(script=script, user=alice)
    TaskExecution.objects.filter(pk=failed.pk).update(
        status=Status.FAILURE,
        failure_reason=FailureReason.EXIT_CODE,
        error_message="exit 2",
        exit_code=2,
        retry_of=ended,
    )
    cancelled = services.submit(script=script, user=alice)
    TaskExecution.objects.filter(pk=cancelled.pk).update(
        status=Status.CANCELLED,
        failure_reason=FailureReason.CANCELLED,
        cancel_requested_at=now,
        cancelled_by=admin_user,
    )
    orphan = services.submit(script=script, user=None)
    TaskExecution.objects.filter(pk=orphan.pk).update(script=None)
    return list(TaskExecution.objects.select_related("user", "script").order_by("pk"))


@pytest.mark.django_db
def test_the_prebuilt_output_is_in_use_for_the_hot_serializers():
    for serializer in (ExecutionSerializer, ExecutionListSerializer, ScriptSerializer):
        assert issubclass(serializer, PrebuiltOutput)
        assert serializer.output_plan() is not None, serializer.__name__
    assert len(ExecutionListSerializer.output_plan()) < len(ExecutionSerializer.output_plan())


@pytest.mark.django_db
def test_an_execution_reads_as_drf_itself_shows_it(executions, admin_user, alice):
    assert {e.status for e in executions} >= {Status.PENDING, Status.SUCCESS, Status.CANCELLED}
    # As staff see it: every field, the server's pids included (others get them left out).
    staff = {"request": type("R", (), {"user": admin_user})()}
    for execution in executions:
        for serializer_class in (ExecutionSerializer, ExecutionListSerializer):
            ours = serializer_class(execution, context=staff).data
            theirs = drf_output(serializer_class(execution, context=staff), execution)
            assert json.dumps(ours, sort_keys=True, default=str) == json.dumps(
                theirs, sort_keys=True, default=str
            )
            assert list(ours) == list(theirs)  # the same order of keys too
    pending = ExecutionSerializer(executions[0]).data
    assert pending["queue_position"] == 1
    assert pending["waiting_reason"]
    others = {"request": type("R", (), {"user": alice})()}
    assert "worker_pid" not in ExecutionSerializer(executions[0], context=others).data


@pytest.mark.django_db
def test_a_script_reads_as_drf_itself_shows_it(synced, alice, admin_user):
    Script.objects.filter(name="fails").update(
        parameter_schema={"type": "object", "properties": {"k": {"type": "string"}}},
        argv=["--x", ""],
        max_concurrent=2,
    )
    for user in (alice, admin_user):
        request = type("R", (), {"user": user})()
        for script in Script.objects.order_by("pk"):
            ours = ScriptSerializer(script, context={"request": request}).data
            theirs = drf_output(ScriptSerializer(script, context={"request": request}), script)
            assert ours == theirs
            assert list(ours) == list(theirs)


@pytest.mark.django_db
def test_a_submission_and_a_poll_cost_few_statements(synced, admin_user, broker):
    client = token_client(admin_user)
    client.post("/api/executions/", SUBMIT, format="json")  # the token's first use is written
    with CaptureQueriesContext(connection) as submitted:
        response = client.post("/api/executions/", SUBMIT, format="json")
    assert response.status_code == 202, response.content
    pk = response.json()["id"]
    with CaptureQueriesContext(connection) as polled:
        response = client.get(f"/api/executions/{pk}/")
    assert response.status_code == 200
    assert response.json()["queue_position"] == 2
    # token; script; savepoint, execution, audit, release; queue position; live workers
    assert len(submitted.captured_queries) == 8, [q["sql"] for q in submitted.captured_queries]
    # token; execution; queue position; live workers
    assert len(polled.captured_queries) == 4, [q["sql"] for q in polled.captured_queries]


@pytest.mark.django_db
def test_a_submission_reads_the_grants_once(synced, alice, broker):
    client = token_client(alice)
    client.post("/api/executions/", SUBMIT, format="json")
    with CaptureQueriesContext(connection) as submitted:
        response = client.post("/api/executions/", SUBMIT, format="json")
    assert response.status_code == 202, response.content
    grants = [q for q in submitted.captured_queries if "access_scriptgrant" in q["sql"]]
    assert len(grants) == 1, grants
    # token; grants; script; savepoint, execution, audit, release; queue position; workers
    assert len(submitted.captured_queries) == 9, [q["sql"] for q in submitted.captured_queries]


@pytest.mark.django_db
def test_a_filter_on_a_single_execution_still_applies(synced, alice, broker):
    client = token_client(alice)
    pk = client.post("/api/executions/", SUBMIT, format="json").json()["id"]
    assert client.get(f"/api/executions/{pk}/").status_code == 200
    assert client.get(f"/api/executions/{pk}/?status=PENDING").status_code == 200
    assert client.get(f"/api/executions/{pk}/?status=SUCCESS").status_code == 404
    assert client.get(f"/api/executions/{pk}/?ordering=nope").status_code == 400
    listed = client.get("/api/executions/?status=SUCCESS").json()
    assert listed["count"] == 0
    assert client.get("/api/executions/").json()["count"] == 1
