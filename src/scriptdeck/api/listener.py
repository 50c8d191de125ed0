"""Hearing that an execution changed, in the web server: one ``LISTEN`` per event loop.

The worker announces every change of an execution (``executions/announcements.py``: started, a
batch of output, a cancel request, the end) with a PostgreSQL ``NOTIFY`` delivered at
commit. This module keeps one connection per event loop listening on that channel and
wakes whoever watches that execution: the SSE feed (one per execution and web process)
and the requests waiting for a run to end (``/wait/``, webhooks' ``?wait=``). They then
read the database as before, so a notification never carries data, only "read again now"
and, for the end of a run, a hint that it ended: a waiter for the end sleeps through the
other changes (see :meth:`Watch.wait_end`).

Watchers still poll, as a safety net: every :data:`SAFETY_POLL` seconds while the listener
is connected, at their own short interval when it is not (SQLite, a listener reconnecting
after a database restart: it wakes every watcher when it is back, since it may have missed
notifications meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from scriptdeck.executions.announcements import CHANNEL, ENDED

log = logging.getLogger(__name__)

SAFETY_POLL = 2.0
# A listener nobody has used for this long closes its connection (it opens again on use).
IDLE_CLOSE = 60.0
# Settings Django adds to OPTIONS that are not libpq connection parameters.
_NOT_LIBPQ = {"pool", "isolation_level", "server_side_binding", "assume_role", "context"}


def _connect_kwargs() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    kwargs: dict[str, Any] = {
        key: value
        for key, value in (db.get("OPTIONS") or {}).items()
        if key not in _NOT_LIBPQ and not callable(value)
    }
    for name, key in (("NAME", "dbname"), ("USER", "user"), ("PASSWORD", "password")):
        if db.get(name):
            kwargs[key] = db[name]
    if db.get("HOST"):
        kwargs["host"] = db["HOST"]
    if db.get("PORT"):
        kwargs["port"] = str(db["PORT"])
    kwargs.setdefault("application_name", "scriptdeck-listen")
    return kwargs


class Watch:
    """One watcher of one execution: :meth:`clear` before reading, then :meth:`wait`."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.event = asyncio.Event()
        # Since the last clear(): the end was announced, or what was announced is unknown
        # (the listener reconnected, or lost its connection).
        self.maybe_ended = False

    @property
    def live(self) -> bool:
        """Whether notifications arrive (then a long safety poll is enough)."""
        return self.listener.connected

    def clear(self) -> None:
        self.event.clear()
        self.maybe_ended = False

    async def wait(self, poll: float) -> bool:
        """Until the execution is announced as changed (True) or the poll is due (False)."""
        timeout = max(poll, SAFETY_POLL) if self.live else poll
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_end(self, poll: float) -> bool:
        """Until the execution may have ended (True) or the poll is due (False).

        Like :meth:`wait`, but the other changes (its start, a batch of output) wake no one:
        a waiter for the end reads the row only when the end was announced, when the
        listener cannot say (not connected, reconnected), or at the poll.
        """
        loop = asyncio.get_running_loop()
        until = loop.time() + (max(poll, SAFETY_POLL) if self.live else poll)
        while True:
            try:
                await asyncio.wait_for(self.event.wait(), max(0.0, until - loop.time()))
            except TimeoutError:
                return False
            if self.maybe_ended or not self.live:
                return True
            self.event.clear()


class Listener:
    def __init__(self) -> None:
        self.watchers: dict[int, set[Watch]] = {}
        self.connected = False
        self.task: asyncio.Task[None] | None = None
        self.last_used = 0.0
        self.enabled = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

    @contextmanager
    def watch(self, pk: int) -> Iterator[Watch]:
        loop = asyncio.get_running_loop()
        self.last_used = loop.time()
        if self.enabled and self.task is None:
            self.task = loop.create_task(self._run())
        watch = Watch(self)
        self.watchers.setdefault(pk, set()).add(watch)
        try:
            yield watch
        finally:
            self.last_used = asyncio.get_running_loop().time()
            found = self.watchers.get(pk)
            if found is not None:
                found.discard(watch)
                if not found:
                    del self.watchers[pk]

    def wake(self, payload: str) -> None:
        pk_text, _, kind = payload.partition(" ")
        try:
            pk = int(pk_text)
        except ValueError:
            return
        ended = kind == ENDED
        for watch in self.watchers.get(pk, ()):
            watch.maybe_ended = watch.maybe_ended or ended
            watch.event.set()

    def wake_all(self) -> None:
        for found in self.watchers.values():
            for watch in found:
                watch.maybe_ended = True
                watch.event.set()

    def idle(self) -> bool:
        loop = asyncio.get_running_loop()
        return not self.watchers and loop.time() - self.last_used > IDLE_CLOSE

    async def _run(self) -> None:
        try:
            await self._listen()
        finally:
            self.task = None

    async def _listen(self) -> None:
        import psycopg

        pause = 0.5
        while not self.idle():
            try:
                conn = await psycopg.AsyncConnection.connect(**_connect_kwargs(), autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected, pause = True, 0.5
                    self.wake_all()  # what changed before we listened is read now
                    while not self.idle():
                        async for note in conn.notifies(timeout=5.0):
                            self.wake(note.payload)
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: poll meanwhile, then again
                log.warning("listening for execution changes failed (%s); retrying", exc)
            finally:
                self.connected = False
                self.wake_all()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Listener] = (
    weakref.WeakKeyDictionary()
)


def listener() -> Listener:
    """This event loop's listener (created on first use)."""
    loop = asyncio.get_running_loop()
    found = _listeners.get(loop)
    if found is None:
        found = _listeners[loop] = Listener()
    return found


def watch(pk: int) -> Any:
    """``with listener.watch(pk) as w:`` — see :class:`Watch`."""
    return listener().watch(pk)
