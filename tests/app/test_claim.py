"""A worker's claim of a run and its end: one claim per run, whatever the timing; what
the end stores.

Run on SQLite and again on PostgreSQL (``make test-postgres``), where the claim is one
conditional UPDATE that a concurrent second delivery must wait for and then lose.
"""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connections, transaction

from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.executions.models import ResultRecord, Status, TaskExecution
from scriptdeck.executions.services.storable import jsonable
from scriptdeck.worker.execute import execute

pytestmark = pytest.mark.django_db(transaction=True)


def claim_in_thread(execution_id: int, results: list, started: threading.Event) -> threading.Thread:
    def work() -> None:
        try:
            started.set()
            results.append(services.start(execution_id, "second-worker", 2))
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_a_second_delivery_waits_for_the_first_claim_and_starts_nothing(synced, alice, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    results: list = []
    started = threading.Event()
    with transaction.atomic():
        first = services.start(execution.pk, "first-worker", 1)
        assert first is not None and first.status == Status.STARTED
        # The first claim is not committed yet: the second one must wait for it, not
        # decide on what it saw before (on PostgreSQL: the row lock, then a re-check).
        thread = claim_in_thread(execution.pk, results, started)
        started.wait(10)
        thread.join(timeout=0.5)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert results == [None]
    row = TaskExecution.objects.get(pk=execution.pk)
    assert (row.status, row.worker_host, row.worker_pid) == (Status.STARTED, "first-worker", 1)


def test_a_claim_of_an_ended_run_starts_nothing(synced, alice, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    execute(execution.pk)
    assert services.start(execution.pk, "late-worker", 3) is None
    row = TaskExecution.objects.get(pk=execution.pk)
    assert row.status == Status.FAILURE and row.worker_host != "late-worker"


def test_the_result_record_holds_what_the_row_stores(synced, alice, broker):
    script = Script.objects.get(name="scan_dev_update")
    execution = services.submit(
        script=script, user=alice, parameters={"target": "rack-7"}, page_context="ctx"
    )
    assert execute(execution.pk) == "finished"
    row = TaskExecution.objects.get(pk=execution.pk)
    assert row.status == Status.SUCCESS, row.error_message
    record = ResultRecord.objects.get(execution=row)
    assert record.execution_time == row.execution_time
    assert record.scandevresult_time == row.completed_at
    assert record.task_id == str(row.task_id)
    assert record.page_context == "ctx"
    assert record.script_name == row.script_name
    assert json.loads(record.scandevresult_content) == row.result


def test_a_plain_result_is_stored_as_it_is_and_nul_characters_are_replaced():
    big = {"type": "text", "content": "x" * 1_000_000, "items": [1, 2.5, None, True]}
    assert jsonable(big) is big  # no copy of a big text result
    odd = {"a\x00": ["b\x00", (1, 2)], "when": Status.SUCCESS}
    assert jsonable(odd) == {"a\ufffd": ["b\ufffd", [1, 2]], "when": "SUCCESS"}
    assert jsonable({1: "one"}) == {"1": "one"}
