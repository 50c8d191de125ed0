"""Following one execution to its end: the event stream, resumed, else polling."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

from .errors import EXIT_NETWORK, ClientError, FollowTimeout, note
from .http import Api, json_body, no_execution, refusal
from .output import Chunk

POLL_INTERVAL = 0.5
OUTPUT_PAGE = 1000
# The server sends a keep-alive comment every 15 s; silence for longer is a dead connection.
SSE_READ_TIMEOUT = 35.0
# Consecutive failed event-stream connections before falling back to polling.
SSE_ATTEMPTS = 4
POLL_ATTEMPTS = 4


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str, str | None]]:
    """``(event, data, id)`` for each event of a ``text/event-stream``."""
    kind, data, event_id = "", [], None
    for line in lines:
        if not line:
            if kind or data:
                yield kind or "message", "\n".join(data), event_id
            kind, data, event_id = "", [], None
            continue
        if line.startswith(":"):
            continue  # a comment: the keep-alive
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode("utf-8", "replace")


class Follower:
    """Follows one execution until it ends and returns its final record.

    The event stream is read first; a dropped connection is resumed with Last-Event-ID,
    so nothing is lost or repeated. When the stream cannot be had, ``/output/`` is
    polled every 0.5 s instead.
    """

    def __init__(
        self,
        api: Api,
        execution_id: int,
        on_chunk: Callable[[Chunk], None],
        deadline: float | None = None,
    ) -> None:
        self.api = api
        self.execution_id = execution_id
        self.on_chunk = on_chunk
        self.deadline = deadline
        self.last_id = 0  # output and samples share one sequence
        self.last_output = 0
        self.use_stream = True
        self.cancel_sent = False

    def follow(self, cancel_on_interrupt: bool) -> dict[str, Any]:
        """The final record. The first Ctrl-C cancels the execution (when asked to) and
        keeps following; the next one raises KeyboardInterrupt."""
        with _alarm(self.deadline):
            return self._follow(cancel_on_interrupt)

    def _follow(self, cancel_on_interrupt: bool) -> dict[str, Any]:
        while True:
            try:
                if self.use_stream:
                    record = self._stream()
                    if record is not None:
                        return record
                    continue
                return self._poll()
            except KeyboardInterrupt:
                if self.cancel_sent or not cancel_on_interrupt:
                    raise
                self.cancel_sent = True
                note(
                    f"interrupted: cancelling execution {self.execution_id} and waiting for "
                    "it to end (Ctrl-C again to stop waiting)"
                )
                answer = self.api.request(
                    "POST",
                    f"/api/executions/{self.execution_id}/cancel/",
                    expect=(202, 409),
                    not_found=no_execution(self.execution_id),
                )
                note(str(json_body(answer).get("detail", "")))

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise FollowTimeout
        return remaining

    def _emit(self, chunk: Chunk) -> None:
        if chunk["seq"] > self.last_output:
            self.last_output = chunk["seq"]
            self.on_chunk(chunk)

    def _stream(self) -> dict[str, Any] | None:
        """The final record, or None to poll instead."""
        path = f"/api/executions/{self.execution_id}/events/"
        failures = 0
        while True:
            remaining = self._remaining()
            read = SSE_READ_TIMEOUT if remaining is None else min(SSE_READ_TIMEOUT, remaining)
            received = False
            try:
                with self.api.http.stream(
                    "GET",
                    path,
                    headers={"Accept": "text/event-stream", "Last-Event-ID": str(self.last_id)},
                    timeout=httpx.Timeout(10.0, read=max(read, 0.05)),
                ) as response:
                    if response.status_code in (401, 403, 404):
                        response.read()
                        raise refusal(response, self.api.url, no_execution(self.execution_id))
                    kind = response.headers.get("content-type", "")
                    if response.status_code != 200 or not kind.startswith("text/event-stream"):
                        self.use_stream = False
                        return None
                    for event, data, event_id in parse_sse(_lines(response.iter_bytes())):
                        received = True
                        if event_id and event_id.isdigit():
                            self.last_id = max(self.last_id, int(event_id))
                        if event == "output":
                            self._emit(json.loads(data))
                        elif event == "end":
                            return json.loads(data)
                        elif event == "error":
                            break  # the server gave up on this connection: resume
                        self._remaining()
            except httpx.TimeoutException:
                self._remaining()  # raises FollowTimeout when that is why
            except httpx.TransportError:
                pass
            failures = 0 if received else failures + 1
            if failures >= SSE_ATTEMPTS:
                self.use_stream = False
                return None
            if failures:
                time.sleep(min(0.25 * 2**failures, 2.0))

    def _poll(self) -> dict[str, Any]:
        path = f"/api/executions/{self.execution_id}/output/"
        failures = 0
        while True:
            remaining = self._remaining()
            try:
                page = self.api.get(
                    path,
                    params={"after": self.last_id, "limit": OUTPUT_PAGE},
                    not_found=no_execution(self.execution_id),
                )
            except ClientError as exc:
                failures += 1
                if exc.code != EXIT_NETWORK or failures >= POLL_ATTEMPTS:
                    raise
                time.sleep(POLL_INTERVAL)
                continue
            failures = 0
            chunks = page.get("chunks", [])
            for chunk in chunks:
                self._emit(chunk)
            self.last_id = max(self.last_id, int(page.get("last_seq") or 0))
            if page.get("finished"):
                return self.api.execution(self.execution_id)
            if len(chunks) < OUTPUT_PAGE:
                time.sleep(POLL_INTERVAL if remaining is None else min(POLL_INTERVAL, remaining))


@contextlib.contextmanager
def _alarm(deadline: float | None) -> Iterator[None]:
    """Raise FollowTimeout at ``deadline``, even in the middle of a blocking read."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if deadline is None or not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise FollowTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
