"""What a waiting run waits for, and where it stands in its script's line."""

from __future__ import annotations

from typing import Any

from ..models import Status, TaskExecution


def waiting_reason(execution: TaskExecution, live: list[Any] | None = None) -> str | None:
    """Why a PENDING execution has not started, in a sentence.

    ``live``: the live workers, when the caller already read them (a list of many).
    """
    if execution.status != Status.PENDING:
        return None
    if live is None:
        from .. import workers

        live = workers.live()
    serving = [w for w in live if execution.queue in (w.queues or [])]
    if not serving:
        return f"waiting for a worker on queue {execution.queue}"
    limit = execution.script.max_concurrent if execution.script else None
    if limit and execution.dispatched_at is None:
        return f"waiting for a free slot (at most {limit} at once)"
    if execution.dispatched_at is None:
        return "waiting to be sent to the broker"
    return f"queued on {execution.queue}"


def queue_position(execution: TaskExecution) -> int | None:
    """Where a waiting execution stands among its script's waiting ones (1 = next)."""
    if execution.status != Status.PENDING or execution.script_id is None:
        return None
    earlier = TaskExecution.objects.filter(
        script_id=execution.script_id, status=Status.PENDING, created_at__lt=execution.created_at
    )
    return earlier.count() + 1
