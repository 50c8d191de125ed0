"""Schedules over HTTP: who may run a script may schedule it; runs start as the owner."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from scriptdeck.access import audit
from scriptdeck.access import permissions as access
from scriptdeck.access.models import Level
from scriptdeck.automation.models import Schedule
from scriptdeck.automation.scheduler import ScheduleError, check_timing, plan
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.parameters import (
    ParameterErrors,
    split_secrets,
    validate_parameters,
    with_stored_secrets,
)
from scriptdeck.security.crypto import decrypt_json, encrypt_json


class ScheduleSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    script = serializers.PrimaryKeyRelatedField(queryset=Script.objects.filter(is_active=True))

    class Meta:
        model = Schedule
        fields = [
            "id",
            "name",
            "script",
            "owner",
            "cron",
            "interval_seconds",
            "timezone",
            "parameters",
            "page_context",
            "enabled",
            "misfire_policy",
            "overlap_policy",
            "next_run_at",
            "last_run_at",
            "last_execution",
            "queued_at",
            "skipped_runs",
            "last_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "owner",
            "next_run_at",
            "last_run_at",
            "last_execution",
            "queued_at",
            "skipped_runs",
            "last_error",
            "created_at",
            "updated_at",
        ]

    def validate_script(self, script: Script) -> Script:
        refused = access.runnable_script(self.context["request"].user, script)
        if refused:
            raise serializers.ValidationError(refused)
        return script

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance

        def value(name: str) -> Any:
            return attrs.get(name, getattr(current, name) if current else None)

        try:
            check_timing(value("cron") or "", value("interval_seconds"), value("timezone") or "UTC")
        except ScheduleError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None
        script: Script = value("script")
        given = dict(attrs.get("parameters", current.parameters if current else {}) or {})
        if current is not None and current.secret_parameters:
            given = with_stored_secrets(given, decrypt_json(current.secret_parameters))
        try:
            checked = validate_parameters(script.effective_schema, given)
        except ParameterErrors as exc:
            raise serializers.ValidationError(exc.errors) from None
        shown, secrets = split_secrets(script.effective_schema, checked)
        attrs["parameters"] = shown
        attrs["secret_parameters"] = encrypt_json(secrets) if secrets else ""
        return attrs


class ScheduleViewSet(viewsets.ModelViewSet):
    """Your schedules, and those of the scripts you manage (staff: all)."""

    serializer_class = ScheduleSerializer

    def get_queryset(self) -> QuerySet[Schedule]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI document's pass
            return Schedule.objects.none()
        schedules = Schedule.objects.select_related("owner", "script")
        return access.owned_or_managed(self.request.user, schedules)

    def _require_change(self, schedule: Schedule) -> None:
        user = self.request.user
        if schedule.owner_id != user.pk and not access.can(user, schedule.script, Level.MANAGE):
            raise PermissionDenied("only its owner or a manager of the script may change it")

    def perform_create(self, serializer: ScheduleSerializer) -> None:
        schedule = Schedule(owner=self.request.user, **serializer.validated_data)
        plan(schedule)
        schedule.save()
        serializer.instance = schedule
        self._audit("created", schedule)

    def perform_update(self, serializer: ScheduleSerializer) -> None:
        self._require_change(serializer.instance)
        timing = {"cron", "interval_seconds", "timezone", "enabled"}
        schedule = serializer.save()
        if timing & set(serializer.validated_data):
            plan(schedule)
            schedule.save(update_fields=["next_run_at"])
        self._audit("changed", schedule)

    def perform_destroy(self, instance: Schedule) -> None:
        self._require_change(instance)
        self._audit("deleted", instance)
        instance.delete()

    def _audit(self, what: str, schedule: Schedule) -> None:
        audit.record(
            audit.Action.SCHEDULE_CHANGE,
            actor=self.request.user,
            target=schedule,
            request=self.request,
            change=what,
            script=schedule.script.name,
            parameters=schedule.parameters,
            enabled=schedule.enabled,
        )
