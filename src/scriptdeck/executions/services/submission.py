"""Submitting a run: the parameters checked and their secrets kept apart, the row, the send."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scriptdeck.access import audit
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.parameters import (
    SECRET_MASK,
    ParameterErrors,
    split_secrets,
    validate_parameters,
)
from scriptdeck.catalog.paths import confine, relative_name
from scriptdeck.refusals import Refusal
from scriptdeck.runner import UnsupportedScript, command_for
from scriptdeck.security.crypto import decrypt_json, encrypt_json

from .. import uploads
from ..models import TaskExecution, Trigger
from .dispatching import Message, release, send
from .storable import scrub


class SubmitError(Refusal, ValueError):
    """A submission refused before anything was written or queued."""


@dataclass(frozen=True)
class Prepared:
    """Parameters ready to store: checked, defaults filled in, secrets apart.

    ``values`` is what the script receives; ``shown`` the same with each secret masked
    (what is stored and shown); ``encrypted_secrets`` the secret values, encrypted ("" when
    there are none).
    """

    values: dict[str, Any]
    shown: dict[str, Any]
    encrypted_secrets: str


def prepare_parameters(
    script: Script,
    values: Any,
    user: Any = None,
    *,
    stored_secrets: str = "",
    check_uploads: bool = True,
) -> Prepared:
    """Check ``values`` against the script's schema and split off the secrets, encrypted.

    ``stored_secrets`` (encrypted, as :class:`Prepared` gives them) fill in each secret the
    edited values show masked or leave out: an edit of a stored set of parameters need not
    repeat its secrets, and what it keeps stays secret (see :func:`_prepare`).
    ``check_uploads``: each ``file`` parameter must name an upload of ``user`` (or any, for
    staff); a value that is only kept, not run yet, may skip it. Raises
    :class:`SubmitError`, keyed by field.
    """
    stored = decrypt_json(stored_secrets) if stored_secrets else {}
    kept: dict[str, Any] = {}
    if stored and isinstance(values, dict):
        kept = {
            name: secret
            for name, secret in stored.items()
            if values.get(name, SECRET_MASK) == SECRET_MASK
        }
    return _prepare(script, values, user, kept, check_uploads=check_uploads)


def _prepare(
    script: Script, values: Any, user: Any, kept: dict[str, Any], *, check_uploads: bool
) -> Prepared:
    """``values`` checked, with ``kept`` (secret values stored earlier) added as they are.

    A kept secret is secret for good: its name is secret whatever the schema says now. It
    is not checked against the schema again: constraints added since (a ``pattern``, a
    ``maxLength``) would otherwise tell whoever can change the schema and start a run
    whether the hidden value fits them. It was checked when it was stored. One the schema no
    longer accepts at all (its parameter removed) is dropped, whatever its value.
    """
    schema = script.effective_schema
    kept = {name: secret for name, secret in kept.items() if _still_accepted(schema, name)}
    if isinstance(values, dict):
        values = {name: value for name, value in values.items() if name not in kept}
    try:
        checked = validate_parameters(
            _without(schema, kept),
            values,
            max_fields=settings.SCRIPTDECK_MAX_PARAMETERS,
            max_bytes=settings.SCRIPTDECK_MAX_PARAMETER_BYTES,
        )
    except ParameterErrors as exc:
        raise SubmitError.from_errors(exc.errors) from None
    _check_storable("parameters", checked)
    if check_uploads:
        try:
            uploads.check_parameters(schema, checked, user)
        except uploads.UploadRefused as exc:
            raise SubmitError(exc.field, exc.message) from None
        try:
            uploads.check_parameters(schema, kept, user)
        except uploads.UploadRefused as exc:
            # Said without the value, which is secret.
            raise SubmitError(exc.field, KEPT_UPLOAD_REFUSED) from None
    checked = {**checked, **kept}
    shown, secrets = split_secrets(schema, checked, also=kept)
    return Prepared(checked, shown, encrypt_json(secrets) if secrets else "")


KEPT_UPLOAD_REFUSED = "the stored value is not an upload of yours: give the file again"


def _still_accepted(schema: dict[str, Any], name: str) -> bool:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or name in properties:
        return True
    return schema.get("additionalProperties") not in (None, False)


def _without(schema: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without the parameters ``names`` (checked apart, or not at all)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not names or not isinstance(properties, dict):
        return schema
    reduced = {**schema, "properties": {n: s for n, s in properties.items() if n not in names}}
    required = schema.get("required")
    if isinstance(required, list):
        reduced["required"] = [name for name in required if name not in names]
    return reduced


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
    # A re-run's (or a schedule's, a hook's) stored secrets win over what is shown.
    kept = decrypt_json(secret_parameters) if secret_parameters else {}
    prepared = _prepare(script, parameters, user, kept, check_uploads=True)
    path = path or confine(script.path)
    try:
        command_for(path)
    except UnsupportedScript as exc:
        raise SubmitError("script", str(exc)) from None
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
            parameters=prepared.shown,
            secret_parameters=prepared.encrypted_secrets,
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
            parameters=prepared.shown,
            page_context=page_context or "",
            trigger=trigger,
        )
        if stamp is None:
            transaction.on_commit(lambda: release(script.pk))
        else:
            message = Message(str(execution.task_id), execution.queue, script.time_limit)

            def send_committed() -> None:
                if not send(execution_id, stamp, message):
                    execution.dispatched_at = None  # as the row says: the sweeper sends it

            transaction.on_commit(send_committed)
    return execution


def _check_storable(field_name: str, value: Any) -> None:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        raise SubmitError(field_name, "must be valid UTF-8 JSON") from None
    if scrub(value) != value:
        raise SubmitError(field_name, "must not contain NUL characters")
