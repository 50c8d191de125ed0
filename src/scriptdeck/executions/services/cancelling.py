"""Cancelling a run: at once while it waits, through its worker once it runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from scriptdeck.access import audit
from scriptdeck.access.models import Level
from scriptdeck.access.permissions import executions_for, owner_or_manager
from scriptdeck.refusals import WHOLE_REQUEST, Conflict, Forbidden, NotFound

from .. import announcements
from ..models import FailureReason, Status, TaskExecution
from .transitions import after_end


class CancelRefused(Conflict):
    """The execution has already ended: nothing to cancel (answered 409 with its status)."""

    default_code = "already_ended"

    def __init__(self, ended_as: str) -> None:
        super().__init__(
            WHOLE_REQUEST,
            f"the execution already ended as {ended_as}; there is nothing to cancel",
            params={"status": ended_as},
        )
        self.ended_as = ended_as

    def body(self) -> dict[str, Any]:
        # The cancel answer's shape, 202 or 409: ``status`` is the execution's.
        return {**super().body(), "status": self.ended_as}


def cancel(execution_id: int, user: Any, *, origin_ip: str | None = None) -> str:
    """Cancel an execution as ``user`` and return its status afterwards.

    A PENDING execution ends CANCELLED at once and never runs, even if its message is
    delivered later. A STARTED one is asked to stop; its worker sees the request within
    a second and ends it CANCELLED. Cancelling needs the run permission on the script, and
    to be the one who started the run or to manage the script; the audit row is written
    with the change. Raises ``NotFound`` (an execution ``user`` may not see),
    ``Forbidden``, or :class:`CancelRefused` (it has ended).
    """
    execution = (
        executions_for(user, TaskExecution.objects.select_related("script"))
        .filter(pk=execution_id)
        .first()
    )
    if execution is None:
        raise NotFound("execution", f"no execution {execution_id}")
    if execution.script is None or not owner_or_manager(
        user, execution.script, execution.user_id, owner_needs=Level.RUN
    ):
        raise Forbidden(
            WHOLE_REQUEST,
            "cancelling needs the run permission on the script, and to be the one who "
            "started it or to manage the script",
            code="cancel_denied",
        )
    now = timezone.now()
    who = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        status = _stop(execution_id, who, now)
        if status is not None:
            audit.record(
                audit.Action.CANCEL,
                actor=user,
                target=execution,
                ip=origin_ip,
                script=execution.script_name,
                status_then=status,
            )
            return status
    ended = TaskExecution.objects.filter(pk=execution_id).values_list("status", flat=True)
    raise CancelRefused(ended.first() or "unknown")


def _stop(execution_id: int, who: Any, now: datetime) -> str | None:
    """End a waiting run, or ask a running one to stop; None when it has ended."""
    name = getattr(who, "username", None) or "someone"
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
    return None
