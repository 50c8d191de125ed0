"""Incoming webhooks: a secret URL, ``POST /api/hooks/<key>/``, that runs one script.

Decisions:

- The key is ``hk_`` + 32 random bytes (URL-safe base64). Only its SHA-256 is stored, with
  its first 9 characters (``prefix``) to recognise it in a list; it is shown once, when the
  hook is made. A lookup hashes what it is given and compares digests in the database, so
  the time a lookup takes says nothing about the key.
- Parameters: the request's JSON body is an object (an empty body is ``{}``). Its fields
  named in ``allowed_fields`` become parameters; every other field is ignored silently.
  The webhook's fixed parameters (and its encrypted secret ones) are merged over them: a
  fixed parameter cannot be overridden by the request, even a whitelisted field. The
  script's schema fills in defaults for what neither gives, and the whole is validated as
  any submission is (a wrong type answers 400 naming the field; nothing is recorded).
- Runs start as the webhook's owner, who must hold the run permission on the script when the
  hook is called; otherwise (or if the script was deactivated, or the webhook revoked) the
  hook is unavailable, which the API answers exactly like an unknown key.
- Rate limit: at most ``rate_limit`` runs started by the webhook in any 60 s. The count and
  the new run's insert happen in one transaction that first locks the webhook's row, and only
  it (``SELECT … FOR UPDATE OF``, on PostgreSQL at READ COMMITTED, Django's default; on
  SQLite every write transaction begins IMMEDIATE and is serialized already), so concurrent
  calls are counted one after the other and the limit is exact, not approximate. The
  window slides: the runs created in the 60 s before the call. Retries the script's retry
  policy makes are not calls and do not count; refused calls (400, 429) do not either.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from scriptdeck.access.models import Level
from scriptdeck.access.permissions import can
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.parameters import split_secrets
from scriptdeck.executions import services
from scriptdeck.executions.models import TaskExecution, Trigger
from scriptdeck.refusals import WHOLE_REQUEST, NotFound, Refusal
from scriptdeck.security.crypto import encrypt_json
from scriptdeck.security.redaction import redact_record

from .models import WebhookTrigger

log = logging.getLogger(__name__)

KEY_PREFIX = "hk_"
PREFIX_LENGTH = 9
WINDOW_SECONDS = 60


class UnknownWebhook(NotFound):
    """No webhook may run for this key.

    Answered the same whatever the reason, so the answer tells a caller nothing about the
    key (whether it ever was one, was revoked, or its owner lost a grant).
    """

    default_code = "webhook_not_found"

    def __init__(self, reason: str = "no such hook") -> None:
        super().__init__(WHOLE_REQUEST, reason)

    def body(self) -> dict[str, Any]:
        return {"detail": "no such hook"}


class WebhookUnavailable(UnknownWebhook):
    """The webhook exists but may not run now (revoked, owner without permission, script off).

    The message says why, for the log; the answer is an unknown key's.
    """


class RateLimited(Refusal):
    """The webhook started ``limit`` runs in the last minute (answered 429, ``Retry-After``)."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            WHOLE_REQUEST,
            f"at most {limit} runs a minute; try again in {retry_after} s",
            params={"limit": limit, "retry_after": retry_after},
        )
        self.limit = limit
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Retry-After": str(self.retry_after)}


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create(
    name: str,
    script: Script,
    owner: Any,
    parameters: dict[str, Any] | None = None,
    allowed_fields: list[str] | None = None,
    **options: Any,
) -> tuple[WebhookTrigger, str]:
    """Make a webhook and return it with its key: the only time the key is known.

    ``parameters`` are the fixed ones; secret values among them (per the script's schema)
    are stored encrypted, apart, and shown masked. ``options``: any other field of
    :class:`WebhookTrigger` (``page_context``, ``rate_limit``, ``max_wait``). Raises
    Django's ``ValidationError`` for a value the model refuses (``max_wait`` over 300, …).
    """
    parameters = dict(parameters or {})
    fields = list(allowed_fields or [])
    if not all(isinstance(field, str) and field for field in fields):
        raise ValidationError({"allowed_fields": ["must be a list of field names"]})
    shown, hidden = split_secrets(script.effective_schema, parameters)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    hook = WebhookTrigger(
        name=name,
        script=script,
        owner=owner,
        prefix=key[:PREFIX_LENGTH],
        digest=digest_of(key),
        parameters=shown,
        secret_parameters=encrypt_json(hidden) if hidden else "",
        allowed_fields=fields,
        **options,
    )
    hook.full_clean()
    hook.save()
    return hook, key


