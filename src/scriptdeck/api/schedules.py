"""Schedules over HTTP: who may run a script may schedule it; runs start as the owner."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from scriptdeck.access import permissions as access
from scriptdeck.automation import services
from scriptdeck.automation.models import Schedule
from scriptdeck.catalog.models import Script


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


class ScheduleViewSet(viewsets.ModelViewSet):
    """Your schedules, and those of the scripts you manage (staff: all)."""

    serializer_class = ScheduleSerializer

    def get_queryset(self) -> QuerySet[Schedule]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI document's pass
            return Schedule.objects.none()
        schedules = Schedule.objects.select_related("owner", "script")
        return access.owned_or_managed(self.request.user, schedules)

    def perform_create(self, serializer: ScheduleSerializer) -> None:
        serializer.instance = services.create_schedule(
            self.request.user, dict(serializer.validated_data), request=self.request
        )

    def perform_update(self, serializer: ScheduleSerializer) -> None:
        services.update_schedule(
            self.request.user,
            serializer.instance,
            dict(serializer.validated_data),
            request=self.request,
        )

    def perform_destroy(self, instance: Schedule) -> None:
        services.delete_schedule(self.request.user, instance, request=self.request)
