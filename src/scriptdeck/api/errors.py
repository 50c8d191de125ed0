"""Turning refusals into HTTP answers: one handler for every DRF view.

A service raises a ``Refusal`` (``scriptdeck.refusals``): its status, its code (answered in
the ``Refusal-Code`` header), the field at fault and a sentence. DRF's own errors (a
serializer's field errors, a missing permission) keep DRF's shape, with the ``error``
sentence the source's page shows.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from rest_framework.response import Response

from scriptdeck.refusals import Refusal


def refusal(exc: Refusal, path_field: str | None = None) -> Response:
    """The answer to ``exc``. ``path_field`` renames a path refusal's field for a door whose
    request calls the path something else (the compat route's ``script_path``)."""
    return Response(_body(exc, path_field), status=exc.status, headers=exc.headers())


def refusal_json(exc: Refusal) -> JsonResponse:
    """The same answer for a plain Django view (SSE, webhooks, /wait/)."""
    response = JsonResponse(_body(exc), status=exc.status)
    for name, value in exc.headers().items():
        response[name] = value
    return response


def _body(exc: Refusal, path_field: str | None = None) -> dict[str, Any]:
    body = exc.body()
    if path_field and exc.code == "path_refused" and exc.field in body:
        body[path_field] = body.pop(exc.field)
    return body


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler for its own errors, plus an ``error`` sentence on field errors."""
    from rest_framework.views import exception_handler as drf_handler

    if isinstance(exc, Refusal):
        return refusal(exc)
    response = drf_handler(exc, context)
    if response is not None and response.status_code == 400 and isinstance(response.data, dict):
        if "error" not in response.data:
            parts = []
            for field, messages in response.data.items():
                text = messages if isinstance(messages, str) else "; ".join(map(str, messages))
                parts.append(f"{field}: {text}")
            response.data["error"] = " | ".join(parts)
    return response
