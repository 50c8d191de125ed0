"""The worker's side of a live run: output and samples stored in batches, cancel seen quickly."""

from __future__ import annotations

import codecs
import logging
import time
from itertools import islice
from typing import Any

from django.utils import timezone

from scriptdeck.executions import services
from scriptdeck.executions.models import EventKind, ExecutionEvent
from scriptdeck.runner import Sink, TreeSample
from scriptdeck.runner.capture import TailWindow, halves
from scriptdeck.security.masking import Masker

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.5
FLUSH_BYTES = 1024 * 1024
CANCEL_CHECK_INTERVAL = 0.5
# The runner reads up to 1 MiB at a time; output is stored in pieces of at most this many
# characters, so the head and tail windows overshoot their limit by one small piece at most.
STORE_PIECE = 64 * 1024


class _StreamStore:
    """Keeps a stream's stored chunks to a head and a tail, by the runner's capture's rules.

    Head chunks are written as they come. Past the head, chunks are held here, in a tail
    window of at most ``limit - limit // 2`` bytes, and written only when the sink flushes:
    a chunk that leaves the window before then is never written, and one that leaves it
    after is deleted. A fast producer so costs at most a window's bytes per flush, and
    memory stays bounded by the window whatever the output size.
    """

    def __init__(self, limit: int) -> None:
        self.head_room, tail_limit = halves(limit)
        # [seq, bytes, (text, at)]: the chunk not written yet; None in its place once written.
        self.tail: TailWindow[list[Any]] = TailWindow(tail_limit)
        self.unsent = 0  # how many chunks of the window are not written yet
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def tail_bytes(self) -> int:
        """The bytes the tail window holds now (at most its share, plus one chunk)."""
        return self.tail.size

    def take_head(self, size: int) -> bool:
        """Whether a chunk of ``size`` bytes still belongs to the head (and count it there)."""
        if self.head_room > 0:
            self.head_room -= size
            return True
        return False

    def hold(self, seq: int, text: str, size: int) -> list[int]:
        """Hold a tail chunk; return the seqs of written chunks that fell out of the window.

        A held chunk is a plain list: most of a fast producer's chunks leave the window
        unwritten, and never cost a model instance.
        """
        self.unsent += 1
        dropped = []
        for old_seq, _, old_chunk in self.tail.push(size, [seq, size, (text, timezone.now())]):
            if old_chunk is None:
                dropped.append(old_seq)
            else:
                self.unsent -= 1  # never written: nothing to delete
        return dropped

    def _unsent_entries(self) -> list[list[Any]]:
        # The chunks not written yet are always the newest ones: the end of the window.
        entries = list(islice(reversed(self.tail), self.unsent))
        entries.reverse()
        return entries

    def unsent_events(self, execution_id: int, kind: EventKind) -> list[ExecutionEvent]:
        if not self.unsent:
            return []
        return [
            ExecutionEvent(
                execution_id=execution_id,
                seq=seq,
                kind=kind,
                at=chunk[1],
                text=chunk[0],
                raw_bytes=size,
            )
            for seq, size, chunk in self._unsent_entries()
        ]

    def mark_sent(self) -> None:
        if self.unsent:
            for entry in self._unsent_entries():
                entry[2] = None
            self.unsent = 0


