"""Changing schedules, incoming webhooks and notification rules: what every door calls.

Each function takes the acting user, checks what is asked and that the user may ask it,
writes, and records the change in the audit log, all in one transaction. A request that
cannot be done raises a refusal (``scriptdeck.refusals``); the doors (the API's views and
serializers, the admin) only turn requests into calls and refusals into answers.

Who may change what: whoever may run a script may schedule it or make a webhook for it;
only the owner of a schedule or webhook, or a manager of its script, changes, deletes or
revokes it. Notification rules are an operator's: a manager of the rule's script.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from scriptdeck.access import audit
from scriptdeck.access.permissions import owner_or_manager, runnable_script
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.parameters import SECRET_MASK
from scriptdeck.executions import uploads
from scriptdeck.executions.services import prepare_parameters
from scriptdeck.refusals import WHOLE_REQUEST, Forbidden, Refusal
from scriptdeck.security.crypto import encrypt_text

from . import webhooks
from .delivery import DeliveryRefused, email_addresses, http_url, public_target
from .models import Channel, NotificationRule, Schedule, WebhookTrigger
from .scheduler import check_timing, plan

# A change of any of these moves the schedule's next run.
TIMING = frozenset({"cron", "interval_seconds", "timezone", "enabled"})


def _require_runnable(actor: Any, script: Script) -> None:
    message = runnable_script(actor, script)
    if message:
        raise Refusal("script", message)


def _require_owner_or_manager(actor: Any, thing: Schedule | WebhookTrigger, verb: str) -> None:
    if not owner_or_manager(actor, thing.script, thing.owner_id):
        raise Forbidden(
            WHOLE_REQUEST,
            f"only its owner or a manager of the script may {verb} it",
            code="owner_or_manager_required",
        )


# --- schedules -------------------------------------------------------------------------------


def check_schedule(values: dict[str, Any], current: Schedule | None = None) -> dict[str, Any]:
    """``values`` (fields of a schedule, over ``current``'s when it exists) checked: the
    timing can be planned and the parameters fit the script's schema.

    Returns ``values`` with the parameters as stored (defaults filled in, secrets masked) and
    ``secret_parameters`` (the secrets, encrypted). Parameters shown masked keep the secret
    ``current`` holds. Raises ``ScheduleError`` (naming the timing's field) or
    ``SubmitError`` (naming each parameter at fault).
    """

    def value(name: str) -> Any:
        return values.get(name, getattr(current, name) if current else None)

    check_timing(value("cron") or "", value("interval_seconds"), value("timezone") or "UTC")
    script: Script | None = value("script")
    if script is None:  # a form whose script was refused: its timing is still checked
        return dict(values)
    given = dict(values.get("parameters", current.parameters if current else {}) or {})
    # Not run yet: a file parameter's upload is checked when a run is submitted.
    prepared = prepare_parameters(
        script,
        given,
        stored_secrets=current.secret_parameters if current else "",
        check_uploads=False,
    )
    return {
        **values,
        "parameters": prepared.shown,
        "secret_parameters": prepared.encrypted_secrets,
    }


def create_schedule(
    actor: Any,
    values: dict[str, Any],
    *,
    instance: Schedule | None = None,
    request: Any = None,
    changed: Iterable[str] | None = None,
) -> Schedule:
    """A new schedule of ``values`` (its owner: ``values["owner"]``, else ``actor``), planned.

    ``instance``: an unsaved schedule to fill in and save (the admin's form made one).
    ``changed``: the field names the audit row lists (default: those of ``values``).
    """
    with transaction.atomic():
        _require_runnable(actor, values["script"])
        _check_schedule_quota(values.get("owner") or actor)
        checked = check_schedule(values)
        schedule = instance if instance is not None else Schedule()
        for name, value in checked.items():
            setattr(schedule, name, value)
        if schedule.owner_id is None:
            schedule.owner = actor
        plan(schedule)
        schedule.save()
        _audit_schedule(actor, "created", schedule, request, changed or values)
    return schedule


def _check_schedule_quota(owner: Any) -> None:
    quota = settings.SCRIPTDECK_QUOTA_SCHEDULES
    if getattr(owner, "is_staff", False) or Schedule.objects.filter(owner=owner).count() < quota:
        return
    message = f"at most {quota} schedules per user (SCRIPTDECK_QUOTA_SCHEDULES)"
    raise Refusal("schedules", message, code="quota", params={"quota": quota})


def update_schedule(
    actor: Any,
    schedule: Schedule,
    values: dict[str, Any],
    *,
    request: Any = None,
    changed: Iterable[str] | None = None,
) -> Schedule:
    """``schedule`` with ``values`` changed; re-planned when its timing changed.

    The schedule runs with its owner's rights. An edit by anyone else (a manager of the
    script) is checked with the editor's: they must be able to run the script, and each
    file they give it must be an upload they could run it with themselves.
    """
    with transaction.atomic():
        _require_owner_or_manager(actor, schedule, "change")
        if "script" in values:
            _require_runnable(actor, values["script"])
        if schedule.owner_id != getattr(actor, "pk", None):
            _require_runnable(actor, values.get("script", schedule.script))
            _check_given_uploads(actor, schedule, values)
        checked = check_schedule(values, schedule)
        for name, value in checked.items():
            setattr(schedule, name, value)
        if TIMING & set(values):
            plan(schedule)
        schedule.save()
        _audit_schedule(actor, "changed", schedule, request, changed or values)
    return schedule


def _check_given_uploads(actor: Any, schedule: Schedule, values: dict[str, Any]) -> None:
    """Each upload ``values`` give the schedule that it did not hold already is ``actor``'s."""
    script = values.get("script", schedule.script)
    given = values.get("parameters")
    if script is None or not isinstance(given, dict):
        return
    held = schedule.parameters if script == schedule.script else {}
    new = {
        name: value
        for name, value in given.items()
        if value != SECRET_MASK and value != (held or {}).get(name)
    }
    try:
        uploads.check_parameters(script.effective_schema, new, actor)
    except uploads.UploadRefused as exc:
        raise Refusal(exc.field, exc.message) from None


def delete_schedule(actor: Any, schedule: Schedule, *, request: Any = None) -> None:
    with transaction.atomic():
        _require_owner_or_manager(actor, schedule, "change")
        _audit_schedule(actor, "deleted", schedule, request, [])
        schedule.delete()


def _audit_schedule(
    actor: Any, what: str, schedule: Schedule, request: Any, changed: Iterable[str]
) -> None:
    audit.record(
        audit.Action.SCHEDULE_CHANGE,
        actor=actor,
        target=schedule,
        request=request,
        change=what,
        script=schedule.script.name,
        parameters=schedule.parameters,
        enabled=schedule.enabled,
        changed=sorted(changed),
    )


# --- incoming webhooks -----------------------------------------------------------------------


def create_webhook(
    actor: Any,
    name: str,
    script: Script,
    *,
    parameters: dict[str, Any] | None = None,
    allowed_fields: list[str] | None = None,
    request: Any = None,
    **options: Any,
) -> tuple[WebhookTrigger, str]:
    """A new webhook owned by ``actor``, with its key (see ``webhooks.create``)."""
    with transaction.atomic():
        _require_runnable(actor, script)
        try:
            hook, key = webhooks.create(
                name,
                script,
                actor,
                parameters=parameters,
                allowed_fields=allowed_fields,
                **options,
            )
        except ValidationError as exc:
            raise Refusal.from_errors(exc.message_dict) from None
        audit.record(
            audit.Action.WEBHOOK_CHANGE,
            actor=actor,
            target=hook,
            request=request,
            change="created",
            script=hook.script.name,
            parameters=hook.parameters,
            allowed_fields=hook.allowed_fields,
        )
    return hook, key


def revoke_webhook(actor: Any, hook: WebhookTrigger, *, request: Any = None) -> bool:
    """Revoke ``hook``; False (and nothing recorded) when it was revoked already."""
    with transaction.atomic():
        _require_owner_or_manager(actor, hook, "revoke")
        done = webhooks.revoke(hook)
        if done:
            audit.record(
                audit.Action.WEBHOOK_CHANGE,
                actor=actor,
                target=hook,
                request=request,
                change="revoked",
            )
    return done


# --- notification rules ----------------------------------------------------------------------

RULE_FIELDS = (
    "script",
    "schedule",
    "on_failure",
    "on_success",
    "duration_over",
    "channel",
    "target",
)


def check_notification_rule(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (every field of a rule) checked, with the target as it is stored.

    Raises one refusal naming every problem: a rule needs a script or a schedule, at least
    one condition, a target its channel can use, and not both a new signing secret and its
    removal (``new_signing_secret``, ``remove_signing_secret``).
    """
    errors: dict[str, list[str]] = {}
    if not values.get("script") and not values.get("schedule"):
        errors["script"] = ["Choose a script or a schedule."]
    if not (values.get("on_failure") or values.get("on_success")) and (
        values.get("duration_over") is None
    ):
        errors[WHOLE_REQUEST] = ["Choose at least one of: on failure, on success, duration over."]
    checked = dict(values)
    channel, target = values.get("channel"), values.get("target")
    if channel and target:
        try:
            if channel == Channel.HTTP:
                checked["target"] = http_url(target)
                public_target(checked["target"])
            else:
                email_addresses(target)
        except DeliveryRefused as exc:
            errors["target"] = [str(exc)]
    if values.get("new_signing_secret") and values.get("remove_signing_secret"):
        errors["remove_signing_secret"] = ["Either give a new secret or remove it."]
    if errors:
        raise Refusal.from_errors(errors)
    return checked


def _require_rule_manager(actor: Any, rule: NotificationRule) -> None:
    script = rule.script if rule.script_id else (rule.schedule.script if rule.schedule_id else None)
    if not owner_or_manager(actor, script, None):
        raise Forbidden(
            WHOLE_REQUEST,
            "only a manager of the script may change its notification rules",
            code="manage_required",
        )


def save_notification_rule(
    actor: Any,
    rule: NotificationRule,
    changed: Iterable[str],
    *,
    new_signing_secret: str = "",
    remove_signing_secret: bool = False,
    request: Any = None,
) -> NotificationRule:
    """Save ``rule`` (new or changed in ``changed``); the signing secret is stored encrypted.

    ``new_signing_secret`` replaces the secret, ``remove_signing_secret`` drops it, neither
    keeps it.
    """
    with transaction.atomic():
        # Checked first: a rule with neither a script nor a schedule has no manager to ask.
        checked = check_notification_rule(
            {
                **{name: getattr(rule, name) for name in RULE_FIELDS},
                "new_signing_secret": new_signing_secret,
                "remove_signing_secret": remove_signing_secret,
            }
        )
        _require_rule_manager(actor, rule)
        rule.target = checked["target"]
        if new_signing_secret:
            rule.signing_secret = encrypt_text(new_signing_secret)
        elif remove_signing_secret:
            rule.signing_secret = ""
        rule.save()
        audit.record(
            audit.Action.NOTIFICATION_CHANGE,
            actor=actor,
            target=rule,
            request=request,
            changed=sorted(changed),
        )
    return rule


def delete_notification_rule(actor: Any, rule: NotificationRule, *, request: Any = None) -> None:
    with transaction.atomic():
        _require_rule_manager(actor, rule)
        audit.record(
            audit.Action.NOTIFICATION_CHANGE,
            actor=actor,
            target=rule,
            request=request,
            changed=["deleted"],
        )
        rule.delete()
