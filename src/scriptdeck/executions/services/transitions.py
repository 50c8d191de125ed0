"""A run's state after submission: start, heartbeat, output, finish, fail.

Every transition is a conditional UPDATE on the current status, so a worker, a
duplicate delivery, the sweeper and a cancel can race and only one wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from scriptdeck.catalog.models import Script
from scriptdeck.runner import Outcome

from .. import announcements
from ..models import EventKind, ExecutionEvent, Status, TaskExecution
from .dispatching import release
from .record import write_result_record
from .retries import schedule_retry
from .storable import jsonable, storable_text

# Sent in the transaction that ends a run, so what a receiver writes (an outbox row, say)
# commits or rolls back with the end itself; with ``execution_id`` and, when the sender
# holds the row, its ``script_id``, ``trigger`` and ``trigger_ref``.
execution_ended = Signal()


def start(execution_id: int, worker_host: str, worker_pid: int) -> TaskExecution | None:
    """PENDING → STARTED, or None when there is nothing to start (a duplicate delivery).

    For a script with a concurrency limit, a message is a claim on one slot, not on one
    run: under a lock on the script's row it starts the *oldest* sent run of that script.
    Two messages taken by two workers at once thus still start their runs in submission
    order, and every message starts one run. With no slot free, the newest sent run goes
    back to waiting (it is released when a slot frees up).
    """
    now = timezone.now()
    # The common case first: a script without a concurrency limit, its run still PENDING.
    # One conditional UPDATE claims it; the announcement goes out once it is committed.
    # (The status test stays on the updated table itself, not in a join, so a second delivery
    # of the same message waits for the first claim and then finds the row STARTED.)
    unlimited = Script.objects.filter(max_concurrent__isnull=True).values("pk")
    claimed = TaskExecution.objects.filter(
        pk=execution_id, status=Status.PENDING, script_id__in=unlimited
    ).update(
        status=Status.STARTED,
        started_at=now,
        heartbeat_at=now,
        worker_host=worker_host,
        worker_pid=worker_pid,
    )
    if claimed:
        announcements.announce(execution_id)
        return TaskExecution.objects.select_related("script").get(pk=execution_id)
    with transaction.atomic():
        row = (
            TaskExecution.objects.filter(pk=execution_id)
            .values("status", "script_id", "script__max_concurrent")
            .first()
        )
        if row is None:
            return None
        own_pending = row["status"] == Status.PENDING
        if not row["script__max_concurrent"]:
            if not own_pending:
                return None
        else:
            script_id = row["script_id"]
            Script.objects.select_for_update().filter(pk=script_id).first()
            sent = TaskExecution.objects.filter(
                script_id=script_id, status=Status.PENDING, dispatched_at__isnull=False
            )
            running = TaskExecution.objects.filter(
                script_id=script_id, status=Status.STARTED
            ).count()
            if running >= row["script__max_concurrent"]:
                newest = sent.order_by("-created_at", "-pk").values_list("pk", flat=True).first()
                if newest is not None:
                    TaskExecution.objects.filter(pk=newest).update(dispatched_at=None)
                return None
            oldest = sent.order_by("created_at", "pk").values_list("pk", flat=True).first()
            if oldest is None and not own_pending:
                return None
            execution_id = oldest if oldest is not None else execution_id
        now = timezone.now()  # taken under the lock: start times follow the claim order
        claimed = TaskExecution.objects.filter(pk=execution_id, status=Status.PENDING).update(
            status=Status.STARTED,
            started_at=now,
            heartbeat_at=now,
            worker_host=worker_host,
            worker_pid=worker_pid,
        )
        if claimed:
            announcements.announce(execution_id)
    if not claimed:
        return None
    return TaskExecution.objects.select_related("script").get(pk=execution_id)


def after_end(execution_id: int, execution: TaskExecution | None = None) -> None:
    """A run ended: tell who listens (in this transaction), free a slot of a limited script.

    ``execution``, when the caller holds the row (its script loaded), saves reading it again.
    """
    announcements.announce(execution_id, ended=True)
    if execution is not None:
        execution_ended.send(
            sender=TaskExecution,
            execution_id=execution_id,
            script_id=execution.script_id,
            trigger=execution.trigger,
            trigger_ref=execution.trigger_ref,
        )
    else:
        execution_ended.send(sender=TaskExecution, execution_id=execution_id)
    if execution is not None:
        script = execution.script
        script_id = script.pk if script is not None and script.max_concurrent else None
    else:
        script_id = (
            TaskExecution.objects.filter(pk=execution_id, script__max_concurrent__isnull=False)
            .values_list("script_id", flat=True)
            .first()
        )
    if script_id is not None:
        transaction.on_commit(lambda: release(script_id))


def heartbeat(execution_id: int, pid: int | None = None) -> None:
    """Say the run is alive (and, once known, the script's pid)."""
    fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if pid is not None:
        fields["pid"] = pid
    TaskExecution.objects.filter(pk=execution_id, status=Status.STARTED).update(**fields)


def finish(
    execution_id: int,
    outcome: Outcome,
    script_sha256: str = "",
    timeline: list[list[Any]] | None = None,
    execution: TaskExecution | None = None,
    samples_stored: bool = True,
    events: list[ExecutionEvent] | None = None,
    stale: set[int] | None = None,
) -> bool:
    """STARTED → SUCCESS, FAILURE or CANCELLED with everything the run measured.

    A successful run gets its result record in the same transaction, exactly once. The
    resource samples move from the event log into the row's compact ``timeline``
    (``samples_stored=False``: none was written, nothing to delete). ``execution``, the row
    as the worker claimed it (its script loaded), saves reading it back for the record.
    ``events`` and ``stale``: the run's last batch of output, written (and the chunks that
    left the tail window deleted) in the same transaction, whether or not the run had
    already been ended by someone else: what the script printed is kept either way.
    """
    if outcome.succeeded:
        status = Status.SUCCESS
    elif outcome.cancelled:
        status = Status.CANCELLED
    else:
        status = Status.FAILURE
    peak = outcome.peak_rss_bytes
    fields: dict[str, Any] = {
        "status": status,
        "failure_reason": "" if outcome.succeeded else (outcome.failure_reason or ""),
        "error_message": "" if outcome.succeeded else storable_text(outcome.error_message),
        "completed_at": timezone.now(),
        "execution_time": round(outcome.wall_time, 6),
        "peak_rss_bytes": peak,
        "memory_usage": round(peak / (1024 * 1024), 3),
        "cpu_user": round(outcome.cpu_user, 6),
        "cpu_system": round(outcome.cpu_system, 6),
        "exit_code": outcome.exit_code,
        "signal": outcome.signal,
        "result": jsonable(outcome.result),
        "stdout": storable_text(outcome.stdout),
        "stderr": storable_text(outcome.stderr),
        "stdout_bytes": outcome.stdout_bytes,
        "stderr_bytes": outcome.stderr_bytes,
        "stdout_dropped": outcome.stdout_dropped,
        "stderr_dropped": outcome.stderr_dropped,
        "details": jsonable(outcome.details or {}),
    }
    if outcome.pid:
        fields["pid"] = outcome.pid
    if script_sha256:
        fields["script_sha256"] = script_sha256
    if timeline is not None:
        fields["timeline"] = timeline
    with transaction.atomic():
        if events or stale:
            write_events(execution_id, events or [], stale or set())
        ended = TaskExecution.objects.filter(pk=execution_id, status=Status.STARTED).update(
            **fields
        )
        if ended:
            if status == Status.CANCELLED:
                _explain_cancel(execution_id, outcome)
            if outcome.succeeded:
                if execution is not None:
                    for name, value in fields.items():  # the row as the UPDATE left it
                        setattr(execution, name, value)
                else:
                    execution = TaskExecution.objects.select_related("script").get(pk=execution_id)
                write_result_record(execution)
            if timeline is not None and samples_stored:
                ExecutionEvent.objects.filter(
                    execution_id=execution_id, kind=EventKind.SAMPLE
                ).delete()
            if status == Status.FAILURE:
                schedule_retry(execution_id)
            after_end(execution_id, execution)
    return bool(ended)


def _explain_cancel(execution_id: int, outcome: Outcome) -> None:
    row = TaskExecution.objects.filter(pk=execution_id).values("cancelled_by__username").first()
    who = (row or {}).get("cancelled_by__username") or "someone"
    TaskExecution.objects.filter(pk=execution_id).update(
        error_message=f"Cancelled by {who}. {outcome.error_message}"
    )


def fail(
    execution_id: int,
    reason: str,
    message: str,
    from_statuses: tuple[str, ...] = (Status.PENDING, Status.STARTED),
    heartbeat_before: datetime | None = None,
) -> bool:
    """End an execution as FAILURE with a reason and a sentence, if it has not ended yet."""
    rows = TaskExecution.objects.filter(pk=execution_id, status__in=from_statuses)
    if heartbeat_before is not None:
        rows = rows.filter(heartbeat_at__lt=heartbeat_before)
    with transaction.atomic():
        ended = rows.update(
            status=Status.FAILURE,
            failure_reason=reason,
            error_message=message,
            completed_at=timezone.now(),
        )
        if ended:
            schedule_retry(execution_id)
            after_end(execution_id)
    return bool(ended)


def cancel_requested(execution_id: int) -> bool:
    return TaskExecution.objects.filter(
        pk=execution_id, status=Status.STARTED, cancel_requested_at__isnull=False
    ).exists()


def store_events(
    execution_id: int, events: list[ExecutionEvent], stale: set[int], pid: int | None = None
) -> None:
    """Write a batch of a running execution's events; drop those that left the tail window.

    ``pid``: the script's, when it is not written yet.
    """
    with transaction.atomic():
        write_events(execution_id, events, stale)
        if pid is not None:
            TaskExecution.objects.filter(pk=execution_id, status=Status.STARTED).update(pid=pid)
        if events:
            announcements.announce(execution_id)


def write_events(execution_id: int, events: list[ExecutionEvent], stale: set[int]) -> None:
    for event in events:
        event.text = storable_text(event.text)
    if stale:
        ExecutionEvent.objects.filter(execution_id=execution_id, seq__in=stale).delete()
    if events:
        ExecutionEvent.objects.bulk_create(events)
