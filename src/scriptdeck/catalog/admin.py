from django.apps import apps
from django.contrib import admin
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Length
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from .models import Script


def _per_script(model: type, field: object) -> Subquery:
    rows = (
        model.objects.filter(execution__script=OuterRef("pk"))
        .order_by()
        .values("execution__script")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_active",
        "queue",
        "max_concurrent",
        "soft_time_limit",
        "time_limit",
        "history_size",
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Script]:
        # The admin is a view over every app; catalog's code itself never uses these.
        task_execution = apps.get_model("executions", "TaskExecution")
        output = (
            task_execution.objects.filter(script=OuterRef("pk"))
            .order_by()
            .values("script")
            .annotate(total=Sum(Length("stdout") + Length("stderr")))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                history_bytes=Coalesce(Subquery(output, output_field=IntegerField()), 0)
                + _per_script(apps.get_model("executions", "ExecutionEvent"), Length("text"))
                + _per_script(apps.get_model("executions", "Artifact"), "size")
            )
        )

    @admin.display(description="history size", ordering="history_bytes")
    def history_size(self, script: Script) -> str:
        """Stored output (rows and chunks) and artifacts of all its executions."""
        return filesizeformat(getattr(script, "history_bytes", 0) or 0)
