"""The sweeper: sends what the broker never got, ends runs whose worker went silent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from scriptdeck.executions.models import FailureReason, Status, TaskExecution
from scriptdeck.executions.services import dispatch, fail, release


@dataclass
class SweepReport:
    dispatched: list[int] = field(default_factory=list)
    still_pending: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.dispatched or self.still_pending or self.lost)


def sweep(limit: int = 500) -> SweepReport:
    """Send what the broker never got; end runs whose worker stopped heartbeating."""
    now = timezone.now()
    report = SweepReport()
    grace = timedelta(seconds=settings.SCRIPTDECK_DISPATCH_GRACE)
    redispatch = timedelta(seconds=settings.SCRIPTDECK_REDISPATCH_AFTER)
    stale = (
        TaskExecution.objects.filter(status=Status.PENDING)
        .filter(
            Q(dispatched_at__isnull=True, created_at__lt=now - grace)
            | Q(dispatched_at__lt=now - redispatch)
        )
        .filter(Q(dispatch_after__isnull=True) | Q(dispatch_after__lte=now))
        .order_by("created_at")
        .values_list("pk", "script_id", "script__max_concurrent")[:limit]
    )
    limited: set[int] = set()
    for execution_id, script_id, max_concurrent in list(stale):
        if max_concurrent:
            limited.add(script_id)  # waits for a free slot: released in submission order
            continue
        (report.dispatched if dispatch(execution_id) else report.still_pending).append(execution_id)
    for script_id in sorted(limited):
        report.dispatched.extend(release(script_id))
    lost_after = settings.SCRIPTDECK_WORKER_LOST_AFTER
    cutoff = now - timedelta(seconds=lost_after)
    lost = TaskExecution.objects.filter(status=Status.STARTED, heartbeat_at__lt=cutoff).values_list(
        "pk", "worker_host"
    )[:limit]
    for execution_id, host in list(lost):
        message = (
            f"The worker {host or '(unknown)'} stopped sending heartbeats for more than "
            f"{lost_after:g} s while the script ran; the run's outcome is unknown."
        )
        # The cutoff is part of the UPDATE: a heartbeat landing meanwhile keeps the run alive.
        if fail(
            execution_id,
            FailureReason.WORKER_LOST,
            message,
            (Status.STARTED,),
            heartbeat_before=cutoff,
        ):
            report.lost.append(execution_id)
    return report
