"""Changing the catalog: a script's settings, checked, saved and audited in one place.

Registering the scripts folder's files is ``registry.sync``; a person's "Sync now" is
:func:`sync_now`, which checks and audits it. The API's PATCH and the
Django admin both change a script's settings through :func:`update_script`, so the
permission rule, the checks and the audit row's shape are written once. This module is
the catalog's service layer: it asks ``access`` (grants, the audit log), which the
catalog's models and file reading below it never do.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from scriptdeck.access import audit
from scriptdeck.access.models import Level
from scriptdeck.access.permissions import can, manages_every_script
from scriptdeck.refusals import Forbidden, Refusal
from scriptdeck.security.crypto import encrypt_text

from .models import Script, ScriptVariable
from .parameters import public_schema
from .registry import ScriptNotFound, SyncReport, sync
from .schema import check_schema

# How a changed value is written to the audit log: a schema is shown as the API shows it
# (a secret parameter's default never reaches the log).
_AUDIT_SHOWN = {"parameter_schema": public_schema}


def check_changes(script: Script, changes: dict[str, Any]) -> None:
    """Refuse settings that cannot work together; the doors run it before their own save."""
    errors: dict[str, list[str]] = {}
    if "parameter_schema" in changes:
        schema = changes["parameter_schema"] or {}
        problems = check_schema(schema)
        if problems:
            errors["parameter_schema"] = problems
    soft = changes.get("soft_time_limit", script.soft_time_limit)
    hard = changes.get("time_limit", script.time_limit)
    if soft is not None and hard is not None and hard < soft:
        errors["time_limit"] = ["The hard limit must not be below the soft limit."]
    if errors:
        raise Refusal.from_errors(errors, code="invalid_script_settings")


def update_script(
    user: Any, script: Script, changes: dict[str, Any], *, request: Any = None
) -> Script:
    """``script`` with ``changes`` (model field → value) saved, and one audit row of them.

    Needs the manage permission; a user who may not even see the script is told it does not
    exist. Only fields whose value differs are written and logged, as ``{"changes": {field:
    {"from": old, "to": new}}}``. ``request`` gives the audit row its address.
    """
    if not can(user, script, Level.MANAGE):
        if not can(user, script, Level.VIEW):
            raise ScriptNotFound(f"no script with id {script.pk}")
        raise Forbidden(
            "script",
            "changing a script's settings needs the manage permission",
            code="manage_required",
        )
    check_changes(script, changes)
    with transaction.atomic():
        stored = Script.objects.select_for_update().get(pk=script.pk)
        changed = {
            name: {"from": getattr(stored, name), "to": value}
            for name, value in changes.items()
            if getattr(stored, name) != value
        }
        if not changed:
            return stored
        for name, value in changes.items():
            setattr(stored, name, value)
        stored.save(update_fields=[*changed, "updated_at"])
        shown = {
            name: {key: _AUDIT_SHOWN.get(name, _itself)(value) for key, value in pair.items()}
            for name, pair in changed.items()
        }
        audit.record(
            audit.Action.SCRIPT_CHANGE,
            actor=user,
            target=stored,
            request=request,
            changes=shown,
        )
    return stored


def sync_now(user: Any, *, request: Any = None) -> SyncReport:
    """Sync the catalog with its folder at a person's asking, with one audit row of the counts.

    Needs staff or manage on every script: a sync touches every script, those the user
    cannot see included.
    """
    if not manages_every_script(user):
        raise Forbidden(
            "scripts",
            "syncing the scripts folder needs staff or the manage permission on every script",
            code="sync_denied",
        )
    with transaction.atomic():
        report = sync()
        audit.record(
            audit.Action.CATALOG_SYNC,
            actor=user,
            target_type="catalog",
            request=request,
            added=len(report.added),
            updated=len(report.updated),
            deactivated=len(report.deactivated),
        )
    return report


def set_variable_value(variable: ScriptVariable, value: str) -> None:
    """Give ``variable`` a new value, encrypted: the row never holds it in clear."""
    variable.value_encrypted = encrypt_text(value)


def record_variable_changes(
    user: Any, script: Script, set_names: list[str], removed: list[str], *, request: Any = None
) -> None:
    """The audit row of a script's variables set or removed: names only, never a value."""
    if set_names or removed:
        audit.record(
            audit.Action.VARIABLE_CHANGE,
            actor=user,
            target=script,
            request=request,
            set=set_names,
            removed=removed,
        )


def _itself(value: object) -> object:
    return value
