"""The folder watch's fallbacks: no inotify, a folder that goes away. The sync is recorded."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scriptdeck.catalog import watch
from scriptdeck.catalog.registry import SyncReport


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


class Syncs(list):
    def __call__(self, root: Path) -> SyncReport:
        self.append(root)
        return SyncReport(added=["x"])


@pytest.fixture
def running() -> Iterator[Callable[[watch.FolderWatch], threading.Thread]]:
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(folder_watch: watch.FolderWatch) -> threading.Thread:
        thread = threading.Thread(target=folder_watch.run, args=(stop,))
        thread.start()
        threads.append(thread)
        return thread

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive(), "the watch did not stop when told to"


def test_without_inotify_it_rescans_every_few_seconds(tmp_path, monkeypatch, caplog, running):
    def unavailable(*args: object, **kwargs: object) -> Iterator[set]:
        raise OSError("inotify is not available")

    monkeypatch.setattr(watch.watchfiles, "watch", unavailable)
    syncs = Syncs()
    caplog.set_level(logging.INFO, logger="scriptdeck.catalog.watch")
    running(watch.FolderWatch(tmp_path, 0.1, sync=syncs))
    wait_for(lambda: len(syncs) >= 3)  # the start, then rescans
    told = [r for r in caplog.records if "cannot watch" in r.getMessage()]
    assert len(told) == 1  # said once, not at every rescan
    assert "inotify is not available" in told[0].getMessage()
    assert any("catalog sync (rescan): 1 added" in r.getMessage() for r in caplog.records)


def test_a_folder_that_is_gone_deactivates_nothing_until_it_is_back(tmp_path, caplog, running):
    folder = tmp_path / "scripts"
    syncs = Syncs()
    caplog.set_level(logging.INFO, logger="scriptdeck.catalog.watch")
    running(watch.FolderWatch(folder, 0.1, sync=syncs))
    wait_for(lambda: any("is gone" in r.getMessage() for r in caplog.records))
    assert syncs == []
    folder.mkdir()
    wait_for(lambda: syncs)
    assert syncs[0] == folder
