"""Signing in: a password check that is throttled per address and slowed per user name.

The policy (docs/security.md): failures from one address lock that address for the window;
failures for one name, from however many addresses, only delay that name's next check by a
short, capped wait, and never at all from an address the name has signed in from before.
So nobody can lock an account by guessing its password, and the right password from
another address always gets through.

Each attempt is counted in a ``SignInThrottle`` row by a conditional UPDATE before its
password is checked (a success gives the count back), so concurrent attempts cannot all
read "no failures yet". The rows are shared by every web process; no cache server is needed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from .audit import Action, client_ip
from .models import AuditEvent, SignInThrottle


def _row(key: str, now: datetime) -> SignInThrottle:
    found = SignInThrottle.objects.filter(key=key).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return SignInThrottle.objects.create(key=key, window_start=now, last_attempt=now)
    except IntegrityError:  # another attempt created it first
        return SignInThrottle.objects.get(key=key)


def _window() -> timedelta:
    return timedelta(seconds=settings.SCRIPTDECK_LOGIN_WINDOW)


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _take_address(key: str, now: datetime) -> int:
    """Count one attempt of an address; the seconds to wait instead when it is locked.

    The window starts at the first attempt, and refused attempts do not move it: a lock
    ends when its window does, however often it is tried meanwhile.
    """
    _row(key, now)
    expired = Q(window_start__lte=now - _window())
    taken = (
        SignInThrottle.objects.filter(key=key)
        .filter(expired | Q(attempts__lt=settings.SCRIPTDECK_LOGIN_ATTEMPTS))
        .update(
            attempts=Case(When(expired, then=Value(1)), default=F("attempts") + 1),
            window_start=Case(When(expired, then=Value(now)), default=F("window_start")),
            last_attempt=now,
        )
    )
    if taken:
        return 0
    return _seconds(_row(key, now).window_start + _window() - now)


def _name_delay(attempts: int) -> float:
    """The wait between checks of a name past twice the limit: doubling from 1 s, capped.

    Twice: the failures of one address lock that address first, and leave the name free
    for its owner elsewhere.
    """
    excess = attempts - 2 * settings.SCRIPTDECK_LOGIN_ATTEMPTS
    if excess < 0:
        return 0.0
    return float(min(settings.SCRIPTDECK_LOGIN_NAME_DELAY, 2 ** min(excess, 30)))


def _take_name(key: str, now: datetime) -> int:
    """Count one attempt for a name, or the seconds until its next check may start."""
    row = _row(key, now)
    if row.window_start <= now - _window():
        attempts, start = 0, now
    else:
        attempts, start = row.attempts, row.window_start
    delay = timedelta(seconds=_name_delay(attempts))
    if row.last_attempt + delay > now and attempts:
        return _seconds(row.last_attempt + delay - now)
    # Compare-and-set: of two attempts that read the same row, one goes ahead.
    taken = SignInThrottle.objects.filter(
        key=key, attempts=row.attempts, last_attempt=row.last_attempt
    ).update(attempts=attempts + 1, window_start=start, last_attempt=now)
    return 0 if taken else _seconds(max(delay, timedelta(seconds=1)))


def _known_address(username: str, ip: str) -> bool:
    return AuditEvent.objects.filter(action=Action.LOGIN, actor_name=username, ip=ip).exists()


def _keys(request: Any, username: str | None) -> tuple[str | None, str | None]:
    ip = client_ip(request)
    name = username[:150] if username else None
    address_key = f"ip:{ip}" if ip else None
    name_key = f"name:{name}" if name and not (ip and _known_address(name, ip)) else None
    return address_key, name_key


def take_attempt(request: Any, username: str | None) -> int:
    """Count a sign-in attempt before its password is checked: 0, or the seconds to wait."""
    now = timezone.now()
    address_key, name_key = _keys(request, username)
    if address_key:
        wait = _take_address(address_key, now)
        if wait:
            return wait
    if name_key:
        wait = _take_name(name_key, now)
        if wait:
            if address_key:  # not checked, so not counted against the address
                _give_back(address_key)
            return wait
    return 0


def _give_back(key: str) -> None:
    SignInThrottle.objects.filter(key=key).update(attempts=Greatest(F("attempts") - 1, 0))


def signed_in(request: Any, username: str | None) -> None:
    """The attempt was the right password: its address gets it back, its name starts over."""
    address_key, _ = _keys(request, username)
    if address_key:
        _give_back(address_key)
    if username:
        SignInThrottle.objects.filter(key=f"name:{username[:150]}").update(attempts=0)


def retry_after(request: Any, username: str | None) -> int:
    """Seconds until another attempt is allowed, without counting one; 0 when it is."""
    now = timezone.now()
    address_key, name_key = _keys(request, username)
    rows = {row.key: row for row in SignInThrottle.objects.filter(key__in=[address_key, name_key])}
    wait = timedelta(0)
    address = rows.get(address_key or "")
    if address and address.window_start > now - _window():
        if address.attempts >= settings.SCRIPTDECK_LOGIN_ATTEMPTS:
            wait = address.window_start + _window() - now
    name = rows.get(name_key or "")
    if name and name.window_start > now - _window():
        wait = max(wait, name.last_attempt + timedelta(seconds=_name_delay(name.attempts)) - now)
    return _seconds(wait) if wait > timedelta(0) else 0


class ThrottledModelBackend(ModelBackend):
    """Django's own password check, counted first and refused while throttled."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        wait = take_attempt(request, username)
        if wait:
            if request is not None:
                request.sign_in_wait = wait  # for the door's 429 and its Retry-After
            # Django then stops asking other backends and sends user_login_failed.
            raise PermissionDenied("too many failed sign-ins; wait and try again")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            signed_in(request, username)
        return user


def safe_next(request: Any, target: str | None, fallback: str = "/") -> str:
    """``target`` when it stays on this site; ``fallback`` for anything that leaves it."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def throttled_admin_login(request: Any) -> Any:
    """The admin's login page, answering 429 like the API while sign-ins are throttled."""
    from django.contrib import admin
    from django.http import HttpResponse

    if request.method == "POST":
        wait = retry_after(request, request.POST.get("username"))
        if wait:
            response = HttpResponse(
                f"Too many failed sign-ins; try again in {wait} s.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request)
