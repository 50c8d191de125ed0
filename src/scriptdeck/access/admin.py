from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import ApiToken, AuditEvent, ScriptGrant


@admin.register(ScriptGrant)
class ScriptGrantAdmin(admin.ModelAdmin):
    list_display = ["script_or_all", "user", "group", "level", "created_at", "created_by"]
    list_filter = ["level", "group"]
    search_fields = ["script__name", "user__username", "group__name"]
    autocomplete_fields = ["script", "user", "group"]
    readonly_fields = ["created_at", "created_by"]

    @admin.display(description="script", ordering="script__name")
    def script_or_all(self, grant: ScriptGrant) -> str:
        return grant.script.name if grant.script_id else "(every script)"

    def save_model(self, request: HttpRequest, obj: ScriptGrant, form: Any, change: bool) -> None:
        services.save_grant(request.user, obj, request=request)

    def delete_model(self, request: HttpRequest, obj: ScriptGrant) -> None:
        services.remove_grant(request.user, obj, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ScriptGrant]) -> None:
        for grant in queryset:
            self.delete_model(request, grant)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owners (the key is shown once); staff can only revoke."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "digest"]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.revoke_token(request.user, token, request=request)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is appended to by the application, never edited."""

    list_display = ["at", "actor_name", "action", "target_type", "target_id", "target_repr", "ip"]
    list_filter = ["action", "target_type", "at"]
    search_fields = ["actor_name", "target_repr", "target_id", "ip"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
