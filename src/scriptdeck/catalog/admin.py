from __future__ import annotations

import json
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Length
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from scriptdeck.refusals import Refusal

from .models import Script, ScriptVariable
from .parameters import public_schema
from .services import (
    check_changes,
    record_variable_changes,
    set_variable_value,
    update_script,
)


class ScriptVariableForm(forms.ModelForm):
    """The value is written, never shown back: leave it empty to keep the stored one."""

    value = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Empty keeps the current value.",
    )

    class Meta:
        model = ScriptVariable
        fields = ["name", "value", "is_secret"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        value = data.get("value")
        if not self.instance.pk and not value:
            self.add_error("value", "A new variable needs a value.")
        elif value:
            # Only the encrypted value goes onto the row the formset saves.
            set_variable_value(self.instance, value)
        return data


class ScriptVariableInline(admin.TabularInline):
    model = ScriptVariable
    form = ScriptVariableForm
    extra = 0


class ScriptAdminForm(forms.ModelForm):
    class Meta:
        model = Script
        fields = "__all__"

    def clean_parameter_schema(self) -> dict:
        return self.cleaned_data.get("parameter_schema") or {}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        changes = {name: data[name] for name in self.changed_data if name in data}
        try:
            check_changes(self.instance, changes)
        except Refusal as refusal:
            for name, messages in refusal.errors.items():
                self.add_error(name if name in self.fields else None, messages)
        return data


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
    form = ScriptAdminForm
    inlines = [ScriptVariableInline]
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
        "effective_parameters",
        "schema_source",
        "schema_problems",
        "entrypoint",
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
        "effective_parameters",
        "schema_source",
        "schema_problems",
        "entrypoint",
        "parameter_schema",
        "argv",
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

    @admin.display(description="parameters in effect")
    def effective_parameters(self, script: Script) -> str:
        return json.dumps(public_schema(script.effective_schema), ensure_ascii=False, indent=2)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Scripts come from the scripts folder (sync); name and path are read-only here, so a
        # row added by hand would name no file.
        return False

    def save_model(self, request: HttpRequest, obj: Script, form: Any, change: bool) -> None:
        # The form has already put its values on obj; the service compares them with the row.
        changes = {name: getattr(obj, name) for name in form.changed_data}
        update_script(request.user, obj, changes, request=request)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        touched = [v.name for v in formset.new_objects + [o for o, _ in formset.changed_objects]]
        removed = [v.name for v in formset.deleted_objects]
        if touched or removed:
            record_variable_changes(request.user, form.instance, touched, removed, request=request)

    @admin.display(description="history size", ordering="history_bytes")
    def history_size(self, script: Script) -> str:
        """Stored output (rows and chunks) and artifacts of all its executions."""
        return filesizeformat(getattr(script, "history_bytes", 0) or 0)
