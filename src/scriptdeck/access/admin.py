from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import audit, tokens
from .models import ApiToken, AuditEvent, ScriptGrant


def _grant_detail(grant: ScriptGrant) -> dict[str, Any]:
    return {
        "script": grant.script.name if grant.script_id else "*",
        "user": grant.user.get_username() if grant.user_id else None,
        "group": grant.group.name if grant.group_id else None,
        "level": grant.get_level_display(),
    }


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
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        action = audit.Action.GRANT_CHANGE if change else audit.Action.GRANT_ADD
        audit.record(action, actor=request.user, target=obj, request=request, **_grant_detail(obj))

    def delete_model(self, request: HttpRequest, obj: ScriptGrant) -> None:
        detail = _grant_detail(obj)
        target_id = obj.pk
        super().delete_model(request, obj)
        audit.record(
            audit.Action.GRANT_REMOVE,
            actor=request.user,
            target_type="scriptgrant",
            target_id=target_id,
            request=request,
            **detail,
        )

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
            if tokens.revoke(token):
                audit.record(
                    audit.Action.TOKEN_REVOKE,
                    actor=request.user,
                    target=token,
                    request=request,
                    owner=token.user.get_username(),
                )


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
