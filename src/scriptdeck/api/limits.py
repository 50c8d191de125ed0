"""Limits on what a request may carry: body size, JSON depth, finite numbers. A clear 4xx."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from scriptdeck.refusals import Refusal

from .bodies import OVER_LIMIT, UPLOAD_PATHS
from .errors import refusal_json


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


class RequestTooLarge(Refusal):
    """A declared body over the limit (413), in the answer's usual keys."""

    status = 413
    default_code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__("body", f"the request body is larger than the {limit} bytes allowed")

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "detail": self.message}


class BodyLimitMiddleware:
    """Refuses a body over the limit before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A body the ASGI handler stopped reading (api/bodies.py), on any route.
        over = getattr(request, "scope", {}).get(OVER_LIMIT)
        if over is not None:
            return refusal_json(RequestTooLarge(over))
        limit = settings.SCRIPTDECK_MAX_BODY_BYTES
        if not request.path.startswith(UPLOAD_PATHS):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                bad = Refusal("Content-Length", "Content-Length is not a number")
                return JsonResponse({"error": bad.message}, status=400, headers=bad.headers())
            if declared > limit:
                return refusal_json(RequestTooLarge(limit))
        return self.get_response(request)


def _depth(value: Any, limit: int) -> bool:
    """True when ``value`` nests no deeper than ``limit`` (iterative: no recursion limit)."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > limit:
            return False
        stack.extend((child, level + 1) for child in children)
    return True


class _NonFinite:
    """Where the body said NaN, Infinity or -Infinity (or a number too large for a float)."""

    def __init__(self, text: str) -> None:
        self.text = text


class NonFiniteNumber(Refusal):
    """A number JSON cannot carry: no database stores it and no answer could show it."""

    default_code = "non_finite"

    def __init__(self, field_name: str, text: str) -> None:
        super().__init__(field_name, f"must be a finite number: {text} is not a JSON number")


def _first_non_finite(data: Any) -> tuple[list[str], str] | None:
    """The path to the first marker and its text, walking without recursion."""
    stack: list[tuple[Any, list[str]]] = [(data, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, _NonFinite):
            return path, item.text
        if isinstance(item, dict):
            stack.extend((child, [*path, str(key)]) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((child, path) for child in reversed(item))
    return None


def _refuse_non_finite(data: Any) -> None:
    found = _first_non_finite(data)
    if found is None:
        return
    path, text = found
    # A parameter is named as its own field, as every other problem with it is.
    if len(path) > 1 and path[0] == "parameters":
        raise NonFiniteNumber(path[1], text)
    raise NonFiniteNumber(path[0] if path else "body", text)


def loads_finite(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and overflowing numbers with the field named."""
    markers: list[_NonFinite] = []

    def marker(constant: str) -> _NonFinite:
        markers.append(_NonFinite(constant))
        return markers[-1]

    def number(literal: str) -> float | _NonFinite:
        value = float(literal)  # 1e999 reads as inf
        return value if math.isfinite(value) else marker(literal)

    data = json.loads(text, parse_constant=marker, parse_float=number)
    if markers:
        _refuse_non_finite(data)
    return data


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with a size cap on bodies sent without a length, a depth cap, and
    NaN/Infinity refused (Python's json reads them; no database stores them)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.SCRIPTDECK_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(f"the request body is larger than the {limit} bytes allowed")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from None
        try:
            data = loads_finite(text) if text.strip() else {}
        except RecursionError:
            raise ParseError("the JSON is nested too deeply") from None
        except ValueError as exc:
            raise ParseError(f"the body is not valid JSON: {exc}") from None
        if not _depth(data, settings.SCRIPTDECK_MAX_JSON_DEPTH):
            raise ParseError(
                f"the JSON is nested deeper than {settings.SCRIPTDECK_MAX_JSON_DEPTH} levels"
            )
        return data
