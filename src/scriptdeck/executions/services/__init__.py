"""The one place an execution's state changes: the functions every door calls.

Submission (with its parameter preparation), dispatch, the transitions a worker makes,
cancel, retries. Each module holds one of those roles; this package is their one face.
"""

from __future__ import annotations

from .cancelling import CancelRefused, cancel
from .dispatching import dispatch, release
from .retries import retry_delay
from .storable import storable_text
from .submission import Prepared, SubmitError, prepare_parameters, submit
from .transitions import (
    cancel_requested,
    execution_ended,
    fail,
    finish,
    heartbeat,
    start,
    store_events,
)
from .waiting import queue_position, waiting_reason

__all__ = [
    "CancelRefused",
    "Prepared",
    "SubmitError",
    "cancel",
    "cancel_requested",
    "dispatch",
    "execution_ended",
    "fail",
    "finish",
    "heartbeat",
    "prepare_parameters",
    "queue_position",
    "release",
    "retry_delay",
    "start",
    "store_events",
    "storable_text",
    "submit",
    "waiting_reason",
]
