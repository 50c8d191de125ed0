"""Writing the audit log. Parameters reach it with their secrets already masked."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.db import models

from .models import AuditEvent

log = logging.getLogger(__name__)


class Action:
    RUN = "execution.run"
    CANCEL = "execution.cancel"
    SCRIPT_CHANGE = "script.change"
    VARIABLE_CHANGE = "script.variable"
    CATALOG_SYNC = "catalog.sync"
    GRANT_ADD = "grant.add"
    GRANT_CHANGE = "grant.change"
    GRANT_REMOVE = "grant.remove"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    SCHEDULE_CHANGE = "schedule.change"
    WEBHOOK_CHANGE = "webhook.change"
    NOTIFICATION_CHANGE = "notification.change"

    ALL = (
        RUN,
        CANCEL,
        SCRIPT_CHANGE,
        VARIABLE_CHANGE,
        CATALOG_SYNC,
        GRANT_ADD,
        GRANT_CHANGE,
        GRANT_REMOVE,
        TOKEN_CREATE,
        TOKEN_REVOKE,
        LOGIN,
        LOGIN_FAILED,
        LOGOUT,
        SCHEDULE_CHANGE,
        WEBHOOK_CHANGE,
        NOTIFICATION_CHANGE,
    )


def _trusted(address: str, proxies: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_ip(request: Any) -> str | None:
    """The address the request came from.

    ``X-Forwarded-For`` is believed only when the connection comes from one of
    ``SCRIPTDECK_TRUSTED_PROXIES``, and only the hops those proxies added: read from the
    right, the first address that is not a trusted proxy is the client's (anything to its
    left the client may have written itself).
    """
    if request is None:
        return None
    meta = getattr(request, "META", None) or {}
    address = meta.get("REMOTE_ADDR") or None
    proxies = settings.SCRIPTDECK_TRUSTED_PROXIES
    if not address or not proxies or not _trusted(address, proxies):
        return address
    hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # a hop no proxy of ours wrote: stop at the last one we can vouch for
        if not _trusted(hop, proxies):
            return hop
        address = hop
    return address


def record(
    action: str,
    *,
    actor: Any = None,
    actor_name: str = "",
    target: models.Model | None = None,
    target_type: str = "",
    target_id: object = "",
    request: Any = None,
    ip: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append one event. ``actor`` may be anonymous; ``detail`` must hold no secret."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    if target is not None:
        target_type = target_type or target._meta.model_name or ""
        target_id = target_id or target.pk
    return AuditEvent.objects.create(
        actor=user,
        actor_name=(user.get_username() if user else actor_name)[:150],
        action=action,
        target_type=target_type[:40],
        target_id=str(target_id or "")[:64],
        target_repr=str(target)[:255] if target is not None else "",
        ip=ip or client_ip(request),
        detail=detail,
    )
