"""Sign-in throttling: counted atomically, and no lock-out of the right password elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from scriptdeck.access.models import SignInThrottle

LOGIN = "/api/auth/login/"
WRONG = {"username": "root", "password": "guess"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(db):
    return get_user_model().objects.create_superuser("root", "", "root-pass-1")


def sign_in(name: str, password: str, ip: str):
    return APIClient().post(
        LOGIN, {"username": name, "password": password}, format="json", REMOTE_ADDR=ip
    )


def test_attempts_in_flight_together_are_counted_before_their_passwords_are_checked(
    admin, monkeypatch
):
    """40 attempts whose checks all overlap: each starts while the others are being checked.

    Each password check starts the next attempt before it answers, so no failure has been
    recorded when the next one asks whether it may go ahead: what concurrent requests see.
    """
    checked = []
    started = []
    real_check = ModelBackend.authenticate

    def overlapping_check(self, request, username=None, password=None, **kwargs):
        checked.append(username)
        if len(started) < 40:
            started.append(username)
            authenticate(RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.1"), **WRONG)
        return real_check(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", overlapping_check)

    first = sign_in("root", "guess-0", "10.0.0.1")

    assert first.status_code == 400
    assert len(started) == 5  # the sixth attempt was refused without a check
    assert len(checked) == 5


def test_five_wrong_passwords_from_one_address_do_not_lock_the_name_elsewhere(admin):
    for attempt in range(5):
        assert sign_in("root", f"guess-{attempt}", "10.0.0.1").status_code == 400

    assert sign_in("root", "root-pass-1", "10.0.0.1").status_code == 429
    assert sign_in("root", "root-pass-1", "10.0.0.2").status_code == 200


def test_many_addresses_only_slow_a_name_down_briefly(admin, settings):
    for attempt in range(10):
        assert sign_in("root", "guess", f"10.0.1.{attempt}").status_code == 400

    slowed = sign_in("root", "root-pass-1", "10.0.2.1")

    assert slowed.status_code == 429
    assert 0 < int(slowed["Retry-After"]) <= settings.SCRIPTDECK_LOGIN_NAME_DELAY
    # Once the short delay has passed, the right password is checked and signs in.
    SignInThrottle.objects.filter(key="name:root").update(
        last_attempt=timezone.now() - timedelta(seconds=settings.SCRIPTDECK_LOGIN_NAME_DELAY)
    )
    assert sign_in("root", "root-pass-1", "10.0.2.1").status_code == 200


def test_an_address_the_name_signed_in_from_is_never_slowed_by_others(admin):
    assert sign_in("root", "root-pass-1", "10.0.3.1").status_code == 200
    for attempt in range(20):
        sign_in("root", "guess", f"10.0.4.{attempt}")

    assert sign_in("root", "root-pass-1", "10.0.3.1").status_code == 200


def test_a_lock_is_not_renewed_by_attempts_while_it_holds(admin, settings):
    for attempt in range(5):
        sign_in("root", f"guess-{attempt}", "10.0.5.1")
    first = int(sign_in("root", "guess", "10.0.5.1")["Retry-After"])
    SignInThrottle.objects.filter(key="ip:10.0.5.1").update(
        window_start=timezone.now() - timedelta(seconds=settings.SCRIPTDECK_LOGIN_WINDOW - 2)
    )
    for _ in range(3):
        assert sign_in("root", "guess", "10.0.5.1").status_code == 429

    assert int(sign_in("root", "guess", "10.0.5.1")["Retry-After"]) <= 2 < first
