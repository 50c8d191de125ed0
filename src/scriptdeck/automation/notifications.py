"""Notifications of ended runs: which rules a run's end calls for, and what they say.

When a run ends, :func:`queue_deliveries` (a receiver of ``services.execution_ended``, sent
inside the transaction that ends the run) writes one :class:`NotificationDelivery` per
matching rule: the outbox. Its rows commit or roll back with the end itself, so a run that
ended is notified once, and a run whose end rolled back is not notified at all.
``delivery.deliver_due`` (the scheduler process calls it on every pass) sends them.

Which rules match a run:

* a rule with a ``schedule``: only the runs that schedule started (``trigger`` "schedule",
  ``trigger_ref`` its id), whatever its ``script`` says;
* a rule with only a ``script``: every run of that script, however it was started.

Which event a rule sends, at most one per run (the subject and body say everything):

* ``failure``: the run ended FAILURE, the rule has ``on_failure``, and the run is not
  retried automatically (its retry policy started another attempt: that attempt's own
  end is what is notified);
* ``success``: the run ended SUCCESS and the rule has ``on_success``;
* ``slow``: the run took longer than ``duration_over`` and neither of the above fired. A
  slow failure (or success) is folded into the failure (or success) notification, which
  says it was slow: one run never gives one rule two messages.

A CANCELLED run notifies nothing: someone stopped it on purpose, it is not a failure, and
its duration is the canceller's choice, not the script's.

Bodies sent over HTTP are signed: ``X-Scriptdeck-Signature: sha256=<hex>``, the HMAC-SHA256
of ``f"{timestamp}.".encode() + body`` keyed with the rule's signing secret, where the
timestamp is ``X-Scriptdeck-Timestamp`` (unix seconds). Receivers check it with
:func:`verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.dispatch import receiver

from scriptdeck.executions import services
from scriptdeck.executions.models import FailureReason, Status, TaskExecution, Trigger

from .models import NotificationDelivery, NotificationRule, Schedule, WebhookTrigger

log = logging.getLogger(__name__)

FAILURE, SUCCESS, SLOW = "failure", "success", "slow"

ERROR_CHARS = 2000
SIGNATURE_PREFIX = "sha256="

# --- queueing: the outbox rows, in the transaction that ends the run ---------------------


@receiver(
    services.execution_ended,
    sender=TaskExecution,
    dispatch_uid="scriptdeck.automation.notifications.queue_deliveries",
)
def queue_deliveries(sender: type, execution_id: int, **kwargs: Any) -> int:
    """Write the deliveries the run's end calls for; return how many.

    One short query when no rule matches (the run's script and trigger come with the
    signal, or are read first). Bad rule data is logged and skipped, never raised into the
    code that ends the run; a database error propagates (the end rolls back with it).
    """
    if "script_id" in kwargs:
        script_id, trigger, trigger_ref = (
            kwargs["script_id"],
            kwargs["trigger"],
            kwargs["trigger_ref"],
        )
    else:
        row = (
            TaskExecution.objects.filter(pk=execution_id)
            .values_list("script_id", "trigger", "trigger_ref")
            .first()
        )
        if row is None:
            return 0
        script_id, trigger, trigger_ref = row
    # A rule names a script (every run of it) or a schedule (the runs it fired).
    matches = []
    if script_id is not None:
        matches.append(Q(schedule__isnull=True, script_id=script_id))
    ref = str(trigger_ref)
    if trigger == Trigger.SCHEDULE and ref.isdigit() and str(int(ref)) == ref:
        matches.append(Q(schedule_id=int(ref)))
    if not matches:
        return 0
    match = matches[0] if len(matches) == 1 else matches[0] | matches[1]
    rules = list(NotificationRule.objects.filter(match, enabled=True).order_by("pk"))
    if not rules:
        return 0
    execution = TaskExecution.objects.filter(pk=execution_id).first()
    if execution is None:
        return 0
    duration = _duration(execution)
    rows = []
    for rule in rules:
        try:
            event = event_for(rule, execution.status, duration, bool(execution.retried_by_id))
        except Exception:
            log.exception("notification rule %s is unusable; execution %s", rule.pk, execution.pk)
            continue
        if event is not None:
            rows.append(
                NotificationDelivery(
                    rule=rule,
                    execution=execution,
                    event=event,
                    channel=rule.channel,
                    target=rule.target,
                )
            )
    if rows:
        NotificationDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def event_for(
    rule: NotificationRule, status: str, duration: float | None, retried: bool = False
) -> str | None:
    """The one event ``rule`` sends for a run that ended so (see the module's docstring)."""
    if status not in (Status.SUCCESS, Status.FAILURE):
        return None  # cancelled: nobody is told
    if status == Status.FAILURE and rule.on_failure and not retried:
        return FAILURE
    if status == Status.SUCCESS and rule.on_success:
        return SUCCESS
    if is_slow(rule, duration):
        return SLOW
    return None


def is_slow(rule: NotificationRule, duration: float | None) -> bool:
    threshold = rule.duration_over
    if threshold is None or duration is None:
        return False
    return float(duration) > float(threshold)


def _duration(execution: TaskExecution) -> float | None:
    """Wall time measured by the worker; else (a lost worker) from start to end."""
    if execution.execution_time is not None:
        return execution.execution_time
    if execution.started_at and execution.completed_at:
        return (execution.completed_at - execution.started_at).total_seconds()
    return None


# --- what is said --------------------------------------------------------------------------


@dataclass
class Message:
    event: str
    subject: str
    body: str
    payload: dict[str, Any]


def execution_url(execution_id: int) -> str:
    base = str(getattr(settings, "SCRIPTDECK_PUBLIC_URL", "") or "").rstrip("/")
    return f"{base}/executions/{execution_id}" if base else ""


def _started_by(execution: TaskExecution) -> str:
    who = execution.user.get_username() if execution.user else ""
    ref = execution.trigger_ref
    what = ""
    model = {Trigger.SCHEDULE: Schedule, Trigger.WEBHOOK: WebhookTrigger}.get(execution.trigger)
    if model is not None and ref.isdigit():
        name = model.objects.filter(pk=int(ref)).values_list("name", flat=True).first()
        kind = "schedule" if model is Schedule else "webhook"
        what = f"{kind} {name!r} (id {ref})" if name is not None else f"{kind} {ref} (deleted)"
    elif execution.trigger == Trigger.RERUN:
        what = "a re-run"
    parts = [part for part in (what, f"as {who}" if who and what else who) if part]
    return " ".join(parts) or execution.trigger or "unknown"


def _seconds(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f} s"


def _verb(event: str, slow: bool) -> str:
    verb = {FAILURE: "failed", SUCCESS: "succeeded", SLOW: "was slow"}.get(event, event)
    return f"{verb} and was slow" if slow and event != SLOW else verb


def _one_line(text: str) -> str:
    return " ".join(text.split())


def compose(delivery: NotificationDelivery) -> Message:
    """The email and the HTTP body of a delivery. Only masked parameters appear."""
    execution, rule = delivery.execution, delivery.rule
    duration = _duration(execution)
    slow = is_slow(rule, duration)
    url = execution_url(execution.pk)
    error = (execution.error_message or "")[:ERROR_CHARS]
    reason = execution.failure_reason or ""
    reason_label = FailureReason(reason).label if reason in FailureReason.values else reason
    subject = _one_line(
        f"[scriptdeck] {execution.script_name} {_verb(delivery.event, slow)} "
        f"(execution {execution.pk})"
    )
    lines = [
        f"Script: {execution.script_name}",
        f"Execution: {execution.pk} ({execution.task_id})",
        f"Status: {execution.status}",
    ]
    if reason:
        lines.append(f"Failure reason: {reason_label} ({reason})")
    if execution.exit_code is not None:
        lines.append(f"Exit code: {execution.exit_code}")
    duration_line = f"Duration: {_seconds(duration)}"
    if slow:
        duration_line += f" (over the {rule.duration_over:g} s threshold)"
    lines.append(duration_line)
    memory = execution.memory_usage
    lines.append(f"Peak memory: {'unknown' if memory is None else f'{memory:.1f} MB'}")
    lines.append(f"Started by: {_started_by(execution)}")
    if execution.page_context:
        lines.append(f"Page context: {execution.page_context}")
    # The stored parameters, secret values already masked; never the encrypted ones.
    shown = json.dumps(execution.parameters or {}, ensure_ascii=False, sort_keys=True)
    lines.append(f"Parameters: {shown}")
    if execution.completed_at:
        lines.append(f"Ended at: {execution.completed_at.isoformat()}")
    if error:
        lines += ["", "Error:", error]
    if url:
        lines += ["", url]
    lines += ["", f"Sent for the notification rule {rule.name!r} (id {rule.pk})."]
    payload = {
        "event": delivery.event,
        "slow": slow,
        "execution": {
            "id": execution.pk,
            "task_id": str(execution.task_id),
            "script": execution.script_name,
            "status": execution.status,
            "failure_reason": reason,
            "error_message": error,
            "execution_time": execution.execution_time,
            "memory_usage": execution.memory_usage,
            "exit_code": execution.exit_code,
            "trigger": execution.trigger,
            "page_context": execution.page_context,
            "created_at": _iso(execution.created_at),
            "completed_at": _iso(execution.completed_at),
            "url": url,
        },
        "rule": {"id": rule.pk, "name": rule.name, "duration_over": rule.duration_over},
    }
    return Message(delivery.event, subject, "\n".join(lines) + "\n", payload)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- signatures ----------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Scriptdeck-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of
    ``f"{timestamp}."`` followed by the body, keyed with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` (with or without ``sha256=``) signs ``body`` at ``timestamp``,
    and the timestamp is within ``tolerance`` seconds of ``now`` (default: the clock)."""
    if not secret or not signature or not timestamp:
        return False
    try:
        sent = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    expected = sign(secret, str(timestamp).strip(), body)[len(SIGNATURE_PREFIX) :]
    given = signature.strip()
    if given.startswith(SIGNATURE_PREFIX):
        given = given[len(SIGNATURE_PREFIX) :]
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))
