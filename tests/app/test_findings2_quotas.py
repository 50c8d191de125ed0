"""Per-user quotas: uploads kept (count and bytes), open live streams, schedules owned."""

from __future__ import annotations

import asyncio

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient

from scriptdeck.api import events
from scriptdeck.automation.models import Schedule
from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.executions.models import Status, TaskExecution


def upload(client, content: bytes):
    return client.post(
        "/api/uploads/", {"file": SimpleUploadedFile("f.bin", content)}, format="multipart"
    )


def test_uploads_past_the_count_or_the_bytes_quota_are_refused(
    synced, alice_client, admin_client, settings
):
    settings.SCRIPTDECK_QUOTA_UPLOADS = 2
    settings.SCRIPTDECK_QUOTA_UPLOAD_BYTES = 1000
    assert upload(alice_client, b"a" * 400).status_code == 201
    over_bytes = upload(alice_client, b"b" * 700)
    assert over_bytes.status_code == 400
    assert "SCRIPTDECK_QUOTA_UPLOAD_BYTES" in over_bytes.json()["file"][0]
    assert upload(alice_client, b"c" * 100).status_code == 201
    over_count = upload(alice_client, b"d")
    assert over_count.status_code == 400
    assert "SCRIPTDECK_QUOTA_UPLOADS" in over_count.json()["error"]
    assert over_count.headers["Refusal-Code"] == "quota"
    assert upload(admin_client, b"e" * 2000).status_code == 201  # staff have no quota


def test_schedules_past_the_quota_are_refused_naming_it(synced, alice_client, settings):
    settings.SCRIPTDECK_QUOTA_SCHEDULES = 1
    script = Script.objects.get(name="scan_dev_update").pk
    base = {"name": "s", "script": script, "interval_seconds": 60}
    assert alice_client.post("/api/schedules/", base, format="json").status_code == 201
    refused = alice_client.post("/api/schedules/", {**base, "name": "t"}, format="json")
    assert refused.status_code == 400
    assert "SCRIPTDECK_QUOTA_SCHEDULES" in refused.json()["schedules"][0]
    assert Schedule.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_live_streams_past_the_quota_get_429(synced, alice, broker, settings):
    settings.SCRIPTDECK_QUOTA_STREAMS = 2
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    url = f"/api/executions/{execution.pk}/events/"

    async def go() -> tuple[list[int], int]:
        client = AsyncClient()
        await asyncio.to_thread(client.force_login, alice)
        opened = []
        readers = []
        for _ in range(2):
            response = await client.get(url)
            opened.append(response.status_code)
            iterator = aiter(response.streaming_content)
            await anext(iterator)  # the stream is open
            readers.append(iterator)
        third = await client.get(url)
        return [*opened, third.status_code], dict(events.open_streams)

    codes, counted = asyncio.run(go())
    assert codes == [200, 200, 429]
    assert counted == {alice.pk: 2}
    events.open_streams.clear()


@pytest.mark.django_db(transaction=True)
def test_a_closed_or_finished_stream_gives_its_place_back(synced, alice, broker, settings):
    settings.SCRIPTDECK_QUOTA_STREAMS = 2
    running = services.submit(script=Script.objects.get(name="fails"), user=alice)
    done = services.submit(script=Script.objects.get(name="fails"), user=alice)
    TaskExecution.objects.filter(pk=done.pk).update(status=Status.FAILURE)

    async def go() -> list[object]:
        client = AsyncClient()
        await asyncio.to_thread(client.force_login, alice)
        seen: list[object] = []

        async def open_one(pk: int):
            response = await client.get(f"/api/executions/{pk}/events/")
            assert response.status_code == 200
            iterator = aiter(response.streaming_content)
            await anext(iterator)
            return response, iterator

        first, first_events = await open_one(running.pk)
        second, second_events = await open_one(running.pk)
        seen.append((await client.get(f"/api/executions/{running.pk}/events/")).status_code)
        # Closed: the client went away; the server stops reading and closes the response.
        await first_events.aclose()
        await asyncio.to_thread(first.close)
        seen.append(dict(events.open_streams))
        # Exhausted: a finished run's stream ends after its last event.
        _, finished = await open_one(done.pk)
        seen.append([part async for part in finished][-1].startswith(b"event: end"))
        seen.append(dict(events.open_streams))
        third, third_events = await open_one(running.pk)
        seen.append(dict(events.open_streams))
        for response, iterator in ((second, second_events), (third, third_events)):
            await iterator.aclose()
            await asyncio.to_thread(response.close)
        seen.append(dict(events.open_streams))
        return seen

    try:
        seen = asyncio.run(go())
    finally:
        events.open_streams.clear()
    assert seen == [429, {alice.pk: 1}, True, {alice.pk: 1}, {alice.pk: 2}, {}]


@pytest.mark.django_db(transaction=True)
def test_a_stream_that_ends_gives_its_place_back_by_itself(synced, alice, broker):
    done = services.submit(script=Script.objects.get(name="fails"), user=alice)
    TaskExecution.objects.filter(pk=done.pk).update(status=Status.FAILURE)

    async def go() -> tuple[dict, str, dict]:
        seat = events.Seat(alice.pk)
        counted = dict(events.open_streams)
        parts = [part async for part in events.stream(done.pk, 0, None, seat)]
        return counted, parts[-1], dict(events.open_streams)

    try:
        counted, last, after = asyncio.run(go())
    finally:
        events.open_streams.clear()
    assert counted == {alice.pk: 1}
    assert last.startswith("event: end")
    assert after == {}
