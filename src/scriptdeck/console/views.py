"""Serves the console's ``index.html`` for every console route (``/``, ``/scripts``, …).

Vite builds the console into ``static/console/``: its hashed assets are served by
WhiteNoise under ``/static/console/`` with a year-long cache; the page itself must never be
cached, so a new build is picked up at the next load.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

BUILD_DIR = Path(__file__).resolve().parent / "static" / "console"
INDEX = BUILD_DIR / "index.html"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>scriptdeck</title></head>
<body><h1>The console is not built</h1>
<p>Run <code>make install</code> (it builds <code>web/</code> with npm), then reload.
The API is at <a href="/api/">/api/</a>.</p></body></html>
"""


@lru_cache(maxsize=1)
def _cached_index() -> bytes | None:
    return _read_index()


def _read_index() -> bytes | None:
    try:
        return INDEX.read_bytes()
    except FileNotFoundError:
        return None


def index(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    body = _read_index() if settings.DEBUG else (_cached_index() or _read_index())
    if body is None:
        response = HttpResponse(NOT_BUILT, status=503, content_type="text/html; charset=utf-8")
    else:
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
