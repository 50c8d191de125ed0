"""Cancelling a run: at once while it waits, through its worker once it runs."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import announcements
from ..models import FailureReason, Status, TaskExecution
from .transitions import after_end


class CancelRefused(Exception):
    """The execution has already ended."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the execution already ended as {status}; there is nothing to cancel")
        self.status = status


def cancel(execution_id: int, user: Any) -> str:
    """Cancel an execution and return its status afterwards.

    A PENDING execution ends CANCELLED at once and never runs, even if its message is
    delivered later. A STARTED one is asked to stop; its worker sees the request within
    a second and ends it CANCELLED.
    """
    now = timezone.now()
    who = user if getattr(user, "is_authenticated", False) else None
    name = getattr(who, "username", None) or "someone"
    with transaction.atomic():
        if TaskExecution.objects.filter(pk=execution_id, status=Status.PENDING).update(
            status=Status.CANCELLED,
            cancel_requested_at=now,
            cancelled_by=who,
            completed_at=now,
            failure_reason=FailureReason.CANCELLED,
            error_message=f"Cancelled by {name} before it started.",
        ):
            after_end(execution_id)
            return Status.CANCELLED
        running = TaskExecution.objects.filter(pk=execution_id, status=Status.STARTED)
        if (
            running.filter(cancel_requested_at__isnull=True).update(
                cancel_requested_at=now, cancelled_by=who
            )
            or running.exists()
        ):
            announcements.announce(execution_id)
            return Status.STARTED
    status = TaskExecution.objects.filter(pk=execution_id).values_list("status", flat=True).first()
    raise CancelRefused(status or "unknown")
