"""Personal API tokens: made with a random key, kept as its SHA-256, shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.utils import timezone

from .models import ApiToken

KEY_PREFIX = "sdk_"
# last_used_at is written at most this often, so a busy client costs no write per request.
LAST_USED_RESOLUTION_SECONDS = 60


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create(user: Any, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its key, which is never stored and cannot be shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[: len(KEY_PREFIX) + 6],
        digest=digest_of(key),
        expires_at=expires_at,
    )
    return token, key


def revoke(token: ApiToken) -> bool:
    """Revoke ``token``; False when it already was."""
    return bool(
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def authenticate(key: str) -> ApiToken | None:
    """The usable token with this key, or None (unknown, revoked, expired, user inactive)."""
    if not key or len(key) > 200:
        return None
    # The digest is unique: no ORDER BY (which .first() would add from the model's ordering).
    try:
        token = ApiToken.objects.select_related("user").get(digest=digest_of(key))
    except ApiToken.DoesNotExist:
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    last = token.last_used_at
    if last is None or (now - last).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
