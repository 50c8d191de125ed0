"""Every change access makes: sign-in, personal tokens, grants; each with its audit entry.

Each function takes the acting user and the request it came with (for the audit's
address), writes, and records in one transaction. The API, the admin and the CLI call
these and only translate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction

from scriptdeck.refusals import Refusal

from . import audit, tokens
from .models import ApiToken, ScriptGrant

WRONG_CREDENTIALS = "the user name or the password is wrong"


class SignInRefused(Refusal):
    """A wrong user name or password (400), answered in DRF's and the source's keys."""

    default_code = "wrong_credentials"

    def __init__(self) -> None:
        super().__init__("non_field_errors", WRONG_CREDENTIALS)

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, **super().body()}


class SignInThrottled(Refusal):
    """Too many failed sign-ins from this address or for this name (429, ``Retry-After``)."""

    status = 429
    default_code = "sign_in_throttled"

    def __init__(self, wait: int) -> None:
        super().__init__(
            "non_field_errors",
            f"too many failed sign-ins; try again in {wait} s",
            params={"seconds": wait},
        )
        self.wait = wait

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, "error": self.message}

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Retry-After": str(self.wait)}


def check_credentials(request: Any, username: str, password: str) -> Any:
    """The user a name and password name; ``SignInThrottled`` or ``SignInRefused`` if not.

    A throttled attempt is not checked at all (the backend counts each attempt before its
    check); it is a failure in the audit log like the others (``user_login_failed``).
    """
    user = authenticate(request, username=username, password=password)
    if user is None:
        wait = getattr(request, "sign_in_wait", 0)
        if wait:
            raise SignInThrottled(wait)
        raise SignInRefused()
    return user


@transaction.atomic
def issue_token(
    actor: Any,
    name: str,
    expires_at: datetime | None = None,
    *,
    request: Any = None,
    signed_in_with_password: bool = False,
) -> tuple[ApiToken, str]:
    """A new personal token of ``actor`` and its key (shown once, never stored)."""
    token, key = tokens.create(actor, name, expires_at)
    if signed_in_with_password:
        audit.record(audit.Action.LOGIN, actor=actor, request=request, method="password-token")
    audit.record(audit.Action.TOKEN_CREATE, actor=actor, target=token, request=request)
    return token, key


@transaction.atomic
def revoke_token(actor: Any, token: ApiToken, *, request: Any = None) -> bool:
    """Revoke ``token`` (its owner's, or any for staff: the door has checked which);
    False, and nothing recorded, when it already was."""
    if not tokens.revoke(token):
        return False
    audit.record(
        audit.Action.TOKEN_REVOKE,
        actor=actor,
        target=token,
        request=request,
        owner=token.user.get_username(),
    )
    return True


def _grant_detail(grant: ScriptGrant) -> dict[str, Any]:
    return {
        "script": grant.script.name if grant.script_id else "*",
        "user": grant.user.get_username() if grant.user_id else None,
        "group": grant.group.name if grant.group_id else None,
        "level": grant.get_level_display(),
    }


@transaction.atomic
def save_grant(actor: Any, grant: ScriptGrant, *, request: Any = None) -> ScriptGrant:
    """Add ``grant`` (unsaved) or save a change to it (the door has validated it)."""
    adding = grant.pk is None
    if adding:
        grant.created_by = actor
    grant.save()
    action = audit.Action.GRANT_ADD if adding else audit.Action.GRANT_CHANGE
    audit.record(action, actor=actor, target=grant, request=request, **_grant_detail(grant))
    return grant


@transaction.atomic
def remove_grant(actor: Any, grant: ScriptGrant, *, request: Any = None) -> None:
    detail = _grant_detail(grant)
    target_id = grant.pk
    grant.delete()
    audit.record(
        audit.Action.GRANT_REMOVE,
        actor=actor,
        target_type="scriptgrant",
        target_id=target_id,
        request=request,
        **detail,
    )
