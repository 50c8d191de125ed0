from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from scriptdeck.refusals import Refusal

from . import services
from .models import NotificationDelivery, NotificationRule, Schedule, WebhookTrigger
from .scheduler import ScheduleError

# What a schedule's form may set, and what of it the schedule's check reads.
SCHEDULE_FIELDS = (
    "name",
    "script",
    "owner",
    "cron",
    "interval_seconds",
    "timezone",
    "parameters",
    "page_context",
    "enabled",
    "misfire_policy",
    "overlap_policy",
)
SCHEDULE_CHECKED = ("script", "cron", "interval_seconds", "timezone", "parameters")


def _translate(form: forms.ModelForm, refused: Refusal, fallback: str | None = None) -> None:
    """A refusal's messages on the form: each on its field, or on ``fallback``."""
    for name, messages in refused.errors.items():
        field = name if name in form.fields else fallback
        for message in messages:
            form.add_error(field, message)


# --- notifications: rules (with a write-only signing secret) and their deliveries --------


class NotificationRuleForm(forms.ModelForm):
    """The signing secret is written, never shown back: leave it empty to keep it."""

    new_signing_secret = forms.CharField(
        label="Signing secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="HTTP only: signs each body (HMAC-SHA256). Stored encrypted. "
        "Empty keeps the current one.",
    )
    remove_signing_secret = forms.BooleanField(
        label="Remove the signing secret",
        required=False,
        help_text="Bodies are then sent unsigned.",
    )

    class Meta:
        model = NotificationRule
        fields = [
            "name",
            "script",
            "schedule",
            "on_failure",
            "on_success",
            "duration_over",
            "channel",
            "target",
            "enabled",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            checked = services.check_notification_rule(data)
        except Refusal as refused:
            _translate(self, refused)
        else:
            data["target"] = checked["target"]
        return data


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    form = NotificationRuleForm
    list_display = [
        "name",
        "script",
        "schedule",
        "channel",
        "target",
        "on_failure",
        "on_success",
        "duration_over",
        "has_signing_secret",
        "enabled",
    ]
    list_filter = ["enabled", "channel", "on_failure", "on_success"]
    search_fields = ["name", "target", "script__name", "schedule__name"]
    list_select_related = ["script", "schedule"]
    readonly_fields = ["has_signing_secret", "created_at"]
    fields = [
        "name",
        "script",
        "schedule",
        "on_failure",
        "on_success",
        "duration_over",
        "channel",
        "target",
        "has_signing_secret",
        "new_signing_secret",
        "remove_signing_secret",
        "enabled",
        "created_at",
    ]

    @admin.display(description="signing secret set", boolean=True)
    def has_signing_secret(self, rule: NotificationRule) -> bool:
        return bool(rule.signing_secret)

    def save_model(
        self, request: HttpRequest, obj: NotificationRule, form: Any, change: bool
    ) -> None:
        services.save_notification_rule(
            request.user,
            obj,
            form.changed_data,
            new_signing_secret=form.cleaned_data.get("new_signing_secret") or "",
            remove_signing_secret=bool(form.cleaned_data.get("remove_signing_secret")),
            request=request,
        )

    def delete_model(self, request: HttpRequest, obj: NotificationRule) -> None:
        services.delete_notification_rule(request.user, obj, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for rule in queryset:
            services.delete_notification_rule(request.user, rule, request=request)


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(admin.ModelAdmin):
    """The outbox as sent: written by the system, shown here."""

    list_display = [
        "id",
        "rule",
        "execution",
        "event",
        "channel",
        "status",
        "attempts",
        "response_status",
        "short_error",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "event", "channel"]
    search_fields = ["rule__name", "target", "execution__script_name", "last_error"]
    list_select_related = ["rule", "execution"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="last error")
    def short_error(self, delivery: NotificationDelivery) -> str:
        text = delivery.last_error or ""
        return text if len(text) <= 120 else text[:119] + "…"


# --- end of notifications ------------------------------------------------------------------


# --- schedules and incoming webhooks --------------------------------------------------------


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        values = {name: data[name] for name in SCHEDULE_CHECKED if name in data}
        try:
            # Only checked here: the service stores them (secrets apart) when the form saves.
            services.check_schedule(values, self.instance if self.instance.pk else None)
        except ScheduleError as refused:
            _translate(self, refused)
        except Refusal as refused:
            # The parameters' problems, each named, on the one field that holds them.
            self.add_error(
                "parameters",
                "; ".join(f"{k}: {', '.join(v)}" for k, v in refused.errors.items()),
            )
        return data


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = [
        "name",
        "script",
        "owner",
        "cron",
        "interval_seconds",
        "timezone",
        "enabled",
        "next_run_at",
        "last_run_at",
        "skipped_runs",
    ]
    list_filter = ["enabled", "misfire_policy", "overlap_policy"]
    search_fields = ["name", "script__name", "owner__username"]
    autocomplete_fields = ["script", "owner"]
    readonly_fields = [
        "next_run_at",
        "last_run_at",
        "last_execution",
        "queued_at",
        "skipped_runs",
        "last_error",
        "created_at",
        "updated_at",
    ]

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in form.fields if name in SCHEDULE_FIELDS}
        if change:
            changes = {name: values[name] for name in form.changed_data if name in values}
            services.update_schedule(
                request.user, obj, changes, request=request, changed=form.changed_data
            )
        else:
            services.create_schedule(
                request.user, values, instance=obj, request=request, changed=form.changed_data
            )

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        services.delete_schedule(request.user, obj, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for schedule in queryset:
            services.delete_schedule(request.user, schedule, request=request)


@admin.register(WebhookTrigger)
class WebhookAdmin(admin.ModelAdmin):
    """Incoming webhooks are made over the API (POST /api/webhooks/), where the URL is
    shown once; here they are seen and revoked."""

    list_display = ["name", "script", "owner", "prefix", "rate_limit", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "script__name", "owner__username"]
    readonly_fields = [f.name for f in WebhookTrigger._meta.fields if f.editable]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected webhooks")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for hook in queryset:
            services.revoke_webhook(request.user, hook, request=request)
