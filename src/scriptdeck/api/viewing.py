"""Who may watch a run: the check of a live stream or a wait, made again while it lasts."""

from __future__ import annotations

import copy
import json
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import SimpleLazyObject
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from scriptdeck.access import permissions
from scriptdeck.access.authentication import ApiTokenAuthentication
from scriptdeck.executions.models import TaskExecution
from scriptdeck.refusals import WHOLE_REQUEST, NotFound

from .errors import refusal_json


def authorize(request: HttpRequest, pk: int) -> HttpResponse | None:
    """The answer refusing ``request`` a look at execution ``pk``, or None when it may."""
    # Its own thread and connection: closed at once, or every open stream would keep
    # one database connection for its whole life (200 viewers: 200 connections).
    try:
        return check_access(request, pk)
    finally:
        if not connection.in_atomic_block:  # a test's transaction owns it otherwise
            connection.close()


def check_access(request: HttpRequest, pk: int) -> HttpResponse | None:
    drf_request = Request(
        request, authenticators=[ApiTokenAuthentication(), SessionAuthentication()]
    )
    try:
        user = drf_request.user
    except APIException as exc:
        return JsonResponse({"detail": str(exc.detail)}, status=401)
    if not user or not user.is_authenticated:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    if not permissions.executions_for(user, TaskExecution.objects.filter(pk=pk)).exists():
        return refusal_json(not_found())
    # Who it is, for the quota of live streams: a token's user is not the session's.
    request.viewer = None if user.is_staff else user.pk  # type: ignore[attr-defined]
    return None


def not_found() -> NotFound:
    # One answer for a run that does not exist and one the caller may not see.
    return NotFound(WHOLE_REQUEST, "Not found.")


def rechecked(request: HttpRequest, pk: int) -> HttpResponse | None:
    """``authorize`` again, as a new request would be: the session read afresh from its
    store and the token looked up again, so a sign-out or a revoked token counts too."""
    fresh = copy.copy(request)
    fresh.__dict__.pop("_cached_user", None)
    session = getattr(request, "session", None)
    if session is not None:
        engine = import_module(settings.SESSION_ENGINE)
        fresh.session = engine.SessionStore(session.session_key)
    fresh.user = SimpleLazyObject(lambda: get_user(fresh))
    return authorize(fresh, pk)


def refusal_event(refused: HttpResponse) -> dict[str, Any]:
    """The last event of a stream whose viewer lost access: the answer a new request gets."""
    detail = json.loads(refused.content).get("detail", "Not found.")
    return {"detail": detail, "status": refused.status_code}
