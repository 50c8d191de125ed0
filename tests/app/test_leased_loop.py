"""The leased loop that the sweeper and the scheduler share: one holder works at a time."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from scriptdeck.executions import leases
from scriptdeck.executions.models import Lease

# The loops call close_old_connections(), which drops a connection inside a test's atomic
# block; these tests commit for real instead.
pytestmark = pytest.mark.django_db(transaction=True)

log = logging.getLogger("scriptdeck.tests.leased")


def one_pass(holder: str, work) -> None:
    leases.run_leased(
        "job",
        holder,
        work=work,
        stop=threading.Event(),
        interval=0,
        lease_seconds=60,
        log=log,
        failure="job pass failed",
        once=True,
    )


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == log.name]


def test_only_the_holder_works_and_the_other_takes_over_once_it_releases(caplog):
    caplog.set_level(logging.INFO, logger=log.name)
    stop = threading.Event()
    done: list[str] = []

    def work_of_a() -> None:
        done.append("a")
        # b makes a pass while a holds the lease: it stands by and leaves a's lease alone.
        one_pass("b", lambda: done.append("b"))
        assert Lease.objects.get(name="job").holder == "a"
        if done.count("a") == 2:
            stop.set()

    leases.run_leased(
        "job",
        "a",
        work=work_of_a,
        stop=stop,
        interval=0,
        lease_seconds=60,
        log=log,
        failure="job pass failed",
    )

    assert done == ["a", "a"]
    assert not Lease.objects.filter(name="job").exists()  # released at stop
    one_pass("b", lambda: done.append("b"))
    assert done == ["a", "a", "b"]
    assert messages(caplog) == [
        "job a is active",
        "job b is standing by",
        "job b is standing by",
        "job b is active",
    ]


def test_the_other_holder_takes_over_when_the_lease_lapses():
    done: list[str] = []
    assert leases.acquire("job", "a", 60)  # a holds it, then stops renewing

    one_pass("b", lambda: done.append("b"))
    assert done == []
    Lease.objects.filter(name="job").update(expires_at=timezone.now() - timedelta(seconds=1))
    one_pass("b", lambda: done.append("b"))
    assert done == ["b"]


def test_a_failed_pass_is_logged_and_the_next_one_comes(caplog):
    stop = threading.Event()
    passes: list[int] = []

    def work() -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise RuntimeError("the first pass breaks")
        stop.set()

    leases.run_leased(
        "job",
        "a",
        work=work,
        stop=stop,
        interval=0,
        lease_seconds=60,
        log=log,
        failure="job pass failed",
    )

    assert passes == [0, 1]
    failed = [r for r in caplog.records if r.getMessage() == "job pass failed; trying again in 0 s"]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert not Lease.objects.filter(name="job").exists()


def test_a_database_down_at_the_lease_is_a_failed_pass_and_not_a_crash(caplog):
    done: list[str] = []
    with mock.patch.object(leases, "acquire", side_effect=OperationalError("database is down")):
        one_pass("a", lambda: done.append("a"))
    assert done == []
    assert "job pass failed; trying again in 0 s" in messages(caplog)


def test_a_release_that_fails_is_a_warning_the_lease_lapses_by_itself(caplog):
    done: list[str] = []
    with mock.patch.object(leases, "release", side_effect=OperationalError("database is down")):
        one_pass("a", lambda: done.append("a"))
    assert done == ["a"]
    assert "could not release the job lease; it lapses by itself" in messages(caplog)
    assert Lease.objects.get(name="job").holder == "a"


def test_a_holder_standing_by_at_stop_releases_nothing_of_the_others():
    assert leases.acquire("job", "a", 60)
    one_pass("b", lambda: None)
    assert Lease.objects.get(name="job").holder == "a"
