"""Live streams re-check access while they run: a viewer who loses the grant is cut off."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from scriptdeck.access import tokens
from scriptdeck.access.models import Level, ScriptGrant
from scriptdeck.api import events
from scriptdeck.catalog.models import Script
from scriptdeck.executions import services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def watched(synced, alice, broker, monkeypatch):
    """A pending run of alice's, and a manager of its script who watches it."""
    monkeypatch.setattr(events, "ACCESS_RECHECK", 0.3)
    script = Script.objects.get(name="fails")
    manager = get_user_model().objects.create_user("manager", "", "manager-pass-1")
    grant = ScriptGrant.objects.create(script=script, user=manager, level=Level.MANAGE)
    return services.submit(script=script, user=alice), manager, grant


async def read_until_closed(response, seconds: float) -> str:
    """What the stream sent until it ended (or ``seconds`` passed: then a TimeoutError)."""
    text = ""

    async def read() -> None:
        nonlocal text
        async for chunk in response.streaming_content:
            text += chunk.decode() if isinstance(chunk, bytes) else chunk

    await asyncio.wait_for(read(), timeout=seconds)
    return text


def watch(client: AsyncClient, pk: int, lose_access, headers: dict | None = None) -> str:
    async def go() -> str:
        response = await client.get(f"/api/executions/{pk}/events/", headers=headers)
        assert response.status_code == 200, response.content
        await asyncio.sleep(0.5)
        await sync_to_async(lose_access)()
        return await read_until_closed(response, 10)

    return asyncio.run(go())


def test_a_stream_ends_when_its_viewer_loses_the_grant(watched):
    execution, manager, grant = watched
    client = AsyncClient()
    client.force_login(manager)
    sent = watch(client, execution.pk, grant.delete)
    assert sent.rstrip().endswith('event: error\ndata: {"detail": "Not found.", "status": 404}')


def test_a_stream_ends_when_its_token_is_revoked(watched):
    execution, manager, _ = watched
    token, key = tokens.create(manager, "watching")
    headers = {"Authorization": f"Token {key}"}
    sent = watch(AsyncClient(), execution.pk, token.delete, headers)
    assert '"status": 401' in sent.rstrip().splitlines()[-1]


def test_a_stream_ends_when_its_session_is_signed_out(watched):
    execution, manager, _ = watched
    client = AsyncClient()
    client.force_login(manager)
    from django.contrib.sessions.models import Session

    sent = watch(client, execution.pk, lambda: Session.objects.all().delete())
    assert '"status": 401' in sent.rstrip().splitlines()[-1]


def test_a_viewer_who_keeps_access_keeps_the_stream(watched):
    execution, manager, _ = watched
    client = AsyncClient()
    client.force_login(manager)
    with pytest.raises(TimeoutError):
        asyncio.run(_watch_for(client, execution.pk, 1.5))


async def _watch_for(client: AsyncClient, pk: int, seconds: float) -> str:
    response = await client.get(f"/api/executions/{pk}/events/")
    return await read_until_closed(response, seconds)
