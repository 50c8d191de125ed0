"""The Celery adapter: a message carries an execution id, nothing else."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from scriptdeck.celery import EXECUTE_TASK
from scriptdeck.executions.models import FailureReason

from . import lifecycle  # noqa: F401  (connects the worker process hooks)
from .execute import execute

INTERRUPTIONS = {
    SoftTimeLimitExceeded: (
        FailureReason.TIMEOUT,
        "Celery's backstop time limit ended the run; the process tree was killed.",
    )
}


@shared_task(name=EXECUTE_TASK, bind=True, acks_late=True, ignore_result=True)
def execute_task(self, execution_id: int) -> str:  # noqa: ANN001
    try:
        return execute(
            int(execution_id), hostname=self.request.hostname, interruptions=INTERRUPTIONS
        )
    except SoftTimeLimitExceeded:
        return "failed"  # recorded as a timeout above; nothing for Celery to retry
