from django.contrib import admin

from .models import ResultRecord, TaskExecution, Worker


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records are written by the system; the admin shows them."""

    def has_add_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False

    def has_change_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False


@admin.register(TaskExecution)
class TaskExecutionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "script_name",
        "status",
        "failure_reason",
        "user",
        "page_context",
        "created_at",
        "execution_time",
        "memory_usage",
    ]
    list_filter = ["status", "failure_reason", "queue"]
    search_fields = ["script_name", "task_id", "page_context", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]


@admin.register(ResultRecord)
class ResultRecordAdmin(ReadOnlyAdmin):
    list_display = ["scandevresult_filename", "script_name", "page_context", "scandevresult_time"]
    search_fields = ["scandevresult_filename", "script_name", "task_id", "page_context"]
    list_filter = ["result_type"]


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ["hostname", "queues", "concurrency", "version", "last_seen_at", "stopped_at"]
