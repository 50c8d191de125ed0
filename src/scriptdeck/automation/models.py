"""Schedules, incoming webhooks, notification rules and their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class MisfirePolicy(models.TextChoices):
    SKIP = "skip", "skip the runs missed while the scheduler was down"
    RUN_ONCE = "run_once", "run once for all the runs missed"


class OverlapPolicy(models.TextChoices):
    SKIP = "skip", "skip a run while the previous one is still going"
    QUEUE = "queue", "start it as soon as the previous one ends"
    ALLOW = "allow", "start it anyway"


class Schedule(models.Model):
    """Runs a script with fixed parameters on a cron expression or a fixed interval."""

    name = models.CharField(max_length=200)
    script = models.ForeignKey("catalog.Script", on_delete=models.CASCADE, related_name="schedules")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="schedules",
        help_text="Runs are started as this user, with this user's permissions.",
    )
    cron = models.CharField(
        max_length=120,
        blank=True,
        help_text='A cron expression, five fields ("*/5 * * * *"), in the time zone below.',
    )
    interval_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Or: every this many seconds.",
    )
    timezone = models.CharField(max_length=64, default="UTC")
    parameters = models.JSONField(default=dict, blank=True)
    secret_parameters = models.TextField(blank=True, default="", editable=False)
    page_context = models.CharField(max_length=255, blank=True, default="")
    enabled = models.BooleanField(default=True)
    misfire_policy = models.CharField(
        max_length=10, choices=MisfirePolicy.choices, default=MisfirePolicy.SKIP
    )
    overlap_policy = models.CharField(
        max_length=10, choices=OverlapPolicy.choices, default=OverlapPolicy.SKIP
    )
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_execution = models.ForeignKey(
        "executions.TaskExecution",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Set while a run waits for the previous one to end (overlap policy "queue").
    queued_at = models.DateTimeField(null=True, blank=True)
    skipped_runs = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(interval_seconds__isnull=True) & ~Q(cron=""))
                | (Q(interval_seconds__isnull=False) & Q(cron="")),
                name="schedule_cron_or_interval",
            )
        ]

    def __str__(self) -> str:
        return self.name


class WebhookTrigger(models.Model):
    """An incoming webhook: a secret URL, ``POST /api/hooks/<key>/``, that runs a script.

    Only the key's SHA-256 is stored; the URL is shown once, when it is made. The class
    keeps its first name: its table, its admin URLs and the audit log's ``target_type``
    (``webhooktrigger``) are derived from it.
    """

    name = models.CharField(max_length=200)
    script = models.ForeignKey("catalog.Script", on_delete=models.CASCADE, related_name="webhooks")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="webhooks",
        help_text="Runs are started as this user, with this user's permissions.",
    )
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Fixed parameters; the request cannot change them."
    )
    secret_parameters = models.TextField(blank=True, default="", editable=False)
    allowed_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Fields of the request's JSON body taken as parameters; others are ignored.",
    )
    page_context = models.CharField(max_length=255, blank=True, default="")
    rate_limit = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)], help_text="Runs per minute, at most."
    )
    max_wait = models.PositiveIntegerField(
        default=30,
        validators=[MaxValueValidator(300)],
        help_text="Seconds a caller may wait for the result (?wait=N). 0: never waits.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "incoming webhook"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Channel(models.TextChoices):
    EMAIL = "email", "email"
    # The stored value is "webhook": rules and deliveries hold it, and it is what the
    # admin posts. The code calls the channel what it is, a signed JSON POST.
    HTTP = "webhook", "HTTP POST (JSON, HMAC-signed)"


class NotificationRule(models.Model):
    """Who hears about a script's (or a schedule's) runs, and when."""

    name = models.CharField(max_length=200)
    script = models.ForeignKey(
        "catalog.Script",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_rules",
    )
    schedule = models.ForeignKey(
        Schedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_rules",
        help_text="Only the runs this schedule started.",
    )
    on_failure = models.BooleanField(default=True)
    on_success = models.BooleanField(default=False)
    duration_over = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Seconds: also when a run takes longer than this.",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    target = models.CharField(
        max_length=2000, help_text="Email addresses, comma-separated; or the URL to POST to."
    )
    signing_secret = models.TextField(
        blank=True,
        default="",
        editable=False,
        help_text="Encrypted; signs the bodies sent over HTTP.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(script__isnull=False) | Q(schedule__isnull=False),
                name="rule_for_a_script_or_a_schedule",
            )
        ]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class NotificationDelivery(models.Model):
    """One notification of one execution by one rule: an outbox row, sent with retries."""

    rule = models.ForeignKey(NotificationRule, on_delete=models.CASCADE, related_name="deliveries")
    execution = models.ForeignKey(
        "executions.TaskExecution", on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=10, help_text="failure, success or slow")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=2000)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.TextField(blank=True, default="")
    response_status = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "execution", "event"], name="one_delivery_per_rule_and_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} of execution {self.execution_id} → {self.target}"
