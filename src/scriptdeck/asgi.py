"""The ASGI entry point served by uvicorn."""

from __future__ import annotations

import os
from typing import Any

import django
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, get_resolver

from scriptdeck.api import bodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptdeck.settings")
# Requests run in threads of their own: on PostgreSQL the web server takes its connections
# from a pool (settings.py says why); SCRIPTDECK_DB_POOL=false turns that off.
os.environ.setdefault("SCRIPTDECK_DB_POOL", "true")


class Handler(ASGIHandler):
    """Django's ASGI handler, with a request for a sync view served in one thread.

    Django runs the middleware of an ASGI request in async mode: each middleware's
    ``process_request`` and ``process_response`` (Django's own are sync methods) is a hop to
    the request's thread and back, and the sync view one more, about a dozen a request. A
    request for a sync view (every DRF view) here goes through a second chain of the same
    middleware built in sync mode, in one hop: the same middleware, order and answers, for a
    fraction of the CPU. Async views (live output, ``/wait/``) keep the async chain, so
    they hold no thread while they wait.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sync_handler = BaseHandler()
        self.sync_handler.load_middleware(is_async=False)

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        # Each body held to its route's limit as it arrives, before Django spools it.
        receive, send = bodies.guard(scope, receive, send)
        await super().handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        if self.serves_async_view(request):
            return await super().get_response_async(request)
        # The request's own thread (ThreadSensitiveContext): where request_started opened
        # its connection and request_finished will return it.
        return await sync_to_async(self.sync_handler.get_response, thread_sensitive=True)(request)

    @staticmethod
    def serves_async_view(request: HttpRequest) -> bool:
        try:
            match = get_resolver().resolve(request.path_info)
        except Resolver404:
            return False  # the 404 answer comes from the sync chain
        return iscoroutinefunction(match.func)


django.setup(set_prefix=False)
application = Handler()
