from django.contrib import admin

from .models import Script


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_active",
        "queue",
        "max_concurrent",
        "soft_time_limit",
        "time_limit",
        "updated_at",
    ]
    list_filter = ["is_active", "queue"]
    search_fields = ["name", "description", "path"]
    readonly_fields = [
        "name",
        "path",
        "sha256",
        "size",
        "created_at",
        "updated_at",
        "missing_since",
    ]
    fields = [
        "name",
        "path",
        "description",
        "is_active",
        "soft_time_limit",
        "time_limit",
        "queue",
        "max_concurrent",
        "max_retries",
        "retry_on",
        "retry_exit_codes",
        "retry_backoff",
        "rerun_on_worker_lost",
        "parameter_schema",
        "sha256",
        "size",
        "created_at",
        "updated_at",
        "missing_since",
    ]
