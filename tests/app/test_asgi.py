"""The ASGI application uvicorn serves: sync views through one thread, answers unchanged.

Each request goes through ``scriptdeck.asgi.application`` and through Django's own
``ASGIHandler`` with the same middleware; the two answers must be the same.
"""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_started

from scriptdeck.access import tokens
from scriptdeck.asgi import application
from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.worker.execute import execute

pytestmark = pytest.mark.django_db(transaction=True)

# Headers that differ between two answers whatever serves them.
VARYING = {"date", "set-cookie", "content-length"}


def ask(app: object, method: str, path: str, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, path, **kwargs)

    return asyncio.run(go())


def same_answer(method: str, path: str, **kwargs: object) -> httpx.Response:
    ours = ask(application, method, path, **kwargs)
    django = ask(ASGIHandler(), method, path, **kwargs)
    assert ours.status_code == django.status_code, (path, ours.text, django.text)
    shown = {k: v for k, v in ours.headers.items() if k not in VARYING}
    assert shown == {k: v for k, v in django.headers.items() if k not in VARYING}, path
    return ours


@pytest.fixture(autouse=True)
def closed_after_each_request(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each request runs in a thread of its own, which ends with it: its connection must
    # not outlive it (the web server takes them from a pool instead).
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)


@pytest.fixture
def token(alice) -> dict[str, str]:
    _, key = tokens.create(alice, "asgi")
    return {"Authorization": f"Token {key}"}


def test_api_answers_are_those_of_djangos_own_handler(synced, alice, token, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    execute(execution.pk)
    for path in (f"/api/executions/{execution.pk}/", "/api/executions/?page_size=5", "/healthz"):
        ours = same_answer("GET", path, headers=token)
        assert ours.status_code == 200, ours.text
        assert ours.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in ours.headers["content-security-policy"]
    assert same_answer("GET", "/api/executions/987654/", headers=token).status_code == 404
    assert same_answer("GET", "/api/no-such-thing/", headers=token).status_code == 404
    refused = same_answer("GET", "/api/executions/", headers={"Authorization": "Token sdk_x"})
    assert refused.status_code == 401


def test_a_submit_and_its_refusals_are_those_of_djangos_own_handler(synced, alice, token, broker):
    body = {"script": "fails", "parameters": {}}
    assert same_answer("POST", "/api/executions/", json=body, headers=token).status_code == 202
    bad = {"script": "fails", "parameters": ["not", "an", "object"]}
    refused = same_answer("POST", "/api/executions/", json=bad, headers=token)
    assert refused.status_code == 400 and "parameters" in refused.json()
    big = same_answer(
        "POST",
        "/api/executions/",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={**token, "Content-Type": "application/json"},
    )
    assert big.status_code == 413


def test_a_sync_view_runs_in_the_thread_where_the_request_began(synced, alice, token, broker):
    threads: dict[str, int] = {}

    def began(**_: object) -> None:
        threads["request_started"] = threading.get_ident()

    original = application.sync_handler.get_response

    def view_chain(request: object) -> object:
        threads["middleware and view"] = threading.get_ident()
        return original(request)

    request_started.connect(began)
    application.sync_handler.get_response = view_chain
    try:
        response = ask(application, "GET", "/api/executions/", headers=token)
    finally:
        del application.sync_handler.get_response
        request_started.disconnect(began)
    assert response.status_code == 200
    # One thread for the request's connection, its middleware and its view.
    assert threads["middleware and view"] == threads["request_started"], threads


def test_an_async_view_is_served_on_the_event_loop(synced, alice, token, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    execute(execution.pk)
    called = []
    application.sync_handler.get_response = lambda request: called.append(request)
    try:
        response = ask(
            application, "GET", f"/api/executions/{execution.pk}/wait/?timeout=5", headers=token
        )
    finally:
        del application.sync_handler.get_response
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "FAILURE"
    assert called == []  # the sync chain never saw it
