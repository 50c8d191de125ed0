"""Notifications of ended runs: rows queued in the run's own transaction, sent with retries.

When a run ends, :func:`queue_deliveries` (a receiver of ``services.execution_ended``, sent
inside the transaction that ends the run) writes one :class:`NotificationDelivery` per
matching rule: the outbox. Its rows commit or roll back with the end itself, so a run that
ended is notified once, and a run whose end rolled back is not notified at all.
:func:`deliver_due` (the scheduler process calls it on every pass) sends them.

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

Sending: each due row is claimed by a conditional UPDATE (status pending and the
``next_attempt_at`` seen), which moves ``next_attempt_at`` a lease ahead, so two processes
never send one row; a process that dies mid-send leaves the row to be retried once the
lease lapses. A 2xx answer (or an email handed to the backend) is ``sent``; anything else
is retried after 30 s, 2 min, 8 min, 30 min, 30 min… until ``SCRIPTDECK_NOTIFY_ATTEMPTS``
attempts, then ``failed``. A target that can never work (not an http(s) URL, no valid
address, a signing secret that no key decrypts) fails at once, with the reason.

Webhook bodies are signed: ``X-Scriptdeck-Signature: sha256=<hex>``, the HMAC-SHA256 of
``f"{timestamp}.".encode() + body`` keyed with the rule's signing secret, where the
timestamp is ``X-Scriptdeck-Timestamp`` (unix seconds). Receivers check it with
:func:`verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone

from scriptdeck.executions import services
from scriptdeck.executions.models import FailureReason, Status, TaskExecution, Trigger
from scriptdeck.security.crypto import DecryptError, decrypt_text

from .models import (
    Channel,
    DeliveryStatus,
    NotificationDelivery,
    NotificationRule,
    Schedule,
    WebhookTrigger,
)

log = logging.getLogger(__name__)

FAILURE, SUCCESS, SLOW = "failure", "success", "slow"

# How long a claimed row is left to the process that claimed it before another one may
# retry it: well above a webhook's timeout and a slow mail server's answer.
LEASE_SECONDS = 120
BACKOFF_SECONDS = (30, 120, 480, 1800)
WEBHOOK_TIMEOUT = 10.0
EMAIL_TIMEOUT = 30.0
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


# --- sending -------------------------------------------------------------------------------


class DeliveryRefused(Exception):
    """A delivery that can never succeed as configured: failed at once, not retried."""


class DeliveryFailed(Exception):
    """An attempt that did not get through; retried. ``status``: the HTTP answer, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def max_attempts() -> int:
    return max(1, int(getattr(settings, "SCRIPTDECK_NOTIFY_ATTEMPTS", 5)))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 2 min, 8 min, 30 min, 30 min…"""
    index = min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1
    return timedelta(seconds=BACKOFF_SECONDS[index])


def claim(delivery_id: int, seen_next_attempt_at: datetime, now: datetime) -> bool:
    """Take a due row for one attempt, if nobody else took it since it was read.

    A conditional UPDATE: only the process whose UPDATE matches the ``next_attempt_at`` it
    read wins; the lease moves that date on, and the attempt is counted up front, so a
    process that dies mid-send still uses up an attempt.
    """
    return bool(
        NotificationDelivery.objects.filter(
            pk=delivery_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=seen_next_attempt_at,
        ).update(
            next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    )


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Send the pending deliveries that are due; return how many were attempted."""
    now = now or timezone.now()
    due = list(
        NotificationDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    attempted = 0
    for delivery_id, seen in due:
        if not claim(delivery_id, seen, now):
            continue  # another process has it
        attempted += 1
        _attempt(delivery_id, now)
    return attempted


def _attempt(delivery_id: int, now: datetime) -> None:
    delivery = (
        NotificationDelivery.objects.select_related(
            "rule", "execution", "execution__user", "execution__script"
        )
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:  # deleted meanwhile (its rule or its run)
        return
    mine = NotificationDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    try:
        if not delivery.rule.enabled:
            raise DeliveryRefused("the rule was disabled before this was sent")
        sender = SENDERS.get(delivery.channel)
        if sender is None:
            raise DeliveryRefused(f"unknown channel {delivery.channel!r}")
        response_status = sender(delivery)
    except DeliveryRefused as exc:
        log.warning("notification %s refused: %s", delivery_id, exc)
        mine.update(status=DeliveryStatus.FAILED, last_error=str(exc)[:ERROR_CHARS])
        return
    except Exception as exc:  # a network error, a 5xx, a mail server down: retried
        import httpx

        status = exc.status if isinstance(exc, DeliveryFailed) else None
        if not isinstance(exc, DeliveryFailed | httpx.HTTPError | OSError):
            log.exception("notification %s: unexpected error while sending", delivery_id)
        message = f"attempt {delivery.attempts}: {_describe(exc)}"[:ERROR_CHARS]
        if delivery.attempts >= max_attempts():
            log.warning("notification %s failed for good: %s", delivery_id, message)
            mine.update(status=DeliveryStatus.FAILED, last_error=message, response_status=status)
        else:
            log.info("notification %s will be retried: %s", delivery_id, message)
            mine.update(
                next_attempt_at=now + backoff(delivery.attempts),
                last_error=message,
                response_status=status,
            )
        return
    mine.update(
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
        response_status=response_status,
        last_error="",
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
    """The email and the webhook body of a delivery. Only masked parameters appear."""
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


# --- channels ------------------------------------------------------------------------------


def email_addresses(target: str) -> list[str]:
    """The addresses of a comma-separated target; :class:`DeliveryRefused` if one is bad."""
    addresses = [part.strip() for part in (target or "").split(",") if part.strip()]
    if not addresses:
        raise DeliveryRefused("no email address in the target")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise DeliveryRefused(f"not an email address: {address!r}") from None
    return addresses


def webhook_url(target: str) -> str:
    """The target as an http(s) URL; :class:`DeliveryRefused` for anything else."""
    url = (target or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise DeliveryRefused(f"not a valid URL: {url!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise DeliveryRefused(f"a webhook target must be an http(s) URL, not {url!r}")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise DeliveryRefused("the webhook URL contains whitespace or control characters")
    return url


def send_email(delivery: NotificationDelivery) -> int | None:
    addresses = email_addresses(delivery.target)
    message = compose(delivery)
    connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or EMAIL_TIMEOUT)
    EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=addresses,
        connection=connection,
        headers={"X-Scriptdeck-Event": message.event},
    ).send(fail_silently=False)
    return None


def signing_secret(rule: NotificationRule) -> str:
    """The rule's secret in clear ("" when none); :class:`DeliveryRefused` when unreadable."""
    if not rule.signing_secret:
        return ""
    try:
        return decrypt_text(rule.signing_secret)
    except DecryptError as exc:
        raise DeliveryRefused(f"the rule's signing secret cannot be decrypted: {exc}") from None


def send_webhook(delivery: NotificationDelivery) -> int:
    url = webhook_url(delivery.target)
    secret = signing_secret(delivery.rule)
    message = compose(delivery)
    body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "scriptdeck",
        "X-Scriptdeck-Event": message.event,
        "X-Scriptdeck-Delivery": str(delivery.pk),
        "X-Scriptdeck-Timestamp": timestamp,
    }
    if secret:
        headers["X-Scriptdeck-Signature"] = sign(secret, timestamp, body)
    # Imported here: only the process that sends notifications needs it (its command-line
    # part alone, which it imports, weighs on every web and worker process).
    import httpx

    response = httpx.post(
        url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT, follow_redirects=False
    )
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(
            f"the receiver answered HTTP {response.status_code}", status=response.status_code
        )
    return response.status_code


# Looked up at each attempt (tests may replace one).
SENDERS: dict[str, Callable[[NotificationDelivery], int | None]] = {
    Channel.EMAIL: send_email,
    Channel.WEBHOOK: send_webhook,
}


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
