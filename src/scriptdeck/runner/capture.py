"""Bounded capture of a stream: keep the head and the tail, count what was dropped."""

from __future__ import annotations

from collections import deque


class HeadTailBuffer:
    """Keeps at most ``limit`` bytes of a stream: the first half and the last half.

    Output is never held whole: a script printing a gigabyte costs at most
    ``limit`` bytes of memory here, and ``dropped`` says how much was left out.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(0, int(limit))
        self.head_limit = self.limit // 2
        self.tail_limit = self.limit - self.head_limit
        self.head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
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
            self._tail.clear()
            self._tail.append(bytes(data[-self.tail_limit :]))
            self._tail_size = self.tail_limit
            return
        self._tail.append(bytes(data))
        self._tail_size += len(data)
        # Drop whole chunks from the left while what stays still covers the limit.
        while self._tail and self._tail_size - len(self._tail[0]) >= self.tail_limit:
            self._tail_size -= len(self._tail.popleft())

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - min(self._tail_size, self.tail_limit)

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def tail_bytes(self) -> bytes:
        if not self.tail_limit or not self._tail:
            return b""
        excess = self._tail_size - self.tail_limit
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
        data = self.tail_bytes() if self._tail_size else bytes(self.head)
        text = data[-max_chars * 4 :].decode("utf-8", errors="replace")
        lines = text.splitlines()[-count:]
        return "\n".join(lines)[-max_chars:]
