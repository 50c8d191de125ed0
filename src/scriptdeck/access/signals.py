"""Sign-ins, sign-outs and failed sign-ins, from any door (API, admin), into the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record(audit.Action.LOGIN, actor=user, request=request, method="session")


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(audit.Action.LOGOUT, actor=user, request=request)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    # Django has already replaced the password in ``credentials``; only the name is kept.
    audit.record(
        audit.Action.LOGIN_FAILED,
        actor_name=str(credentials.get("username") or "")[:150],
        request=request,
    )
