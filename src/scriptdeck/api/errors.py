"""Turning domain refusals into HTTP 400/404 answers that name the field."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from scriptdeck.catalog.paths import PathRefused
from scriptdeck.catalog.registry import ScriptNotFound
from scriptdeck.executions.services import SubmitError


def refusal(exc: Exception, path_field: str = "script") -> Response:
    if isinstance(exc, SubmitError):
        return Response(
            {exc.field: [exc.message], "error": exc.message}, status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, PathRefused):
        return Response({path_field: [str(exc)], "error": str(exc)}, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ScriptNotFound):
        return Response({"script": [str(exc)], "error": str(exc)}, status.HTTP_404_NOT_FOUND)
    raise exc
