"""The execution list's ``ordering``: every key both ways, across pages, ties, refusals, access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from scriptdeck.access.models import Level, ScriptGrant
from scriptdeck.api.filters import ORDERING_FIELDS
from scriptdeck.catalog.models import Script
from scriptdeck.executions.models import Status, TaskExecution

from .conftest import client_for

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
KEYS = sorted(ORDERING_FIELDS)
PAGE = 4


def record(script: Script, user: Any, n: int, **values: Any) -> TaskExecution:
    execution = TaskExecution.objects.create(
        script=script,
        script_name=values.pop("script_name", script.name),
        script_path=script.path,
        user=user,
        **values,
    )
    # created_at is set on insert; ties on purpose: every third run shares its minute
    TaskExecution.objects.filter(pk=execution.pk).update(
        created_at=T0 + timedelta(minutes=n - n % 3)
    )
    return execution


@pytest.fixture
def runs(synced, alice, bob, admin_user) -> list[TaskExecution]:
    """Fourteen runs by alice, bob, staff and a removed user, with ties and empty values."""
    scripts = [Script.objects.get(name=n) for n in ("fails", "scan_dev_update", "ops/hello")]
    users = [alice, bob, admin_user, None]
    statuses = [Status.SUCCESS, Status.FAILURE, Status.STARTED, Status.PENDING, Status.CANCELLED]
    made = []
    for n in range(14):
        status = statuses[n % len(statuses)]
        started = status != Status.PENDING
        ended = status not in (Status.PENDING, Status.STARTED)
        made.append(
            record(
                scripts[n % 3],
                users[n % 4],
                n,
                status=status,
                started_at=T0 + timedelta(minutes=n, seconds=7 - n % 2) if started else None,
                completed_at=T0 + timedelta(minutes=n + 2 - n % 2) if ended else None,
                execution_time=float(n % 4) if ended else None,  # ties: 0, 1, 2, 3 again
                memory_usage=[12.5, 3.0, 40.25][n % 3] if ended else None,
            )
        )
    return [TaskExecution.objects.select_related("user").get(pk=e.pk) for e in made]


def value_of(execution: TaskExecution, key: str) -> Any:
    if key == "user":
        return execution.user.username if execution.user else None
    return getattr(execution, key)


def expected(runs: list[TaskExecution], ordering: str) -> list[int]:
    """What ``ordering`` must give: by the key, empty values last, ties by id in its direction."""
    descending = ordering.startswith("-")
    key = ordering.lstrip("-")
    present = [r for r in runs if value_of(r, key) is not None]
    empty = [r for r in runs if value_of(r, key) is None]
    present.sort(key=lambda r: (value_of(r, key), r.pk), reverse=descending)
    empty.sort(key=lambda r: r.pk, reverse=descending)
    return [r.pk for r in present + empty]


def every_page(client: Any, **query: Any) -> list[int]:
    """The ids of every page in turn, checking each page continues where the last ended."""
    ids: list[int] = []
    page = 1
    while True:
        answer = client.get("/api/executions/", {**query, "page": page, "page_size": PAGE})
        assert answer.status_code == 200, answer.json()
        body = answer.json()
        ids += [row["id"] for row in body["results"]]
        if not body["next"]:
            assert len(ids) == body["count"]
            return ids
        assert len(body["results"]) == PAGE
        page += 1


@pytest.mark.parametrize("ordering", [*KEYS, *(f"-{key}" for key in KEYS)])
def test_each_key_orders_the_whole_list_across_pages(runs, admin_user, ordering):
    listed = every_page(client_for(admin_user), ordering=ordering)
    assert listed == expected(runs, ordering)
    assert len(set(listed)) == len(runs)  # no row twice, none skipped between pages


def test_the_keys_are_the_listed_columns():
    assert set(ORDERING_FIELDS) == {
        "id",
        "created_at",
        "started_at",
        "completed_at",
        "execution_time",
        "memory_usage",
        "status",
        "script_name",
        "user",
    }


def test_the_id_breaks_ties_in_the_first_keys_direction(runs, admin_user):
    client = client_for(admin_user)
    for ordering in ("status", "-status", "created_at", "-created_at"):
        listed = every_page(client, ordering=ordering)
        key = ordering.lstrip("-")
        by_value: dict[Any, list[int]] = {}
        for pk in listed:
            by_value.setdefault(value_of(next(r for r in runs if r.pk == pk), key), []).append(pk)
        assert any(len(ids) > 1 for ids in by_value.values())  # there are ties to break
        for ids in by_value.values():
            assert ids == sorted(ids, reverse=ordering.startswith("-")), ordering


def test_several_keys_apply_in_turn_then_the_id(runs, admin_user):
    listed = every_page(client_for(admin_user), ordering="script_name,-execution_time")

    def sort_key(r: TaskExecution) -> tuple:
        # script name ascending; time descending with empty last; the id ascending
        missing = r.execution_time is None
        return (r.script_name, missing, -(r.execution_time or 0), r.pk)

    assert listed == [r.pk for r in sorted(runs, key=sort_key)]


def test_no_ordering_is_newest_first_as_before(runs, admin_user):
    listed = every_page(client_for(admin_user))
    assert listed == [r.pk for r in sorted(runs, key=lambda r: (r.created_at, r.pk), reverse=True)]
    assert every_page(client_for(admin_user), ordering="") == listed


@pytest.mark.parametrize(
    "ordering",
    ["bogus", "-bogus", "user__username", "completed", "secret_parameters", "status,nope"],
)
def test_an_unknown_key_is_a_400_naming_ordering(runs, admin_user, ordering):
    answer = client_for(admin_user).get("/api/executions/", {"ordering": ordering})
    assert answer.status_code == 400
    body = answer.json()
    assert list(body) == ["ordering", "error"]
    bad = ordering.split(",")[-1]
    assert bad in body["ordering"][0]
    assert body["error"].startswith("ordering: ")


def test_ordering_never_shows_what_the_user_may_not_see(runs, alice, bob):
    alices = {r.pk for r in runs if r.user_id == alice.pk}
    for key in KEYS:
        for ordering in (key, f"-{key}"):
            assert set(every_page(client_for(alice), ordering=ordering)) == alices, ordering
    # managing a script shows its runs by everyone, whatever the order; nothing more
    fails = Script.objects.get(name="fails")
    ScriptGrant.objects.create(script=fails, user=bob, level=Level.MANAGE)
    bobs = {r.pk for r in runs if r.user_id == bob.pk or r.script_id == fails.pk}
    for ordering in ("user", "-user", "script_name", "-memory_usage"):
        listed = every_page(client_for(bob), ordering=ordering)
        assert set(listed) == bobs, ordering
        assert listed == [pk for pk in expected(runs, ordering) if pk in bobs]


def test_ordering_applies_after_the_filters(runs, admin_user):
    listed = every_page(client_for(admin_user), ordering="-memory_usage", status="SUCCESS")
    successes = [r for r in runs if r.status == Status.SUCCESS]
    assert listed == expected(successes, "-memory_usage")


def test_page_size_is_honoured_up_to_a_limit(runs, admin_user):
    client = client_for(admin_user)
    assert len(client.get("/api/executions/", {"page_size": 5}).json()["results"]) == 5
    assert len(client.get("/api/executions/").json()["results"]) == len(runs)  # 50 by default
    for n in range(200):  # past the largest page
        record(Script.objects.get(name="fails"), None, 100 + n, status=Status.SUCCESS)
    assert len(client.get("/api/executions/", {"page_size": 1000}).json()["results"]) == 200


def test_the_schema_lists_the_ordering_keys(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/executions/"]["get"]["parameters"]
    ordering = next(p for p in parameters if p["name"] == "ordering")
    assert ordering["in"] == "query"
    assert ordering["explode"] is False  # comma-separated
    enum = set(ordering["schema"]["items"]["enum"])
    assert enum == {*KEYS, *(f"-{key}" for key in KEYS)}
    page_size = next(p for p in parameters if p["name"] == "page_size")
    assert page_size["schema"]["type"] == "integer"


def test_a_removed_user_sorts_with_the_empty_values(runs, admin_user):
    gone = get_user_model().objects.create_user("zed", "", "zed-pass-1")
    TaskExecution.objects.filter(pk=runs[0].pk).update(user=gone)
    gone.delete()  # the run stays, without a user
    now = list(TaskExecution.objects.select_related("user"))
    assert TaskExecution.objects.get(pk=runs[0].pk).user is None
    for ordering in ("user", "-user"):
        listed = every_page(client_for(admin_user), ordering=ordering)
        assert listed == expected(now, ordering)
        assert runs[0].pk in listed[-4:]
