"""Turning domain refusals into HTTP 400/404 answers that name the field."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from scriptdeck.catalog.paths import PathRefused
from scriptdeck.catalog.registry import ScriptNotFound
from scriptdeck.executions.services import SubmitError


def refusal(exc: Exception, path_field: str = "script") -> Response:
    if isinstance(exc, SubmitError):
        return Response({**exc.errors, "error": exc.message}, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, PathRefused):
        return Response({path_field: [str(exc)], "error": str(exc)}, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ScriptNotFound):
        return Response({"script": [str(exc)], "error": str(exc)}, status.HTTP_404_NOT_FOUND)
    raise exc


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus an ``error`` sentence on field errors (what the source's page shows)."""
    from rest_framework.views import exception_handler as drf_handler

    response = drf_handler(exc, context)
    if response is not None and response.status_code == 400 and isinstance(response.data, dict):
        if "error" not in response.data:
            parts = []
            for field, messages in response.data.items():
                text = messages if isinstance(messages, str) else "; ".join(map(str, messages))
                parts.append(f"{field}: {text}")
            response.data["error"] = " | ".join(parts)
    return response
