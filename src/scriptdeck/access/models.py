"""Grants on scripts, personal API tokens, and the append-only audit log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Level(models.IntegerChoices):
    """Each level includes the ones below it."""

    VIEW = 1, "view"
    RUN = 2, "run"
    MANAGE = 3, "manage"


class ScriptGrant(models.Model):
    """``level`` on one script (or on every script when ``script`` is empty) for a user or group.

    A newly found script has no grant: only staff see and run it until one is given.
    """

    script = models.ForeignKey(
        "catalog.Script",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="grants",
        help_text="Empty: every script, present and future.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="script_grants",
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="script_grants"
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.RUN)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, group__isnull=True))
                | (Q(user__isnull=True, group__isnull=False)),
                name="grant_to_one_user_or_one_group",
            ),
            models.UniqueConstraint(
                fields=["script", "user"],
                condition=Q(user__isnull=False),
                name="one_grant_per_script_and_user",
                nulls_distinct=False,
            ),
            models.UniqueConstraint(
                fields=["script", "group"],
                condition=Q(group__isnull=False),
                name="one_grant_per_script_and_group",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        who = f"user {self.user}" if self.user_id else f"group {self.group}"
        what = self.script.name if self.script_id else "every script"
        return f"{who}: {self.get_level_display()} on {what}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is kept; the key is shown once, at creation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to tell it.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AuditEvent(models.Model):
    """One thing somebody did. Written once, never changed through the API or the admin."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept apart from the foreign key so the log still names a deleted user.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)  # indexed by (action, ip, at) below
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor_name", "at"]),
            models.Index(fields=["action", "ip", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action}"


class SignInThrottle(models.Model):
    """Sign-in attempts of one address (``ip:…``) or one user name (``name:…``) in a window.

    An attempt is counted by a conditional UPDATE before its password is checked, so
    concurrent attempts cannot all read "no failures yet"; a success gives its count back.
    """

    key = models.CharField(max_length=200, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(default=timezone.now)
    last_attempt = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.key}: {self.attempts}"
