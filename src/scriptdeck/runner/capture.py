"""Bounded capture of a stream: keep the head and the tail, count what was dropped.

The rules are the same wherever output is bounded (here, and for the stored chunks of a
live run): the first half of the limit is the head, the rest the tail window, and the
window drops its oldest chunks while what stays still covers its share.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def halves(limit: int) -> tuple[int, int]:
    """``(head, tail)``: how a limit of ``limit`` bytes is shared between the two ends."""
    limit = max(0, int(limit))
    return limit // 2, limit - limit // 2


class TailWindow(Generic[T]):
    """The newest chunks of a stream that still cover ``limit`` bytes, oldest first.

    A chunk is dropped only once the chunks after it hold ``limit`` bytes or more, so the
    window may hold up to one chunk more than its limit: whole chunks are never cut here.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._chunks: deque[tuple[int, T]] = deque()

    def push(self, size: int, item: T) -> list[T]:
        """Add a chunk of ``size`` bytes; return the chunks that left the window, oldest first."""
        self._chunks.append((size, item))
        self.size += size
        left = []
        while self._chunks and self.size - self._chunks[0][0] >= self.limit:
            old_size, old = self._chunks.popleft()
            self.size -= old_size
            left.append(old)
        return left

    def clear(self) -> None:
        self._chunks.clear()
        self.size = 0

    def __bool__(self) -> bool:
        return bool(self._chunks)

    def __iter__(self) -> Iterator[T]:
        return (item for _, item in self._chunks)

    def __reversed__(self) -> Iterator[T]:
        return (item for _, item in reversed(self._chunks))


class HeadTailBuffer:
    """Keeps at most ``limit`` bytes of a stream: the first half and the last half.

    Output is never held whole: a script printing a gigabyte costs at most
    ``limit`` bytes of memory here, and ``dropped`` says how much was left out.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(0, int(limit))
        self.head_limit, self.tail_limit = halves(self.limit)
        self.head = bytearray()
        self._tail: TailWindow[bytes] = TailWindow(self.tail_limit)
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data or self.tail_limit == 0:
            return
        if len(data) >= self.tail_limit:
            # Alone it fills the window: only its end is kept, and nothing before it.
            self._tail.clear()
            data = data[-self.tail_limit :]
        self._tail.push(len(data), bytes(data))

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - min(self._tail.size, self.tail_limit)

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def tail_bytes(self) -> bytes:
        if not self.tail_limit or not self._tail:
            return b""
        excess = self._tail.size - self.tail_limit
        if excess <= 0:
            return b"".join(self._tail)
        # Cut the surplus off the first chunk without copying the window twice.
        first, *rest = self._tail
        return b"".join([memoryview(first)[excess:], *rest])

    def getvalue(self) -> bytes:
        """Everything kept, head then tail (without a marker)."""
        return bytes(self.head) + self.tail_bytes()

    def text(self) -> str:
        """The kept bytes decoded (bad UTF-8 replaced), with a marker where bytes were dropped."""
        if not self.truncated:
            return self.getvalue().decode("utf-8", errors="replace")
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail_bytes().decode("utf-8", errors="replace")
        # An ASCII marker: a "…" would make Python hold all of an ASCII text at 2 bytes a
        # character, doubling every copy of a 10 MiB output on its way to the database.
        return f"{head}\n...[{self.dropped} bytes omitted]...\n{tail}"

    def last_lines(self, count: int = 20, max_chars: int = 4000) -> str:
        """The end of the stream, for error messages."""
        data = self.tail_bytes() if self._tail.size else bytes(self.head)
        text = data[-max_chars * 4 :].decode("utf-8", errors="replace")
        lines = text.splitlines()[-count:]
        return "\n".join(lines)[-max_chars:]
