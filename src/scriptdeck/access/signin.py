"""Signing in: a password check that is throttled per address and per user name.

Failed attempts are audit events, so the count is shared by every web process and
survives a restart; no cache server is needed.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from .audit import Action, client_ip
from .models import AuditEvent


def retry_after(request: Any, username: str | None) -> int:
    """Seconds until another attempt is allowed; 0 when it is allowed now."""
    limit = settings.SCRIPTDECK_LOGIN_ATTEMPTS
    window = timedelta(seconds=settings.SCRIPTDECK_LOGIN_WINDOW)
    now = timezone.now()
    since = now - window
    ip = client_ip(request)
    wait = 0.0
    checks = []
    if ip:
        checks.append(Q(ip=ip))
    if username:
        checks.append(Q(actor_name=username[:150]))
    for check in checks:
        failures = AuditEvent.objects.filter(check, action=Action.LOGIN_FAILED, at__gte=since)
        if failures.count() >= limit:
            # Allowed again once the oldest of the last ``limit`` failures leaves the window.
            recent = list(failures.order_by("-at").values_list("at", flat=True)[:limit])
            oldest = recent[-1]
            wait = max(wait, (oldest + window - now).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


class ThrottledModelBackend(ModelBackend):
    """Django's own password check, refused while an address or a name is throttled."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if retry_after(request, username):
            # Django then stops asking other backends and sends user_login_failed.
            raise PermissionDenied("too many failed sign-ins; wait and try again")
        return super().authenticate(request, username=username, password=password, **kwargs)


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
