"""Notification targets on loopback, link-local, private or reserved addresses are refused."""

from __future__ import annotations

import socket

import pytest

from scriptdeck.automation import delivery
from scriptdeck.automation.models import NotificationDelivery, NotificationRule
from scriptdeck.automation.services import check_notification_rule
from scriptdeck.config import parse_networks
from scriptdeck.refusals import Refusal

INSIDE = [
    "http://127.0.0.1/",
    "http://localhost:8000/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/",
    "http://192.168.1.1/",
    "http://0.0.0.0/",
    "http://2130706433/",  # 127.0.0.1 in decimal
    "http://0x7f000001/",  # in hex
    "http://0177.0.0.1/",  # in octal
    "http://127.1/",  # shortened
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[fe80::1]/",
]


def values(target: str) -> dict:
    return {"script": 1, "on_failure": True, "channel": "webhook", "target": target}


@pytest.mark.parametrize("target", INSIDE)
def test_a_rule_aimed_inside_is_refused_when_saved(target):
    with pytest.raises(Refusal) as refused:
        check_notification_rule(values(target))

    assert refused.value.field == "target"
    assert "SCRIPTDECK_ALLOW_PRIVATE_TARGETS" in refused.value.errors["target"][0]


def test_a_public_address_is_accepted():
    assert check_notification_rule(values("https://93.184.215.14/hook"))["target"]


def test_a_range_named_in_the_setting_is_allowed(settings):
    settings.SCRIPTDECK_ALLOW_PRIVATE_TARGETS = parse_networks("127.0.0.0/8, 10.0.0.5")

    assert check_notification_rule(values("http://2130706433/"))["target"]
    assert check_notification_rule(values("http://10.0.0.5/"))["target"]
    with pytest.raises(Refusal):
        check_notification_rule(values("http://10.0.0.6/"))


def unsent(target: str) -> NotificationDelivery:
    return NotificationDelivery(target=target, rule=NotificationRule(signing_secret=""))


def test_a_name_that_resolves_inside_by_the_time_it_is_sent_is_refused(monkeypatch):
    posted = []
    monkeypatch.setattr("httpx.post", lambda *args, **kwargs: posted.append(args))
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *args, **kwargs: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
        ],
    )

    with pytest.raises(delivery.DeliveryRefused, match="127.0.0.1"):
        delivery.send_http(unsent("https://hooks.example/x"))
    assert posted == []
