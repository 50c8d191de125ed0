"""``GET /api/executions/{id}/events/``: Server-Sent Events for one execution.

Events: ``status`` (each transition), ``output`` (a chunk), ``sample`` (a timeline
point), ``end`` (the final record; then the stream closes). Output and samples carry
their sequence number as the event id, so a client reconnecting with
``Last-Event-ID`` (or ``?last_event_id=``) gets what followed, once.

One poller per execution per web process reads the database and fans out to every
subscriber, so 200 clients cost one query, not 200. On PostgreSQL it reads when the worker
announces a change (``api/listener.py``: a NOTIFY at commit), with a safety poll every 2 s;
elsewhere every 0.2 s. The view is async: a waiting client holds no thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from scriptdeck.executions.models import (
    TERMINAL_STATUSES,
    EventKind,
    ExecutionEvent,
    TaskExecution,
)
from scriptdeck.refusals import Refusal

from . import listener, viewing, waiting
from .errors import refusal_json
from .serializers import ExecutionSerializer
from .waiting import in_pool

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.2
KEEPALIVE = 15.0
# A subscriber this far behind is dropped with an ``error`` event; it resumes with
# Last-Event-ID. The web process never buffers a stalled reader's backlog.
QUEUE_LIMIT = 1000
# Seconds between two checks that the viewer may still see the run (a grant removed, a
# token revoked, a session signed out): the stream then ends with an ``error`` event.
ACCESS_RECHECK = 5.0
Event = tuple[str, dict[str, Any]]


# --- reading -------------------------------------------------------------------------------


def _status_payload(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in row.items()
    }


STATUS_FIELDS = ("id", "status", "started_at", "completed_at", "cancel_requested_at")


def read_status(pk: int) -> dict[str, Any] | None:
    row = TaskExecution.objects.filter(pk=pk).values(*STATUS_FIELDS).first()
    return _status_payload(row) if row else None


def read_events(pk: int, after: int) -> list[Event]:
    """Events after ``after``, in order: stored chunks and samples, and for an ended run
    the samples that moved into its timeline."""
    found: list[Event] = []
    rows = (
        ExecutionEvent.objects.filter(execution_id=pk, seq__gt=after)
        .order_by("seq")
        .values("seq", "kind", "text", "raw_bytes", "at", "data")
    )
    for row in rows:
        if row["kind"] == EventKind.SAMPLE:
            found.append(("sample", _sample(row["seq"], row["data"])))
        else:
            found.append(
                (
                    "output",
                    {
                        "seq": row["seq"],
                        "stream": row["kind"],
                        "text": row["text"],
                        "raw_bytes": row["raw_bytes"],
                        "at": row["at"].isoformat(),
                    },
                )
            )
    timeline = TaskExecution.objects.filter(pk=pk).values_list("timeline", flat=True).first()
    seen = {payload["seq"] for _, payload in found}
    for point in timeline or []:
        if point[0] > after and point[0] not in seen:
            found.append(("sample", _sample(point[0], point[1:])))
    found.sort(key=lambda event: event[1]["seq"])
    return found


def _sample(seq: int, data: list[Any]) -> dict[str, Any]:
    t, rss, cpu, processes, read, write = (list(data) + [None] * 6)[:6]
    return {
        "seq": seq,
        "t": t,
        "rss_bytes": rss,
        "cpu_percent": cpu,
        "processes": processes,
        "read_bytes": read,
        "write_bytes": write,
    }


def read_record_json(pk: int) -> tuple[str, str] | None:
    """The execution's status, and the execution as ``GET /api/executions/{id}/`` shows it
    as JSON text; None if it is gone."""
    execution = TaskExecution.objects.select_related("user", "cancelled_by").filter(pk=pk).first()
    if execution is None:
        return None
    data = ExecutionSerializer(execution).data
    return execution.status, json.dumps(data, default=str, ensure_ascii=False)


def read_record(pk: int) -> dict[str, Any]:
    found = read_record_json(pk)
    if found is None:
        raise TaskExecution.DoesNotExist(pk)
    return json.loads(found[1])


# --- the shared poller -------------------------------------------------------------------


class Feed:
    """Polls one execution and hands every change to its subscribers."""

    def __init__(self, hub: Hub, pk: int) -> None:
        self.hub = hub
        self.pk = pk
        self.subscribers: set[asyncio.Queue[Event]] = set()
        self.task: asyncio.Task[None] | None = None

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self.subscribers.add(queue)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.run())
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self.subscribers.discard(queue)
        if not self.subscribers and self.task is not None:
            self.task.cancel()
            self.hub.drop(self)

    def publish(self, event: Event) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.subscribers.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(("error", {"detail": "too far behind; reconnect to resume"}))

    async def run(self) -> None:
        try:
            with listener.watch(self.pk) as watch:
                await self.follow(watch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the event feed of execution %s failed", self.pk)
            self.publish(("error", {"detail": "the event feed failed; reconnect to resume"}))
        finally:
            self.hub.drop(self)

    async def follow(self, watch: listener.Watch) -> None:
        last_seq = 0
        last_status: str | None = None
        while self.subscribers:
            watch.clear()  # a change announced from here on is read on the next round
            status = await in_pool(read_status)(self.pk)
            if status is None:
                self.publish(("end", {"id": self.pk, "status": "DELETED"}))
                return
            events = await in_pool(read_events)(self.pk, last_seq)
            for event in events:
                last_seq = max(last_seq, event[1]["seq"])
                self.publish(event)
            if status["status"] != last_status:
                last_status = status["status"]
                self.publish(("status", status))
            if status["status"] in TERMINAL_STATUSES:
                # The worker writes its last batch before it ends the run: read once more.
                for event in await in_pool(read_events)(self.pk, last_seq):
                    last_seq = max(last_seq, event[1]["seq"])
                    self.publish(event)
                self.publish(("end", await in_pool(read_record)(self.pk)))
                return
            await watch.wait(POLL_INTERVAL)


class Hub:
    def __init__(self) -> None:
        self.feeds: dict[int, Feed] = {}

    def feed(self, pk: int) -> Feed:
        feed = self.feeds.get(pk)
        if feed is None or (feed.task is not None and feed.task.done()):
            feed = self.feeds[pk] = Feed(self, pk)
        return feed

    def drop(self, feed: Feed) -> None:
        if self.feeds.get(feed.pk) is feed:
            del self.feeds[feed.pk]


hub = Hub()


# --- the view ------------------------------------------------------------------------------


def format_event(kind: str, payload: dict[str, Any]) -> str:
    head = f"id: {payload['seq']}\n" if kind in ("output", "sample") else ""
    return f"{head}event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


# Open live streams of each user (staff not counted) in this web process.
open_streams: dict[int, int] = {}
_counting = threading.Lock()


class Seat:
    """One live stream counted against its viewer from the answer on, given back once: when
    the stream ends, or when the server closes the response (a client gone mid-send)."""

    def __init__(self, viewer: int | None) -> None:
        self.viewer = viewer
        if viewer is not None:
            with _counting:
                open_streams[viewer] = open_streams.get(viewer, 0) + 1

    def release(self) -> None:
        with _counting:
            viewer, self.viewer = self.viewer, None
            if viewer is not None:
                open_streams[viewer] -= 1
                if not open_streams[viewer]:
                    del open_streams[viewer]


class Counted:
    """The events as the response holds them: closing the response releases the seat."""

    def __init__(self, events: AsyncIterator[str], seat: Seat) -> None:
        self.events, self.close = events, seat.release

    def __aiter__(self) -> AsyncIterator[str]:
        return self.events


async def stream(
    pk: int,
    after: int,
    allowed: Callable[[], Awaitable[HttpResponse | None]] | None = None,
    seat: Seat | None = None,
) -> AsyncIterator[str]:
    """The events of run ``pk`` after ``after``; ``allowed`` is asked every
    ``ACCESS_RECHECK`` seconds, and its refusal ends the stream."""
    feed = hub.feed(pk)
    queue = feed.subscribe()
    sent = after
    checked = time.monotonic()
    try:
        yield "retry: 1000\n\n"
        status = await in_pool(read_status)(pk)
        if status is None:
            return
        yield format_event("status", status)
        for kind, payload in await in_pool(read_events)(pk, after):
            sent = max(sent, payload["seq"])
            yield format_event(kind, payload)
        if status["status"] in TERMINAL_STATUSES:
            yield format_event("end", await in_pool(read_record)(pk))
            return
        last_sent = time.monotonic()
        while True:
            if allowed is not None and time.monotonic() - checked >= ACCESS_RECHECK:
                refused = await allowed()
                if refused is not None:
                    yield format_event("error", viewing.refusal_event(refused))
                    return
                checked = time.monotonic()
            wait = KEEPALIVE - (time.monotonic() - last_sent)
            if allowed is not None:
                wait = min(wait, ACCESS_RECHECK - (time.monotonic() - checked))
            try:
                kind, payload = await asyncio.wait_for(queue.get(), timeout=max(wait, 0.0))
            except TimeoutError:
                if time.monotonic() - last_sent >= KEEPALIVE:
                    last_sent = time.monotonic()
                    yield ": keep-alive\n\n"
                continue
            if kind in ("output", "sample"):
                if payload["seq"] <= sent:
                    continue
                sent = payload["seq"]
            elif kind == "status" and payload["status"] == status["status"]:
                continue
            last_sent = time.monotonic()
            yield format_event(kind, payload)
            if kind in ("end", "error"):
                return
    finally:
        feed.unsubscribe(queue)
        if seat is not None:
            seat.release()


async def execution_events(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "GET":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    refused = await sync_to_async(viewing.authorize)(request, pk)
    if refused is not None:
        return refused
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "0"
    try:
        after = max(0, int(raw))
    except ValueError:
        return refusal_json(Refusal.from_errors({"last_event_id": ["must be a whole number"]}))
    viewer = getattr(request, "viewer", None)
    quota = settings.SCRIPTDECK_QUOTA_STREAMS
    if viewer is not None and open_streams.get(viewer, 0) >= quota:
        message = f"at most {quota} live streams open at once (SCRIPTDECK_QUOTA_STREAMS)"
        over = Refusal("streams", message, code="quota", params={"quota": quota})
        over.status = 429
        return refusal_json(over)
    allowed = sync_to_async(viewing.rechecked)
    seat = Seat(viewer)
    events = stream(pk, after, lambda: allowed(request, pk), seat)
    response = StreamingHttpResponse(Counted(events, seat), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


# --- waiting for the end ---------------------------------------------------------------------

MAX_WAIT = 300.0
DEFAULT_WAIT = 30.0


def _timeout(raw: str | None) -> float | None:
    if raw is None or raw.strip() == "":
        return DEFAULT_WAIT
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_WAIT else None


async def execution_wait(request: HttpRequest, pk: int) -> HttpResponse:
    """``GET /api/executions/{id}/wait/?timeout=30``: the record once the run has ended.

    Answers as soon as the run has ended (at once if it already has), or at the timeout
    with its current state; either way 200 with the same body as
    ``GET /api/executions/{id}/``, whose ``status`` says which. A failed attempt that is
    retried has not ended the run: the answer is its last attempt's record (another ``id``,
    its ``retry_of`` chain leading back). ``timeout`` is in seconds, 0 to 300 (default 30).
    The wait is ``api/waiting.py``'s, which webhooks' ``?wait=`` shares.
    """
    if request.method != "GET":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    seconds = _timeout(request.GET.get("timeout"))
    if seconds is None:
        message = f"must be a number of seconds from 0 to {MAX_WAIT:.0f}"
        return refusal_json(Refusal.from_errors({"timeout": [message]}))
    refused = await sync_to_async(viewing.authorize)(request, pk)
    if refused is not None:
        return refused
    state = await waiting.wait_for_end(pk, seconds)
    record = await in_pool(read_record_json)(state["id"]) if state is not None else None
    if record is None:
        return refusal_json(viewing.not_found())
    return HttpResponse(record[1], content_type="application/json")
