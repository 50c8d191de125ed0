"""``POST /api/hooks/<key>/``: an incoming webhook runs its script (see automation/webhooks.py).

No session, no token: the key in the URL is the credential, so there is no CSRF to check
either. An unknown key, a revoked webhook, a webhook whose owner may no longer run the script and
a webhook of a deactivated script all answer the same 404 (why is logged, never answered).
Refusals are logged with the key cut to its first 9 characters, and kept out of Django's
own request log, which would log the whole URL (a proxy's or uvicorn's access log still
does).

Answers: 202 ``{execution_id, task_id, status, url}`` once the run is recorded; 400 naming
the field for a body that is not a JSON object or parameters that do not fit the script's
schema (nothing is recorded); 429 with ``Retry-After`` over the webhook's rate limit.

``?wait=N``: wait up to N seconds (at most the webhook's ``max_wait``; 0 never waits) for the
run to end, then answer 200 with ``{execution_id, task_id, status, success, result, error,
execution_time, memory_usage, url}`` (the compat result route's fields); a run still going
at the deadline answers the 202 above with its current status. A failed run that the
script's retry policy retries is followed to its last attempt, as the compat route does.

The view is async: a caller waiting for a result holds no thread (``api/waiting.py``, the
wait ``/wait/`` shares).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import ParseError

from scriptdeck.access import audit
from scriptdeck.automation import webhooks
from scriptdeck.executions.models import TERMINAL_STATUSES, Status
from scriptdeck.executions.services import SubmitError
from scriptdeck.refusals import Refusal

from . import waiting
from .errors import refusal_json
from .limits import BodyTooLarge, LimitedJSONParser, RequestTooLarge

log = logging.getLogger(__name__)

# What the answer of an ended run is made of.
STATE_FIELDS = (
    "task_id",
    "result",
    "error_message",
    "failure_reason",
    "execution_time",
    "memory_usage",
)


@dataclass(frozen=True)
class Started:
    execution_id: int
    task_id: str
    wait: float


def wait_seconds(raw: str | None) -> float:
    """``?wait=`` as seconds: absent or empty is 0. Raises ``SubmitError`` naming ``wait``."""
    if raw is None or raw.strip() == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise SubmitError("wait", "must be a number of seconds, 0 or more")
    return value


def read_body(request: HttpRequest) -> Any:
    """The body as JSON (empty: ``{}``), with the API's size and depth limits."""
    try:
        return LimitedJSONParser().parse(request)
    except BodyTooLarge:
        raise RequestTooLarge(settings.SCRIPTDECK_MAX_BODY_BYTES) from None
    except ParseError as exc:
        raise SubmitError("body", str(exc.detail)) from None


def _start(request: HttpRequest, token: str) -> HttpResponse | Started:
    try:
        hook = webhooks.find(token)
        if hook is None:
            raise webhooks.UnknownWebhook()
        webhooks.check(hook)
        body = read_body(request)
        wait = min(wait_seconds(request.GET.get("wait")), float(hook.max_wait))
        execution = webhooks.fire(hook, body, audit.client_ip(request))
    except webhooks.WebhookUnavailable as exc:
        log.warning("webhook call answered 404: %s", exc)
        return refusal_json(exc)
    except Refusal as exc:
        return refusal_json(exc)
    return Started(execution.pk, str(execution.task_id), wait)


def _accepted(execution_id: int, task_id: str, status: str) -> JsonResponse:
    url = reverse("execution-detail", args=[execution_id])
    response = JsonResponse(
        {"execution_id": execution_id, "task_id": task_id, "status": status, "url": url},
        status=202,
    )
    response["Location"] = url
    return response


def answer(state: dict[str, Any]) -> JsonResponse:
    """200 with the outcome of an ended run; 202 with the status of one still going."""
    status = state["status"]
    if status not in TERMINAL_STATUSES:
        return _accepted(state["id"], str(state["task_id"]), status)
    failed = status in (Status.FAILURE, Status.CANCELLED)
    return JsonResponse(
        {
            "execution_id": state["id"],
            "task_id": str(state["task_id"]),
            "status": status,
            "success": status == Status.SUCCESS,
            "result": state["result"],
            "error": (state["error_message"] or state["failure_reason"]) if failed else None,
            "execution_time": state["execution_time"],
            "memory_usage": state["memory_usage"],
            "url": reverse("execution-detail", args=[state["id"]]),
        },
        status=200,
    )


def _quiet(response: HttpResponse, token: str) -> HttpResponse:
    """Log a refusal with the key cut to its prefix, and keep Django's request log from
    logging it with the whole URL: the key is the credential."""
    log.info(
        "POST /api/hooks/%s…/ answered %s %s",
        token[: webhooks.PREFIX_LENGTH],
        response.status_code,
        response.content[:200].decode("utf-8", "replace"),
    )
    response._has_been_logged = True  # type: ignore[attr-defined]  # see django.utils.log
    return response


@csrf_exempt
async def call(request: HttpRequest, token: str) -> HttpResponse:
    """Run the webhook's script; with ``?wait=N``, wait for its result (see the module)."""
    if request.method != "POST":
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "POST"
        return _quiet(response, token)
    started = await sync_to_async(_start)(request, token)
    if isinstance(started, HttpResponse):
        return _quiet(started, token)
    if started.wait <= 0:
        return _accepted(started.execution_id, started.task_id, Status.PENDING)
    state = await waiting.wait_for_end(started.execution_id, started.wait, STATE_FIELDS)
    if state is None:
        return _accepted(started.execution_id, started.task_id, Status.PENDING)
    return answer(state)