class LiveSink(Sink):
    """Stores a run's output and samples as :class:`ExecutionEvent` rows, in batches.

    A batch is written at most every 0.5 s, sooner when the head chunks in it reach 1 MB.
    Past a stream's head its chunks wait in a tail window and go out with the next batch:
    those that leave the window first are never written, those that leave it later are
    deleted in the same transaction as the batch is written.
    """

    def __init__(self, execution_id: int, output_limit: int, masker: Masker | None = None) -> None:
        self.execution_id = execution_id
        # Secrets are masked before anything is stored; a value split across two reads is
        # still caught (the stream masker holds back what could be a secret's beginning).
        self.maskers = (
            {EventKind.STDOUT: masker.stream(), EventKind.STDERR: masker.stream()} if masker else {}
        )
        self.seq = 0
        self.pending: list[ExecutionEvent] = []
        self.pending_bytes = 0
        self.to_delete: set[int] = set()
        self.streams = {
            EventKind.STDOUT: _StreamStore(output_limit),
            EventKind.STDERR: _StreamStore(output_limit),
        }
        self.uncounted = {EventKind.STDOUT: 0, EventKind.STDERR: 0}
        self.last_flush = time.monotonic()
        self.next_cancel_check = 0.0
        self.cancelling = False
        self.began = time.monotonic()
        self.last_cpu: tuple[float, float] | None = None
        self.timeline: list[list[Any]] = []
        # The script's pid, until a batch or a heartbeat has written it (a run that ends
        # before its first batch has it written with its end).
        self.unsaved_pid: int | None = None
        self.samples_written = False

    # -- runner callbacks ----------------------------------------------------------------

    def on_start(self, pid: int) -> None:
        self.unsaved_pid = pid  # written with the first batch: no statement of its own
        # The first look for a cancel request after CANCEL_CHECK_INTERVAL, like every later
        # one: a run shorter than that is never asked (a cancel that comes first ends it).
        self.next_cancel_check = time.monotonic() + CANCEL_CHECK_INTERVAL

    def on_output(self, stream: str, data: bytes) -> None:
        kind = EventKind(stream)
        text = self.streams[kind].decoder.decode(data)
        if self.maskers:
            text = self.maskers[kind].feed(text)
        if len(text) <= STORE_PIECE:
            self._add_output(kind, text, len(data))
        else:
            # Each piece counts its own UTF-8 bytes; the last one the rest, so the total is
            # what was read (replaced bytes and masked values make the two differ).
            left = len(data)
            starts = range(0, len(text), STORE_PIECE)
            for start in starts[:-1]:
                piece = text[start : start + STORE_PIECE]
                size = min(left, len(piece.encode("utf-8", errors="replace")))
                self._add_output(kind, piece, size)
                left -= size
            self._add_output(kind, text[starts[-1] :], left)
        if self.pending_bytes >= FLUSH_BYTES:
            self.flush()

    def on_sample(self, sample: TreeSample) -> None:
        now = time.monotonic()
        cpu_percent = 0.0
        if self.last_cpu is not None:
            elapsed = now - self.last_cpu[0]
            if elapsed > 0:
                cpu_percent = max(0.0, (sample.cpu_seconds - self.last_cpu[1]) / elapsed * 100)
        self.last_cpu = (now, sample.cpu_seconds)
        if not sample.processes:
            return  # between the launcher's start and the script's: nothing to show yet
        self.seq += 1
        point = [
            self.seq,
            round(now - self.began, 3),
            sample.rss_bytes,
            round(cpu_percent, 1),
            sample.processes,
            sample.read_bytes,
            sample.write_bytes,
        ]
        self.timeline.append(point)
        self.pending.append(
            ExecutionEvent(
                execution_id=self.execution_id,
                seq=self.seq,
                kind=EventKind.SAMPLE,
                at=timezone.now(),
                data=point[1:],
            )
        )

    def on_heartbeat(self) -> None:
        try:
            services.heartbeat(self.execution_id, pid=self.unsaved_pid)
            self.unsaved_pid = None
        except Exception:  # a database blip must not stop the script; the next beat retries
            log.warning("heartbeat of execution %s failed", self.execution_id, exc_info=True)

    def on_tick(self) -> None:
        now = time.monotonic()
        if now - self.last_flush >= FLUSH_INTERVAL and self._has_unsent():
            self.flush()
        if not self.cancelling and now >= self.next_cancel_check:
            self.next_cancel_check = now + CANCEL_CHECK_INTERVAL
            try:
                self.cancelling = services.cancel_requested(self.execution_id)
            except Exception:
                log.warning("could not read execution %s", self.execution_id, exc_info=True)

    def cancel_requested(self) -> bool:
        return self.cancelling

    # -- storing ---------------------------------------------------------------------------

    def _add_output(self, kind: EventKind, text: str, size: int) -> None:
        if not text:
            # Bytes that are not text yet (half a character, a maybe-secret held back)
            # are counted with the chunk that carries them.
            self.uncounted[kind] += size
            return
        size += self.uncounted[kind]
        self.uncounted[kind] = 0
        self.seq += 1
        store = self.streams[kind]
        if store.take_head(size):
            self.pending.append(
                ExecutionEvent(
                    execution_id=self.execution_id,
                    seq=self.seq,
                    kind=kind,
                    at=timezone.now(),
                    text=text,
                    raw_bytes=size,
                )
            )
            self.pending_bytes += size
        else:
            self.to_delete.update(store.hold(self.seq, text, size))

    def _has_unsent(self) -> bool:
        return bool(self.pending) or any(store.unsent for store in self.streams.values())

    def batch(self, with_samples: bool = True) -> list[ExecutionEvent]:
        """What is not written yet: head chunks and samples, then the tail windows."""
        batch = [e for e in self.pending if with_samples or e.kind != EventKind.SAMPLE]
        for kind, store in self.streams.items():
            batch.extend(store.unsent_events(self.execution_id, kind))
        return batch

    def flush(self) -> bool:
        """Write the batch; a failed write is kept and tried again at the next flush."""
        self.last_flush = time.monotonic()
        batch = self.batch()
        if not batch and not self.to_delete:
            return True
        try:
            services.store_events(self.execution_id, batch, self.to_delete, pid=self.unsaved_pid)
        except Exception:
            log.warning("could not store output of execution %s", self.execution_id, exc_info=True)
            # Kept for the next flush: the head chunks and samples, and the tail window,
            # which drops what leaves it: memory stays bounded by the output limit however
            # long the database is away.
            return False
        self.stored(batch)
        return True

    def stored(self, batch: list[ExecutionEvent]) -> None:
        """``batch`` (and the deletions asked for with it) has been written."""
        self.samples_written = self.samples_written or any(
            e.kind == EventKind.SAMPLE for e in batch
        )
        self.unsaved_pid = None
        self.pending = []
        self.pending_bytes = 0
        self.to_delete = set()
        for store in self.streams.values():
            store.mark_sent()

    def end_streams(self) -> None:
        """Decode what the streams left half-way (and what a masker held back)."""
        for kind, store in self.streams.items():
            tail = store.decoder.decode(b"", final=True)
            if self.maskers:
                tail = self.maskers[kind].feed(tail) + self.maskers[kind].flush()
            if tail:
                self._add_output(kind, tail, 0)

    def close(self, within: float = 0.0) -> None:
        """End the streams and write the last batch, trying for up to ``within`` seconds
        while the database is away. (A run that ended normally has a small last batch
        written with its end instead: :meth:`end_streams`, :meth:`batch`, ``finish``.)"""
        self.end_streams()
        self.flush_within(within)

    def flush_within(self, within: float) -> None:
        """Write the batch, trying for up to ``within`` seconds while the database is away."""
        deadline = time.monotonic() + within
        pause = 0.5
        while not self.flush() and time.monotonic() + pause < deadline:
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
