"""A run's record survives a database that is away for a few seconds."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.executions.models import EventKind, ExecutionEvent
from scriptdeck.worker import live
from scriptdeck.worker.persistence import persist


class Blinking:
    """Fails like a restarting database for the first ``failures`` calls."""

    def __init__(self, failures: int, then=lambda: "written") -> None:
        self.failures = failures
        self.calls = 0
        self.then = then

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError("server closed the connection unexpectedly")
        return self.then(*args, **kwargs)


def test_a_write_is_retried_until_the_database_is_back(db):
    write = Blinking(failures=2)
    assert persist(write, "a test write", within=10) == "written"
    assert write.calls == 3


def test_a_write_gives_up_after_its_deadline_with_the_error(db):
    write = Blinking(failures=100)
    with pytest.raises(OperationalError):
        persist(write, "a test write", within=1)
    assert 1 < write.calls < 5


def test_output_written_while_the_database_was_away_is_stored_at_the_end(
    synced, alice, broker, monkeypatch
):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    services.start(execution.pk, "w", 1)
    store = Blinking(failures=3, then=services.store_events)
    monkeypatch.setattr(live.services, "store_events", store)
    sink = live.LiveSink(execution.pk, output_limit=1024 * 1024)
    sink.on_output("stdout", b"first ")
    sink.flush()  # the database is away: kept
    sink.on_output("stdout", b"second\n")
    sink.close(within=10)
    text = "".join(
        ExecutionEvent.objects.filter(execution=execution, kind=EventKind.STDOUT)
        .order_by("seq")
        .values_list("text", flat=True)
    )
    assert text == "first second\n"
    assert store.calls >= 4
