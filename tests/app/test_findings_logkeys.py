"""Webhook and API keys never reach a log line whole, whatever path or message holds them."""

from __future__ import annotations

import logging
import secrets

import pytest
from django.test import Client

from scriptdeck.access.tokens import KEY_PREFIX as TOKEN_PREFIX
from scriptdeck.automation.webhooks import KEY_PREFIX as HOOK_PREFIX

HOOK_KEY = HOOK_PREFIX + secrets.token_urlsafe(32)
API_KEY = TOKEN_PREFIX + secrets.token_urlsafe(32)


def everything_logged(caplog) -> str:
    lines = [record.getMessage() for record in caplog.records]
    return "\n".join(lines) + caplog.text


@pytest.mark.parametrize(
    "path",
    [
        f"/api//hooks/{HOOK_KEY}/",
        f"/api/hooks/{HOOK_KEY}/extra/",
        f"/api/hooks/{HOOK_KEY}x/",
        f"/nowhere/{HOOK_KEY}",
    ],
)
def test_a_near_miss_path_logs_no_key(db, caplog, path):
    caplog.set_level(logging.INFO)

    response = Client().post(path, {}, content_type="application/json")

    assert response.status_code in (404, 405)
    logged = everything_logged(caplog)
    assert path.split(HOOK_KEY)[0] in logged  # the line is there, without the key
    assert HOOK_KEY not in logged
    assert HOOK_KEY[:9] in logged


@pytest.mark.parametrize("key", [HOOK_KEY, API_KEY])
def test_a_key_in_any_message_or_argument_is_cut(caplog, key):
    caplog.set_level(logging.INFO)
    log = logging.getLogger("scriptdeck.anywhere")

    log.warning("called with %s", key)
    log.warning(f"Authorization: Token {key}")
    log.warning("as a mapping: %(key)s", {"key": key})
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        log.exception("failed")

    assert key not in everything_logged(caplog)
    assert key[: len(key.split("_")[0]) + 7] in caplog.text
