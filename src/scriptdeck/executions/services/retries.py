"""A failed run's next attempt, when the script's retry policy asks for one."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from django.utils import timezone

from scriptdeck.catalog.models import Script

from ..models import FailureReason, Status, TaskExecution

MAX_BACKOFF_SECONDS = 3600


def retry_delay(base: int, attempt: int) -> float:
    """Exponential back-off with ±20 % jitter: base, 2×base, 4×base… capped at an hour."""
    delay = min(base * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)
    return delay * random.uniform(0.8, 1.2)


def _retry_allowed(execution: TaskExecution, script: Script) -> bool:
    reason = execution.failure_reason
    limit = script.max_retries
    if reason in (FailureReason.WORKER_LOST, FailureReason.WORKER_SHUTDOWN):
        if script.rerun_on_worker_lost:
            limit = max(limit, 1)
            allowed = True
        else:
            allowed = FailureReason.WORKER_LOST in (script.retry_on or [])
    elif reason == FailureReason.EXIT_CODE:
        allowed = execution.exit_code in (script.retry_exit_codes or [])
    else:
        allowed = reason in (script.retry_on or []) and reason != FailureReason.SCRIPT_ERROR
    return allowed and execution.attempt <= limit


def schedule_retry(execution_id: int) -> None:
    """After a failure the script's policy retries, record the next attempt (in the same
    transaction as the failure, so it is created once whoever recorded the failure)."""
    execution = TaskExecution.objects.select_related("script", "user").get(pk=execution_id)
    script = execution.script
    if script is None or not script.is_active or execution.status != Status.FAILURE:
        return
    if not _retry_allowed(execution, script):
        return
    delay = retry_delay(script.retry_backoff, execution.attempt)
    following = TaskExecution.objects.create(
        task_id=uuid.uuid4(),
        script=script,
        script_name=execution.script_name,
        script_path=execution.script_path,
        queue=script.queue,
        user=execution.user,
        page_context=execution.page_context,
        parameters=execution.parameters,
        secret_parameters=execution.secret_parameters,
        trigger=execution.trigger,
        trigger_ref=execution.trigger_ref,
        attempt=execution.attempt + 1,
        retry_of_id=execution.retry_of_id or execution.pk,
        dispatch_after=timezone.now() + timedelta(seconds=delay),
    )
    TaskExecution.objects.filter(pk=execution.pk).update(
        retried_by=following,
        error_message=f"{execution.error_message}\nRetried as execution {following.pk} "
        f"(attempt {following.attempt}) after {delay:.0f} s.",
    )
