"""X-Forwarded-For is believed only from SCRIPTDECK_TRUSTED_PROXIES."""

from __future__ import annotations

import argparse

import pytest
from rest_framework.test import APIClient

from scriptdeck.access.models import AuditEvent
from scriptdeck.config import ConfigurationError, parse_networks


def failed_sign_in_address(remote: str, forwarded: str) -> str | None:
    APIClient().post(
        "/api/auth/login/",
        {"username": "someone", "password": "wrong"},
        format="json",
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return AuditEvent.objects.filter(action="login.failed").latest("id").ip


def test_a_forwarded_address_from_loopback_is_not_believed_by_default(db):
    assert failed_sign_in_address("127.0.0.1", "203.0.113.7") == "127.0.0.1"


def test_a_trusted_proxy_names_the_client(db, settings):
    settings.SCRIPTDECK_TRUSTED_PROXIES = parse_networks("127.0.0.1, 10.1.0.0/16")

    assert failed_sign_in_address("127.0.0.1", "203.0.113.7") == "203.0.113.7"
    # The client may send its own header: only what the trusted hops added counts.
    assert failed_sign_in_address("127.0.0.1", "6.6.6.6, 203.0.113.8, 10.1.2.3") == ("203.0.113.8")
    assert failed_sign_in_address("10.9.9.9", "203.0.113.7") == "10.9.9.9"
    assert failed_sign_in_address("127.0.0.1", "not-an-address") == "127.0.0.1"


def test_the_setting_refuses_what_is_not_an_address():
    with pytest.raises(ConfigurationError):
        parse_networks("127.0.0.1, localhost", "SCRIPTDECK_TRUSTED_PROXIES")


def test_the_web_server_leaves_proxy_headers_to_the_application(monkeypatch):
    import uvicorn

    from scriptdeck.cli import server

    given = {}
    monkeypatch.setenv("SCRIPTDECK_DB_POOL", "false")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: given.update(options))

    server.cmd_web(argparse.Namespace(host="127.0.0.1", port=0, loglevel="INFO"))

    assert given["proxy_headers"] is False
