"""A run writing a lot of output: the worker writes its tail window per flush, not every chunk."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.executions.models import EventKind, ExecutionEvent
from scriptdeck.security.masking import Masker
from scriptdeck.worker import live

LIMIT = 64 * 1024  # a 32 KiB head and a 32 KiB tail window
CHUNK = 4096


class Recording:
    """``services.store_events`` counting what it is asked to write; can fail like a lost DB."""

    def __init__(self) -> None:
        self.written = 0
        self.deleted = 0
        self.calls = 0
        self.failing = False
        self.store = services.store_events

    def __call__(self, execution_id, events, stale, pid=None):
        self.calls += 1
        if self.failing:
            raise OperationalError("server closed the connection unexpectedly")
        self.store(execution_id, events, stale, pid)
        self.written += sum(e.raw_bytes for e in events)
        self.deleted += len(stale)


@pytest.fixture
def running(synced, alice, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    services.start(execution.pk, "w", 1)
    return execution


@pytest.fixture
def store(monkeypatch):
    recording = Recording()
    monkeypatch.setattr(live.services, "store_events", recording)
    return recording


def chunk(i: int) -> bytes:
    return f"{i:08d}".encode().ljust(CHUNK - 1, b".") + b"\n"


def stored(execution) -> list[ExecutionEvent]:
    return list(
        ExecutionEvent.objects.filter(execution=execution, kind=EventKind.STDOUT).order_by("seq")
    )


def test_chunks_past_the_head_wait_for_the_flush_and_only_the_window_is_written(running, store):
    sink = live.LiveSink(running.pk, output_limit=LIMIT)
    count = 400  # 1.6 MB, 25 times the limit, within one flush interval
    for i in range(count):
        sink.on_output("stdout", chunk(i))
    # The head and the tail window are below the byte threshold: nothing was written yet.
    assert store.calls == 0
    assert sink.flush()
    assert store.written <= LIMIT + CHUNK
    rows = stored(running)
    # What a live reader sees: the head, and the latest output.
    assert rows[0].text.startswith("00000000")
    assert rows[-1].text.startswith(f"{count - 1:08d}")
    for i in range(count, 2 * count):
        sink.on_output("stdout", chunk(i))
    sink.close()
    # The second flush wrote a new window and deleted the one it replaced, in one call.
    assert store.calls == 2
    assert store.written <= LIMIT + LIMIT // 2 + 2 * CHUNK
    assert store.deleted >= (LIMIT // 2) // CHUNK - 1
    rows = stored(running)
    assert sum(e.raw_bytes for e in rows) <= LIMIT + CHUNK
    assert rows[0].text.startswith("00000000")
    assert rows[-1].text.startswith(f"{2 * count - 1:08d}")
    seqs = [e.seq for e in rows]
    assert seqs == sorted(seqs)
    head = [e for e in rows if int(e.text[:8]) < count]
    tail_starts = [int(e.text[:8]) for e in rows if int(e.text[:8]) >= count]
    assert sum(e.raw_bytes for e in head) >= LIMIT // 2
    # The tail is contiguous up to the last chunk: nothing missing inside the window.
    assert tail_starts == list(range(tail_starts[0], 2 * count))


def test_head_chunks_are_still_written_as_the_byte_threshold_is_reached(
    running, store, monkeypatch
):
    monkeypatch.setattr(live, "FLUSH_BYTES", 8 * 1024)
    sink = live.LiveSink(running.pk, output_limit=LIMIT)
    sink.on_output("stdout", chunk(0))
    assert store.calls == 0
    sink.on_output("stdout", chunk(1))
    assert store.calls == 1
    assert [e.text[:8] for e in stored(running)] == ["00000000", "00000001"]


def test_held_output_stays_bounded_while_the_database_is_away(running, store):
    sink = live.LiveSink(running.pk, output_limit=LIMIT)
    store.failing = True
    for i in range(2000):  # 8 MB while every flush fails
        sink.on_output("stdout", chunk(i))
        if i % 50 == 0:
            assert not sink.flush()
        held = sum(e.raw_bytes for e in sink.pending) + sum(
            s.tail_bytes for s in sink.streams.values()
        )
        assert held <= LIMIT + CHUNK
    store.failing = False
    sink.close(within=5)
    rows = stored(running)
    assert rows[0].text.startswith("00000000")
    assert rows[-1].text.startswith("00001999")
    assert sum(e.raw_bytes for e in rows) <= LIMIT + CHUNK


def test_a_secret_split_across_two_reads_past_the_head_is_masked(running, store):
    secret = "hunter2-correct-horse"
    sink = live.LiveSink(running.pk, output_limit=LIMIT, masker=Masker([secret]))
    for i in range(40):  # past the head
        sink.on_output("stdout", chunk(i))
    sink.on_output("stdout", b"token=" + secret[:9].encode())
    sink.on_output("stdout", secret[9:].encode() + b" done\n")
    sink.close()
    text = "".join(e.text for e in stored(running))
    assert secret not in text
    assert "token=••••" in text
    assert text.endswith(" done\n")


def test_a_one_mebibyte_read_is_stored_in_small_pieces_that_add_up(running):
    sink = live.LiveSink(running.pk, 64 * 1024 * 1024)
    data = ("ab€\n" * (1024 * 1024 // 6)).encode()  # multi-byte characters, ~1 MiB
    sink.on_output("stdout", data)
    sink.close()
    stored = list(
        ExecutionEvent.objects.filter(execution=running, kind=EventKind.STDOUT).order_by("seq")
    )
    assert len(stored) > 1
    assert all(0 < len(e.text) <= live.STORE_PIECE for e in stored)
    assert "".join(e.text for e in stored) == data.decode()
    assert sum(e.raw_bytes for e in stored) == len(data)
    assert [e.raw_bytes for e in stored[:-1]] == [len(e.text.encode()) for e in stored[:-1]]
