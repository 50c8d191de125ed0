"""How a script looks over HTTP, and which of its settings a manager may change."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scriptdeck.access import permissions
from scriptdeck.catalog.argv import preview_values, shown_argv
from scriptdeck.catalog.models import RETRYABLE_REASONS, Script
from scriptdeck.catalog.parameters import public_schema
from scriptdeck.catalog.schema import check_schema, secret_fields

from .prebuilt import PrebuiltOutput, SchemaField


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
    schema_origin = serializers.SerializerMethodField(
        help_text='Where in the file the form was read from, in a sentence ("read from argparse '
        "in build_parser(), line 12\"); empty when a manager's schema replaces it."
    )
    my_level = serializers.SerializerMethodField(
        help_text="What you may do with it: view, run or manage."
    )
    argv = serializers.ListField(
        child=serializers.CharField(max_length=4096, allow_blank=True),
        max_length=200,
        required=False,
    )
    command_line_preview = serializers.SerializerMethodField(
        help_text="The command line a run with the defaults gets, secrets masked; <name> stands "
        "for a required value without a default."
    )

    @extend_schema_field({"type": "object", "additionalProperties": True, "properties": {}})
    def get_parameter_schema(self, script: Script) -> dict:
        return public_schema(script.effective_schema)

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_command_line_preview(self, script: Script) -> list[str]:
        schema = script.effective_schema
        values = preview_values(schema)
        template = script.argv or None
        return [script.path, *shown_argv(schema, values, template, secret_fields(schema))]

    def get_schema_source(self, script: Script) -> str:
        return "override" if script.parameter_schema else script.schema_source

    def get_schema_origin(self, script: Script) -> str:
        return "" if script.parameter_schema else script.schema_origin

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
            "schema_origin",
            "schema_problems",
            "entrypoint",
            "argv",
            "command_line_preview",
            "my_level",
            "soft_time_limit",
            "time_limit",
            "memory_limit_mb",
            "process_limit",
            "cpu_limit_seconds",
            "file_size_limit_mb",
            "open_files_limit",
            "queue",
            "max_concurrent",
            "max_retries",
            "retry_on",
            "retry_exit_codes",
            "retry_backoff",
            "rerun_on_worker_lost",
            "network",
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
