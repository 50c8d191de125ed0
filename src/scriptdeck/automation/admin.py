from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .models import Channel, NotificationDelivery, NotificationRule, Schedule, WebhookTrigger


def _audit(request: HttpRequest, action: str, target: Any, **detail: Any) -> None:
    from scriptdeck.access import audit

    audit.record(
        getattr(audit.Action, action), actor=request.user, target=target, request=request, **detail
    )


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
        from .delivery import DeliveryRefused, email_addresses, http_url

        data = super().clean()
        if not data.get("script") and not data.get("schedule"):
            self.add_error("script", "Choose a script or a schedule.")
        if not (data.get("on_failure") or data.get("on_success")) and (
            data.get("duration_over") is None
        ):
            self.add_error(None, "Choose at least one of: on failure, on success, duration over.")
        channel, target = data.get("channel"), data.get("target")
        if channel and target:
            try:
                if channel == Channel.HTTP:
                    data["target"] = http_url(target)
                else:
                    email_addresses(target)
            except DeliveryRefused as exc:
                self.add_error("target", str(exc))
        if data.get("new_signing_secret") and data.get("remove_signing_secret"):
            self.add_error("remove_signing_secret", "Either give a new secret or remove it.")
        return data

    def save(self, commit: bool = True) -> NotificationRule:
        from scriptdeck.security.crypto import encrypt_text

        secret = self.cleaned_data.get("new_signing_secret")
        if secret:
            self.instance.signing_secret = encrypt_text(secret)
        elif self.cleaned_data.get("remove_signing_secret"):
            self.instance.signing_secret = ""
        return super().save(commit)


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
        super().save_model(request, obj, form, change)
        _audit(request, "NOTIFICATION_CHANGE", obj, changed=sorted(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: NotificationRule) -> None:
        _audit(request, "NOTIFICATION_CHANGE", obj, changed=["deleted"])
        super().delete_model(request, obj)


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
        from scriptdeck.catalog.parameters import (
            ParameterErrors,
            split_secrets,
            validate_parameters,
            with_stored_secrets,
        )
        from scriptdeck.security.crypto import decrypt_json, encrypt_json

        from .scheduler import ScheduleError, check_timing

        data = super().clean()
        try:
            check_timing(
                data.get("cron") or "", data.get("interval_seconds"), data.get("timezone") or ""
            )
        except ScheduleError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        script = data.get("script")
        if script is not None:
            given = dict(data.get("parameters") or {})
            if self.instance.pk and self.instance.secret_parameters:
                given = with_stored_secrets(given, decrypt_json(self.instance.secret_parameters))
            try:
                checked = validate_parameters(script.effective_schema, given)
            except ParameterErrors as exc:
                self.add_error(
                    "parameters",
                    "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.errors.items()),
                )
            else:
                shown, secrets = split_secrets(script.effective_schema, checked)
                data["parameters"] = shown
                self.instance.secret_parameters = encrypt_json(secrets) if secrets else ""
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
        from .scheduler import plan

        if not change and obj.owner_id is None:
            obj.owner = request.user
        if not change or {"cron", "interval_seconds", "timezone", "enabled"} & set(
            form.changed_data
        ):
            plan(obj)
        super().save_model(request, obj, form, change)
        _audit(
            request,
            "SCHEDULE_CHANGE",
            obj,
            change="changed" if change else "created",
            changed=sorted(form.changed_data),
        )


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
        from . import webhooks

        for hook in queryset:
            if webhooks.revoke(hook):
                _audit(request, "WEBHOOK_CHANGE", hook, change="revoked")
