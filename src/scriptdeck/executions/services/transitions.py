"""The one place an execution's state changes.

Every transition is a conditional UPDATE on the current status, so a worker, a
duplicate delivery, the sweeper and (later) a cancel can race and only one wins.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from scriptdeck.access import audit
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.parameters import ParameterErrors, split_secrets, validate_parameters
from scriptdeck.catalog.paths import confine, relative_name
from scriptdeck.celery import EXECUTE_TASK, app
from scriptdeck.refusals import Refusal
from scriptdeck.runner import Outcome, UnsupportedScript, command_for
from scriptdeck.security.crypto import decrypt_json, encrypt_json

from . import changes, uploads
from .models import (
    EventKind,
    ExecutionEvent,
    FailureReason,
    ResultRecord,
    Status,
    TaskExecution,
    Trigger,
)

log = logging.getLogger(__name__)

# Sent inside the transaction that ends an execution, so what a receiver writes (an
# outbox row, say) commits or rolls back with the end itself.
# Sent in the transaction that ends a run, with ``execution_id`` and, when the sender holds
# the row, its ``script_id``, ``trigger`` and ``trigger_ref``.
execution_ended = Signal()

RESULT_FILE_SUFFIX = "_执行结果_"
SYSTEM_DIRECTOR = "系统自动"
# Celery's own limits sit above the script's hard limit: a backstop, never the rule.
CELERY_BACKSTOP_SECONDS = 60


class SubmitError(Refusal, ValueError):
    """A submission refused before anything was written or queued."""


def submit(
    *,
    script: Script,
    parameters: dict[str, Any] | None = None,
    page_context: str = "",
    user: Any = None,
    run_name: str | None = None,
    path: Path | None = None,
    origin_ip: str | None = None,
    secret_parameters: str | None = None,
    trigger: str = Trigger.MANUAL,
    trigger_ref: str = "",
) -> TaskExecution:
    """Validate the parameters, record a PENDING execution, queue it once committed.

    What is stored is what the script receives, with secret values masked and kept apart,
    encrypted. The task id is chosen before the row is written, so a fast worker always
    finds it. ``secret_parameters`` (already encrypted) carries a previous run's secrets
    into a re-run, where the submitted values show them masked.
    """
    if not script.is_active:
        raise SubmitError("script", f"script {script.name!r} is deactivated")
    parameters = {} if parameters is None else parameters
    if not isinstance(page_context, str):
        raise SubmitError("page_context", "must be a string")
    _check_storable("page_context", page_context)
    schema = script.effective_schema
    if secret_parameters:
        parameters = {**parameters, **decrypt_json(secret_parameters)}
    try:
        parameters = validate_parameters(
            schema, parameters, max_fields=settings.SCRIPTDECK_MAX_PARAMETERS
        )
    except ParameterErrors as exc:
        raise SubmitError.from_errors(exc.errors) from None
    _check_storable("parameters", parameters)
    path = path or confine(script.path)
    try:
        command_for(path)
    except UnsupportedScript as exc:
        raise SubmitError("script", str(exc)) from None
    try:
        uploads.check_parameters(schema, parameters, user)
    except uploads.UploadRefused as exc:
        raise SubmitError(exc.field, exc.message) from None
    shown, secrets = split_secrets(schema, parameters)
    _, rel = relative_name(path)
    # A script without a concurrency limit is sent as soon as the row is committed: stamped
    # here, so the send needs no write of its own (a refused send clears the stamp).
    stamp = None if script.max_concurrent else timezone.now()
    with transaction.atomic():
        execution = TaskExecution.objects.create(
            task_id=uuid.uuid4(),
            script=script,
            script_name=run_name or script.name,
            script_path=rel,
            queue=script.queue,
            user=user if getattr(user, "is_authenticated", False) else None,
            page_context=page_context or "",
            parameters=shown,
            secret_parameters=encrypt_json(secrets) if secrets else "",
            trigger=trigger,
            trigger_ref=str(trigger_ref or ""),
            dispatched_at=stamp,
        )
        execution_id = execution.pk
        audit.record(
            audit.Action.RUN,
            actor=user,
            target=execution,
            ip=origin_ip,
            script=script.name,
            parameters=shown,
            page_context=page_context or "",
            trigger=trigger,
        )
        if stamp is None:
            transaction.on_commit(lambda: release(script.pk))
        else:
            message = _Message(str(execution.task_id), execution.queue, script.time_limit)

            def send() -> None:
                if not _send(execution_id, stamp, message):
                    execution.dispatched_at = None  # as the row says: the sweeper sends it

            transaction.on_commit(send)
    return execution


def dispatch(execution_id: int) -> bool:
    """Send "run execution N" to the broker. A refusal leaves it PENDING for the sweeper."""
    stamp = _mark_dispatched(execution_id)
    return stamp is not None and _send(execution_id, stamp)


def _mark_dispatched(execution_id: int) -> datetime | None:
    # Stamped before the message leaves: a worker that holds the run back for want of a
    # slot clears the stamp, and that must not be overwritten afterwards.
    stamp = timezone.now()
    marked = TaskExecution.objects.filter(pk=execution_id, status=Status.PENDING).update(
        dispatched_at=stamp
    )
    return stamp if marked else None


class _Message(NamedTuple):
    task_id: str
    queue: str
    time_limit: float | None


def _send(execution_id: int, stamp: datetime, message: _Message | None = None) -> bool:
    if message is None:
        row = (
            TaskExecution.objects.filter(pk=execution_id)
            .values("task_id", "queue", "script__time_limit")
            .first()
        )
        if row is None:
            return False
        message = _Message(str(row["task_id"]), row["queue"], row["script__time_limit"])
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
        stamps = {pk: _mark_dispatched(pk) for pk in chosen}
    sent = []
    for execution_id, stamp in stamps.items():
        if stamp is not None and _send(execution_id, stamp):
            sent.append(execution_id)
    return sent


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
        changes.announce(execution_id)
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
            changes.announce(execution_id)
    if not claimed:
        return None
    return TaskExecution.objects.select_related("script").get(pk=execution_id)


def _after_end(execution_id: int, execution: TaskExecution | None = None) -> None:
    """A run ended: tell who listens (in this transaction), free a slot of a limited script.

    ``execution``, when the caller holds the row (its script loaded), saves reading it again.
    """
    changes.announce(execution_id, ended=True)
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


def _schedule_retry(execution_id: int) -> None:
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
        "result": _jsonable(outcome.result),
        "stdout": storable_text(outcome.stdout),
        "stderr": storable_text(outcome.stderr),
        "stdout_bytes": outcome.stdout_bytes,
        "stderr_bytes": outcome.stderr_bytes,
        "stdout_dropped": outcome.stdout_dropped,
        "stderr_dropped": outcome.stderr_dropped,
        "details": _jsonable(outcome.details or {}),
    }
    if outcome.pid:
        fields["pid"] = outcome.pid
    if script_sha256:
        fields["script_sha256"] = script_sha256
    if timeline is not None:
        fields["timeline"] = timeline
    with transaction.atomic():
        if events or stale:
            _write_events(execution_id, events or [], stale or set())
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
                _write_result_record(execution)
            if timeline is not None and samples_stored:
                ExecutionEvent.objects.filter(
                    execution_id=execution_id, kind=EventKind.SAMPLE
                ).delete()
            if status == Status.FAILURE:
                _schedule_retry(execution_id)
            _after_end(execution_id, execution)
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
            _schedule_retry(execution_id)
            _after_end(execution_id)
    return bool(ended)


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
            _after_end(execution_id)
            return Status.CANCELLED
        running = TaskExecution.objects.filter(pk=execution_id, status=Status.STARTED)
        if (
            running.filter(cancel_requested_at__isnull=True).update(
                cancel_requested_at=now, cancelled_by=who
            )
            or running.exists()
        ):
            changes.announce(execution_id)
            return Status.STARTED
    status = TaskExecution.objects.filter(pk=execution_id).values_list("status", flat=True).first()
    raise CancelRefused(status or "unknown")


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
        _write_events(execution_id, events, stale)
        if pid is not None:
            TaskExecution.objects.filter(pk=execution_id, status=Status.STARTED).update(pid=pid)
        if events:
            changes.announce(execution_id)


def _write_events(execution_id: int, events: list[ExecutionEvent], stale: set[int]) -> None:
    for event in events:
        event.text = storable_text(event.text)
    if stale:
        ExecutionEvent.objects.filter(execution_id=execution_id, seq__in=stale).delete()
    if events:
        ExecutionEvent.objects.bulk_create(events)


def waiting_reason(execution: TaskExecution, live: list[Any] | None = None) -> str | None:
    """Why a PENDING execution has not started, in a sentence.

    ``live``: the live workers, when the caller already read them (a list of many).
    """
    if execution.status != Status.PENDING:
        return None
    if live is None:
        from . import workers

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


def _jsonable(value: Any) -> Any:
    """A value every database stores: NUL characters (PostgreSQL refuses them) replaced.

    A value that is already what JSON gives back (the usual result) is kept as it is: the
    round trip would copy a big text result twice.
    """
    if _plain_json(value):
        return value
    value = json.loads(json.dumps(value, default=str))
    return _scrub(value)


def _plain_json(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is str/int/float/bool/None, lists and str-keyed dicts of them, with
    no NUL character: what ``json.loads(json.dumps(value))`` gives back unchanged."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return "\x00" not in value
    if depth > 100:
        return False
    if type(value) is list:
        return all(_plain_json(item, depth + 1) for item in value)
    if type(value) is dict:
        return all(
            isinstance(key, str) and "\x00" not in key and _plain_json(item, depth + 1)
            for key, item in value.items()
        )
    return False


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, dict):
        return {storable_text(key): _scrub(item) for key, item in value.items()}
    return value


def storable_text(text: str) -> str:
    """Output as every database stores it: NUL characters replaced, as bad UTF-8 is."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _check_storable(field_name: str, value: Any) -> None:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        raise SubmitError(field_name, "must be valid UTF-8 JSON") from None
    if _scrub(value) != value:
        raise SubmitError(field_name, "must not contain NUL characters")


def _write_result_record(execution: TaskExecution) -> ResultRecord:
    result = execution.result
    description = execution.script.description if execution.script else ""
    task_id = str(execution.task_id)
    return ResultRecord.objects.create(
        execution=execution,
        scandevresult_filename=f"{execution.script_name}{RESULT_FILE_SUFFIX}{task_id[:8]}.json",
        scandevresult_time=execution.completed_at or timezone.now(),
        director=SYSTEM_DIRECTOR,
        remark=f"脚本执行结果 - {description or execution.script_name}",
        scandevresult_content=json.dumps(result, ensure_ascii=False, indent=2),
        status="0",
        result_type="script",
        script_name=execution.script_name,
        task_id=task_id,
        page_context=execution.page_context,
        execution_time=execution.execution_time,
        script_output=str(result.get("message", "")) if isinstance(result, dict) else "",
        error_message=None,
    )


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
