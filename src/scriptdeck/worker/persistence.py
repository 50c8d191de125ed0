"""Writing a run's outcome through a database that blinks: retry, reconnect, then give up."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, close_old_connections, connection

log = logging.getLogger(__name__)
T = TypeVar("T")


def persist(write: Callable[[], T], what: str, within: float) -> T:
    """Run ``write`` until it succeeds, for up to ``within`` seconds of database errors.

    A run that took minutes must not lose its record to a few seconds of database
    restart: the connection is dropped and opened again between tries (0.5 s, doubling
    to 5 s). Past the deadline the last error is raised.
    """
    deadline = time.monotonic() + within
    pause = 0.5
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("%s failed (%s); trying again in %.1f s", what, exc, pause)
            if not connection.in_atomic_block:
                connection.close()
                close_old_connections()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
