"""Sending "run execution N" to the broker, and releasing the runs of a limited script."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scriptdeck.catalog.models import Script
from scriptdeck.celery import EXECUTE_TASK, app

from ..models import Status, TaskExecution

log = logging.getLogger(__name__)

# Celery's own limits sit above the script's hard limit: a backstop, never the rule.
CELERY_BACKSTOP_SECONDS = 60


def dispatch(execution_id: int) -> bool:
    """Send "run execution N" to the broker. A refusal leaves it PENDING for the sweeper."""
    stamp = mark_dispatched(execution_id)
    return stamp is not None and send(execution_id, stamp)


def mark_dispatched(execution_id: int) -> datetime | None:
    # Stamped before the message leaves: a worker that holds the run back for want of a
    # slot clears the stamp, and that must not be overwritten afterwards.
    stamp = timezone.now()
    marked = TaskExecution.objects.filter(pk=execution_id, status=Status.PENDING).update(
        dispatched_at=stamp
    )
    return stamp if marked else None


class Message(NamedTuple):
    task_id: str
    queue: str
    time_limit: float | None


def send(execution_id: int, stamp: datetime, message: Message | None = None) -> bool:
    if message is None:
        row = (
            TaskExecution.objects.filter(pk=execution_id)
            .values("task_id", "queue", "script__time_limit")
            .first()
        )
        if row is None:
            return False
        message = Message(str(row["task_id"]), row["queue"], row["script__time_limit"])
    hard = message.time_limit or 600
    try:
        app.send_task(
            EXECUTE_TASK,
            args=[execution_id],
            task_id=message.task_id,
            queue=message.queue,
            soft_time_limit=hard + CELERY_BACKSTOP_SECONDS // 2,
            time_limit=hard + CELERY_BACKSTOP_SECONDS,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3},
        )
    except Exception as exc:  # the broker refused or is down: the sweeper sends it later
        log.warning("execution %s stays PENDING, the broker refused it: %s", execution_id, exc)
        TaskExecution.objects.filter(pk=execution_id, dispatched_at=stamp).update(
            dispatched_at=None
        )
        return False
    return True


def release(script_id: int) -> list[int]:
    """Dispatch the oldest waiting executions of a script with a concurrency limit.

    As many as it has free slots, in submission order. The slots are counted and the
    chosen runs stamped under a lock on the script's row, so concurrent releases never
    hand out one slot twice.
    """
    with transaction.atomic():
        script = Script.objects.select_for_update().filter(pk=script_id).first()
        if script is None:
            return []
        waiting = TaskExecution.objects.filter(script_id=script_id, status=Status.PENDING)
        if script.max_concurrent:
            busy = TaskExecution.objects.filter(script_id=script_id, status=Status.STARTED).count()
            busy += waiting.filter(dispatched_at__isnull=False).count()
            free = max(0, script.max_concurrent - busy)
        else:
            free = waiting.count()
        due = Q(dispatch_after__isnull=True) | Q(dispatch_after__lte=timezone.now())
        chosen = list(
            waiting.filter(due, dispatched_at__isnull=True)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:free]
        )
        # Sent long ago and never started: the message was lost. It holds a slot, so it is
        # sent again rather than counted busy for ever (a duplicate is harmless).
        lost = timezone.now() - timedelta(seconds=settings.SCRIPTDECK_REDISPATCH_AFTER)
        chosen += list(
            waiting.filter(dispatched_at__lt=lost)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
        )
        stamps = {pk: mark_dispatched(pk) for pk in chosen}
    sent = []
    for execution_id, stamp in stamps.items():
        if stamp is not None and send(execution_id, stamp):
            sent.append(execution_id)
    return sent
