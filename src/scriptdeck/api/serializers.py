"""How records look over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import Field, SkipField, empty
from rest_framework.relations import PKOnlyObject

from scriptdeck.access import permissions
from scriptdeck.catalog.models import RETRYABLE_REASONS, Script
from scriptdeck.catalog.parameters import public_schema
from scriptdeck.catalog.schema import check_schema
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


class SchemaField(serializers.JSONField):
    """A parameter schema as shown: a secret parameter's default never is."""

    def to_representation(self, value: object) -> object:
        return public_schema(super().to_representation(value))


# Field classes whose output depends on the value alone, never on the serializer's context or
# request (a file's or a hyperlink's URL does): one instance of each may serve every request.
_VALUE_ONLY_FIELDS: frozenset[type[Field]] = frozenset(
    {
        serializers.BigIntegerField,
        serializers.BooleanField,
        serializers.CharField,
        serializers.ChoiceField,
        serializers.DateTimeField,
        serializers.FloatField,
        serializers.IntegerField,
        serializers.JSONField,
        serializers.UUIDField,
        serializers.PrimaryKeyRelatedField,
        serializers.SlugRelatedField,
        SchemaField,
    }
)

# One output step: (name, read the attribute, show it, or the name of a method of the
# serializer that gives the value).
_Step = tuple[str, Callable[[Any], Any] | None, Callable[[Any], Any] | None, str | None]
_plan_lock = threading.Lock()


def _value_only(field: Field) -> bool:
    if type(field) is serializers.ListField:
        return _value_only(field.child)
    return type(field) in _VALUE_ONLY_FIELDS and field.default is empty


class PrebuiltOutput:
    # Output through fields built once per class, not once per serializer. (Comments, not
    # a docstring: drf-spectacular would show a docstring as every subclass's description.)
    #
    # DRF builds (deep-copies) a serializer's fields for every instance, several milliseconds
    # for a model of fifty columns. Here a prototype's fields serve every instance: possible
    # because each one's output depends on the value alone (``_VALUE_ONLY_FIELDS``); a method
    # field still calls the method of the serializer at hand, with its context. The steps
    # are those of ``Serializer.to_representation``, so the answer is the same; a class with
    # any other field keeps DRF's own way. Input and the OpenAPI schema use ``fields`` as ever.

    _output_plan: ClassVar[list[_Step] | None]

    @classmethod
    def output_plan(cls) -> list[_Step] | None:
        if "_output_plan" not in cls.__dict__:
            with _plan_lock:
                if "_output_plan" not in cls.__dict__:
                    cls._output_plan = cls._plan()
        return cls.__dict__["_output_plan"]

    @classmethod
    def _plan(cls) -> list[_Step] | None:
        prototype = cls()
        steps: list[_Step] = []
        for field in prototype._readable_fields:  # type: ignore[attr-defined]
            if type(field) is serializers.SerializerMethodField:
                steps.append((field.field_name, None, None, field.method_name))
            elif _value_only(field):
                steps.append((field.field_name, field.get_attribute, field.to_representation, None))
            else:
                return None
        return steps

    def to_representation(self, instance: Any) -> dict[str, Any]:
        steps = self.output_plan()
        if steps is None:
            return super().to_representation(instance)  # type: ignore[misc]
        shown: dict[str, Any] = {}
        for name, read, show, method in steps:
            if method is not None:
                shown[name] = getattr(self, method)(instance)
                continue
            try:
                value = read(instance)  # type: ignore[misc]
            except SkipField:
                continue
            check_for_none = value.pk if isinstance(value, PKOnlyObject) else value
            shown[name] = None if check_for_none is None else show(value)  # type: ignore[misc]
        return shown


class ScriptSerializer(PrebuiltOutput, serializers.ModelSerializer):
    parameter_schema = serializers.SerializerMethodField(
        help_text="The effective JSON Schema of the parameters (properties, required); empty "
        "when the script takes free-form parameters."
    )
    parameter_schema_override = SchemaField(
        source="parameter_schema",
        required=False,
        help_text="A schema set by a manager; it replaces what the file declares. {}: none.",
    )
    schema_source = serializers.SerializerMethodField()
    my_level = serializers.SerializerMethodField(
        help_text="What you may do with it: view, run or manage."
    )
    argv = serializers.ListField(
        child=serializers.CharField(max_length=4096, allow_blank=True),
        max_length=200,
        required=False,
    )

    @extend_schema_field({"type": "object", "additionalProperties": True, "properties": {}})
    def get_parameter_schema(self, script: Script) -> dict:
        return public_schema(script.effective_schema)

    def get_schema_source(self, script: Script) -> str:
        return "override" if script.parameter_schema else script.schema_source

    @extend_schema_field({"type": "string", "enum": ["view", "run", "manage"], "nullable": True})
    def get_my_level(self, script: Script) -> str | None:
        levels = self.context.get("levels")
        if levels is None:
            request = self.context.get("request")
            levels = self.context["levels"] = permissions.Levels(getattr(request, "user", None))
        return permissions.level_name(levels.of(script))

    def validate_parameter_schema_override(self, value: object) -> dict:
        if value in (None, ""):
            return {}
        problems = check_schema(value)
        if problems:
            raise serializers.ValidationError(problems)
        return value  # type: ignore[return-value]

    class Meta:
        model = Script
        fields = [
            "id",
            "name",
            "path",
            "description",
            "is_active",
            "parameter_schema",
            "parameter_schema_override",
            "schema_source",
            "schema_problems",
            "entrypoint",
            "argv",
            "my_level",
            "soft_time_limit",
            "time_limit",
            "queue",
            "max_concurrent",
            "max_retries",
            "retry_on",
            "retry_exit_codes",
            "retry_backoff",
            "rerun_on_worker_lost",
            "sha256",
            "size",
            "created_at",
            "updated_at",
            "missing_since",
        ]
        read_only_fields = [
            "id",
            "name",
            "path",
            "schema_problems",
            "entrypoint",
            "sha256",
            "size",
            "created_at",
            "updated_at",
            "missing_since",
        ]

    def validate_retry_on(self, value: object) -> list[str]:
        if not isinstance(value, list) or any(r not in RETRYABLE_REASONS for r in value):
            raise serializers.ValidationError(
                f"a list of failure reasons among {', '.join(RETRYABLE_REASONS)}"
            )
        return value

    def validate_retry_exit_codes(self, value: object) -> list[int]:
        if not isinstance(value, list) or any(
            not isinstance(code, int) or isinstance(code, bool) or not 1 <= code <= 255
            for code in value
        ):
            raise serializers.ValidationError("a list of exit codes from 1 to 255")
        return value

    def validate(self, attrs: dict) -> dict:
        soft = attrs.get("soft_time_limit", getattr(self.instance, "soft_time_limit", None))
        hard = attrs.get("time_limit", getattr(self.instance, "time_limit", None))
        if soft is not None and hard is not None and hard < soft:
            raise serializers.ValidationError(
                {"time_limit": ["The hard limit must not be below the soft limit."]}
            )
        return attrs


class ExecutionSubmitSerializer(serializers.Serializer):
    script = serializers.CharField(help_text="The script's id or its name.")
    parameters = serializers.DictField(required=False, default=dict)
    page_context = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=255
    )


class ExecutionSerializer(PrebuiltOutput, serializers.ModelSerializer):
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
            "scandevresult_filename",
            "scandevresult_time",
            "director",
            "remark",
            "scandevresult_content",
            "status",
            "result_type",
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


class WorkerSerializer(serializers.ModelSerializer):
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
