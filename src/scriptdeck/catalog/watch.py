"""Keeping the catalog in step with the scripts folder while the server runs.

inotify (through watchfiles) tells of changes, grouped into batches; a batch, however many
files it touches (a ``git pull`` of 500), is one full :func:`registry.sync`, which reads
the whole folder anyway. A full rescan after ``rescan_seconds`` without a change catches
what inotify misses (a network file system, an edit made while a sync ran), and is all
there is when the folder cannot be watched (no inotify, its watch limit reached).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles
from django.db import close_old_connections, connection

from . import registry

log = logging.getLogger(__name__)

# watchfiles' grouping: a batch ends after STEP_MS without a change, or after DEBOUNCE_MS
# of changes that keep coming. Both leave room for the sync within the 2 s a change may
# take to show.
STEP_MS = 200
DEBOUNCE_MS = 1200


class FolderWatch:
    """Syncs the catalog after each batch of changes under ``root``, and every
    ``rescan_seconds`` of quiet; ``may_sync`` says whether this process is the one that
    syncs at the moment (the sweeper holding its lease)."""

    def __init__(
        self,
        root: Path,
        rescan_seconds: float,
        *,
        may_sync: Callable[[], bool] = lambda: True,
        sync: Callable[[Path], registry.SyncReport] = registry.sync,
    ) -> None:
        self.root = root
        self.rescan_seconds = rescan_seconds
        self.may_sync = may_sync
        self._sync = sync
        self.syncs = 0
        self._missing_told = False

    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set. It starts with a sync, for what changed since the
        last one (while the server started)."""
        told: str | None = None
        try:
            self.sync_once("start")
            while not stop.is_set():
                try:
                    self._watch(stop)
                except Exception as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    if reason != told:
                        told = reason
                        log.warning(
                            "cannot watch %s (%s); rescanning it every %g s instead",
                            self.root,
                            reason,
                            self.rescan_seconds,
                        )
                    if stop.wait(self.rescan_seconds):
                        return
                    self.sync_once("rescan")
        finally:
            # The thread's own connection: nobody else will close it.
            connection.close()

    def _watch(self, stop: threading.Event) -> None:
        for changes in watchfiles.watch(
            self.root,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop,
            rust_timeout=int(self.rescan_seconds * 1000),
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            self.sync_once(f"{len(changes)} changes" if changes else "rescan")

    def sync_once(self, why: str) -> registry.SyncReport | None:
        """One full sync, logged with its counts; None when it did not run."""
        if not self.may_sync():
            return None
        if not self.root.is_dir():
            # An unmounted or renamed folder is not a folder emptied: keep every script.
            if not self._missing_told:
                self._missing_told = True
                log.warning("the scripts folder %s is gone; nothing is deactivated", self.root)
            return None
        self._missing_told = False
        close_old_connections()
        try:
            report = self._sync(self.root)
        except Exception:
            log.exception("catalog sync (%s) failed; the next change or rescan tries again", why)
            return None
        self.syncs += 1
        log.info(
            "catalog sync (%s): %d added, %d updated, %d deactivated, %d unchanged",
            why,
            len(report.added),
            len(report.updated),
            len(report.deactivated),
            report.unchanged,
        )
        return report