def revoke(hook: WebhookTrigger) -> bool:
    """Revoke the webhook for good. False when it was revoked already."""
    now = timezone.now()
    done = WebhookTrigger.objects.filter(pk=hook.pk, revoked_at__isnull=True).update(revoked_at=now)
    if done:
        hook.revoked_at = now
    return bool(done)


def find(key: str) -> WebhookTrigger | None:
    """The webhook whose key this is, unless it is unknown or revoked."""
    if not isinstance(key, str) or not key:
        return None
    return (
        WebhookTrigger.objects.select_related("script", "owner")
        .filter(digest=digest_of(key), revoked_at__isnull=True)
        .first()
    )


def check(hook: WebhookTrigger) -> None:
    """Raise :class:`WebhookUnavailable` unless the webhook may start a run now."""
    script, owner = hook.script, hook.owner
    if hook.revoked_at is not None:
        raise WebhookUnavailable(f"webhook {hook.pk} is revoked")
    if not script.is_active:
        raise WebhookUnavailable(f"webhook {hook.pk}: script {script.name!r} is deactivated")
    if owner is None or not owner.is_active:
        raise WebhookUnavailable(f"webhook {hook.pk}: its owner is gone or deactivated")
    if not can(owner, script, Level.RUN):
        raise WebhookUnavailable(
            f"webhook {hook.pk}: its owner {owner.get_username()!r} may not run "
            f"script {script.name!r} (any more)"
        )


def parameters_for(hook: WebhookTrigger, body: dict[str, Any]) -> dict[str, Any]:
    """Whitelisted body fields, with the webhook's fixed parameters over them."""
    allowed = set(hook.allowed_fields or [])
    taken = {name: value for name, value in body.items() if name in allowed}
    return {**taken, **(hook.parameters or {})}


def recent_runs(hook: WebhookTrigger, now: datetime | None = None) -> QuerySet[TaskExecution]:
    """The runs this webhook started in the last minute (retries excluded)."""
    now = now or timezone.now()
    return TaskExecution.objects.filter(
        trigger=Trigger.WEBHOOK,
        trigger_ref=str(hook.pk),
        retry_of__isnull=True,
        created_at__gt=now - timedelta(seconds=WINDOW_SECONDS),
    )


def fire(hook: WebhookTrigger, body: dict[str, Any], origin_ip: str | None) -> TaskExecution:
    """Start a run of the webhook's script: see the module's docstring for the rules.

    Raises :class:`WebhookUnavailable`, :class:`RateLimited`, or ``SubmitError`` (the body is
    not an object, or the parameters do not fit the script's schema).
    """
    if not isinstance(body, dict):
        raise services.SubmitError("body", "must be a JSON object")
    with transaction.atomic():
        # The lock: concurrent calls of one hook count and insert one after the other.
        locked = (
            WebhookTrigger.objects.select_for_update(of=("self",))
            .select_related("script", "owner")
            .filter(pk=hook.pk)
            .first()
        )
        if locked is None:
            raise WebhookUnavailable(f"webhook {hook.pk} is gone")
        check(locked)
        script, owner = locked.script, locked.owner
        now = timezone.now()
        window = recent_runs(locked, now)
        if window.count() >= locked.rate_limit:
            oldest = window.order_by("created_at").values_list("created_at", flat=True).first()
            wait = WINDOW_SECONDS
            if oldest is not None:
                left = (oldest + timedelta(seconds=WINDOW_SECONDS) - now).total_seconds()
                wait = min(WINDOW_SECONDS, max(1, math.ceil(left)))
            raise RateLimited(locked.rate_limit, wait)
        execution = services.submit(
            script=script,
            parameters=parameters_for(locked, body),
            page_context=locked.page_context,
            user=owner,
            origin_ip=origin_ip,
            secret_parameters=locked.secret_parameters or None,
            trigger=Trigger.WEBHOOK,
            trigger_ref=str(locked.pk),
        )
        used = execution.created_at
        WebhookTrigger.objects.filter(pk=locked.pk).update(last_used_at=used)
    hook.last_used_at = used
    log.info("webhook %s (%s…) started execution %s", hook.pk, hook.prefix, execution.pk)
    return execution


class RedactWebhookKeys(logging.Filter):
    """Cuts keys out of a logger's lines (uvicorn's access log configures its own handlers).

    Every record created once logging is configured is redacted already
    (``security.redaction``); this filter also covers records made before that.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True
