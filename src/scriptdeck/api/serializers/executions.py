"""How executions, their output, artifacts, result records, uploads and workers look over HTTP."""

from __future__ import annotations

from rest_framework import serializers

from scriptdeck import legacy
from scriptdeck.executions import services, workers
from scriptdeck.executions.models import (
    Artifact,
    ExecutionEvent,
    FailureReason,
    ResultRecord,
    Status,
    TaskExecution,
    Upload,
    Worker,
)

from .pids import StaffOnlyPids
from .prebuilt import PrebuiltOutput


class ExecutionSubmitSerializer(serializers.Serializer):
    script = serializers.CharField(help_text="The script's id or its name.")
    parameters = serializers.DictField(required=False, default=dict)
    page_context = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=255
    )


class ExecutionSerializer(StaffOnlyPids, PrebuiltOutput, serializers.ModelSerializer):
    script = serializers.PrimaryKeyRelatedField(read_only=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    cancelled_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    failure_reason = serializers.ChoiceField(
        choices=[("", "none")] + list(FailureReason.choices),
        read_only=True,
        help_text="Empty unless the execution failed or was cancelled.",
    )
    task_id = serializers.CharField(read_only=True)
    queue_position = serializers.SerializerMethodField()
    waiting_reason = serializers.SerializerMethodField()

    def get_queue_position(self, execution: TaskExecution) -> int | None:
        return services.queue_position(execution)

    def get_waiting_reason(self, execution: TaskExecution) -> str | None:
        if execution.status != Status.PENDING:
            return None
        # Read once per response, not once per waiting execution of a page.
        if "live_workers" not in self.context:
            self.context["live_workers"] = workers.live()
        return services.waiting_reason(execution, self.context["live_workers"])

    class Meta:
        model = TaskExecution
        fields = [
            "id",
            "task_id",
            "script",
            "script_name",
            "script_path",
            "script_sha256",
            "queue",
            "user",
            "status",
            "failure_reason",
            "error_message",
            "trigger",
            "trigger_ref",
            "details",
            "attempt",
            "retry_of",
            "retried_by",
            "dispatch_after",
            "parameters",
            "page_context",
            "result",
            "stdout",
            "stderr",
            "stdout_bytes",
            "stderr_bytes",
            "stdout_dropped",
            "stderr_dropped",
            "exit_code",
            "signal",
            "execution_time",
            "memory_usage",
            "peak_rss_bytes",
            "cpu_user",
            "cpu_system",
            "created_at",
            "dispatched_at",
            "started_at",
            "completed_at",
            "heartbeat_at",
            "worker_host",
            "worker_pid",
            "pid",
            "queue_position",
            "waiting_reason",
            "cancel_requested_at",
            "cancelled_by",
            "output_purged_at",
            "timeline",
        ]
        read_only_fields = fields


class ExecutionListSerializer(ExecutionSerializer):
    """The list leaves out the bulky output and result."""

    class Meta(ExecutionSerializer.Meta):
        fields = [
            f
            for f in ExecutionSerializer.Meta.fields
            if f not in {"stdout", "stderr", "result", "timeline"}
        ]
        read_only_fields = fields


class ResultRecordSerializer(serializers.ModelSerializer):
    execution_id = serializers.IntegerField(source="execution.pk", read_only=True)

    class Meta:
        model = ResultRecord
        fields = [
            "id",
            "execution_id",
            *legacy.RECORD_FIELDS,
            "script_name",
            "task_id",
            "execution_time",
            "script_output",
            "error_message",
            "page_context",
        ]
        read_only_fields = fields


class OutputChunkSerializer(serializers.ModelSerializer):
    stream = serializers.CharField(source="kind")

    class Meta:
        model = ExecutionEvent
        fields = ["seq", "stream", "text", "raw_bytes", "at"]
        read_only_fields = fields


class OutputPageSerializer(serializers.Serializer):
    chunks = OutputChunkSerializer(many=True)
    last_seq = serializers.IntegerField(help_text="Pass as ?after= to get what follows.")
    finished = serializers.BooleanField(help_text="The execution has ended: no more output.")
    stdout_dropped = serializers.IntegerField()
    stderr_dropped = serializers.IntegerField()


class ArtifactSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = ["id", "name", "size", "sha256", "download_url", "created_at"]
        read_only_fields = fields

    def get_download_url(self, artifact: Artifact) -> str:
        path = f"/api/executions/{artifact.execution_id}/artifacts/{artifact.pk}/download/"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class CancelAnswerSerializer(serializers.Serializer):
    status = serializers.CharField()
    detail = serializers.CharField()


class UploadSerializer(serializers.ModelSerializer):
    file = serializers.FileField(write_only=True)

    class Meta:
        model = Upload
        fields = ["id", "name", "size", "sha256", "created_at", "file"]
        read_only_fields = ["id", "name", "size", "sha256", "created_at"]


class WorkerSerializer(StaffOnlyPids, serializers.ModelSerializer):
    alive = serializers.SerializerMethodField()

    class Meta:
        model = Worker
        fields = [
            "hostname",
            "queues",
            "concurrency",
            "version",
            "pid",
            "started_at",
            "last_seen_at",
            "stopped_at",
            "alive",
        ]
        read_only_fields = fields

    def get_alive(self, worker: Worker) -> bool:
        return worker.pk in self.context.get("live_ids", set())
