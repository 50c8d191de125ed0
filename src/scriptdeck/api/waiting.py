"""Waiting for a run to end, in the web server: one loop for ``/wait/`` and webhooks' ``?wait=``.

The waiter reads the execution's row when the worker announces its end (PostgreSQL: a
NOTIFY heard by ``api/listener.py``, which lets a waiter sleep through a run's start and
output), when the listener cannot say whether it ended (not connected, reconnected), and at
each poll: every :data:`POLL_INTERVAL` seconds without a listener, every
``listener.SAFETY_POLL`` seconds with one.

A failed attempt that the script's retry policy retries is not the end of the run: the
waiter follows ``retried_by`` to the last attempt and waits for that one.

Async: a waiting client holds no thread, only a watch; each read runs in the shared pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from scriptdeck.executions.models import TERMINAL_STATUSES, TaskExecution

from . import listener

POLL_INTERVAL = 0.15
# What a waiter reads of the row, whatever else its caller asks for.
WAIT_FIELDS = ("id", "status", "retried_by_id")


def in_pool(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as a coroutine run off the event loop, in the shared thread pool.

    No request cycle closes those threads' connections, so each call does: a database that
    restarted is reconnected to at the next read.
    """

    def call(*args: Any) -> Any:
        close_old_connections()
        try:
            return fn(*args)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False)


def read_state(pk: int, fields: Sequence[str]) -> dict[str, Any] | None:
    return TaskExecution.objects.filter(pk=pk).values(*fields).first()


async def wait_for_end(
    pk: int, seconds: float, fields: Sequence[str] = (), *, follow_retries: bool = True
) -> dict[str, Any] | None:
    """The execution's row (``id``, ``status``, ``retried_by_id`` and ``fields``) once the
    run ended, or as it is at the deadline (``seconds`` from now).

    ``follow_retries``: a failed attempt with a retry is followed to its last attempt, whose
    row is answered. None when the execution does not exist; when it is deleted while
    waited for, the last row read.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    columns = tuple(dict.fromkeys((*WAIT_FIELDS, *fields)))
    read = in_pool(read_state)
    last: dict[str, Any] | None = None
    while True:
        with listener.watch(pk) as watch:
            while True:
                watch.clear()  # announced from here on: read again at once
                state = await read(pk, columns)
                if state is None:
                    return last
                last = state
                ended = state["status"] in TERMINAL_STATUSES
                if ended and follow_retries and state["retried_by_id"] is not None:
                    break  # follow the retry
                left = deadline - loop.time()
                if ended or left <= 0:
                    return state
                await _sleep(watch, min(POLL_INTERVAL, left), left)
        pk = state["retried_by_id"]


async def _sleep(watch: listener.Watch, poll: float, left: float) -> None:
    """Until the execution's end is announced, its next poll, or the deadline."""
    try:
        await asyncio.wait_for(watch.wait_end(poll), left)
    except TimeoutError:
        pass
