"""The body limit in front of Django: counted as the body arrives, before a byte is spooled.

Django's ASGI handler reads the whole body into a temporary file (on disk past
``FILE_UPLOAD_MAX_MEMORY_SIZE``) before any route, middleware or authentication runs, so a
limit checked in a middleware comes too late for a chunked body with no Content-Length.
``guard`` wraps a request's ``receive``: it counts the ``http.request`` bytes as they
arrive and stops as soon as the route's limit is passed (or before the first when
Content-Length declares more). Django gets an empty body and ``OVER_LIMIT`` in the scope,
``api.limits.BodyLimitMiddleware`` answers the 413 with the usual keys and headers, and
the rest is never read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Uploads have their own, larger limit (SCRIPTDECK_UPLOAD_MAX_BYTES).
UPLOAD_PATHS = ("/api/uploads/",)
# Set in the scope when the body was refused; its value is the limit passed.
OVER_LIMIT = "scriptdeck.body_over_limit"
CLOSE = (b"connection", b"close")
# The multipart envelope around an uploaded file: its boundaries, headers and name.
MULTIPART_ENVELOPE = 1024 * 1024


def _has_credentials(headers: dict[bytes, bytes]) -> bool:
    """A token or a session cookie is there (checked later): without either, no upload can
    be accepted, so an anonymous body gets the general limit even on the upload route."""
    if headers.get(b"authorization"):
        return True
    cookie = f"{settings.SESSION_COOKIE_NAME}=".encode("latin-1")
    return cookie in headers.get(b"cookie", b"")


def limit_for(path: str, headers: dict[bytes, bytes]) -> int:
    """The most bytes a request's body may carry on this route."""
    if path.startswith(UPLOAD_PATHS) and _has_credentials(headers):
        return int(settings.SCRIPTDECK_UPLOAD_MAX_BYTES) + MULTIPART_ENVELOPE
    return int(settings.SCRIPTDECK_MAX_BODY_BYTES)


def guard(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> tuple[Receive, Send]:
    """An HTTP request's ``receive`` and ``send``, its body held to its route's limit."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    limit = limit_for(scope.get("path", ""), headers)
    try:
        declared = int(headers.get(b"content-length", b"0") or 0)
    except ValueError:
        declared = 0  # the middleware answers the malformed header with a 400
    received = 0
    stopped = declared > limit  # refused before a byte is read
    ended = False
    answered = asyncio.Event()
    if stopped:
        scope[OVER_LIMIT] = limit

    async def counted() -> Message:
        nonlocal received, stopped, ended
        if ended and stopped:
            # Django listens for the client to go: the rest of the body is never read, and
            # once the refusal is sent the connection is done with.
            await answered.wait()
            return {"type": "http.disconnect"}
        if ended:
            return await receive()
        message = {"type": "http.request", "body": b"", "more_body": False}
        if not stopped:
            message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                stopped = True
                scope[OVER_LIMIT] = limit
                message = {"type": "http.request", "body": b"", "more_body": False}
            ended = stopped or not message.get("more_body", False)
        return message

    async def closing(message: Message) -> None:
        # A body cut short leaves the rest unread on the connection, which then cannot
        # carry another request: the server closes it instead of reading on.
        if message["type"] == "http.response.start" and stopped and not declared:
            message = {**message, "headers": [*message.get("headers", []), CLOSE]}
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    return counted, closing
