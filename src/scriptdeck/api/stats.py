"""``/api/stats/overview/``: the window asked for, the overview of what the caller may see."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scriptdeck.access import permissions as access
from scriptdeck.executions.models import Status, TaskExecution
from scriptdeck.reports.overview import overview

MAX_DAYS = 366


def _window(request: Request) -> tuple[int, ZoneInfo]:
    try:
        days = int(request.query_params.get("days", 30))
    except ValueError:
        raise ValidationError({"days": ["must be a whole number"]}) from None
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError({"days": [f"must be from 1 to {MAX_DAYS}"]})
    name = request.query_params.get("tz") or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"tz": [f"unknown time zone {name!r}"]}) from None
    return days, zone


class OverviewDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    status = serializers.ChoiceField(choices=Status.choices)
    runs = serializers.IntegerField()


class OverviewScriptSerializer(serializers.Serializer):
    script_id = serializers.IntegerField(allow_null=True)
    script_name = serializers.CharField()
    runs = serializers.IntegerField()
    successes = serializers.IntegerField()
    failures = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)
    p50_seconds = serializers.FloatField(allow_null=True)
    p95_seconds = serializers.FloatField(allow_null=True)
    last_status = serializers.ChoiceField(choices=Status.choices, allow_null=True)
    last_run_at = serializers.DateTimeField(allow_null=True)


class OverviewNowSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    started = serializers.IntegerField()


class OverviewSerializer(serializers.Serializer):
    """The answer's shape, for the OpenAPI document (the view answers the dict as built)."""

    days = serializers.IntegerField()
    per_day = OverviewDaySerializer(many=True)
    scripts = OverviewScriptSerializer(many=True)
    now = OverviewNowSerializer()


class OverviewView(APIView):
    """Runs per day by status, per-script success rate and p50/p95 duration, what runs now."""

    @extend_schema(
        description=(
            "Over the last `days` days, the executions the caller may see: runs per local "
            "day of `tz` and status; per script the runs, successes, failures, success "
            "rate, last run and its status, and the exact p50 / p95 duration of its "
            "timed SUCCESS and FAILURE runs (PostgreSQL's percentile_cont: linear "
            "interpolation between the two closest durations); the runs pending and "
            "started now. `script_name` is the name the script's latest run in the window "
            "ran under."
        ),
        parameters=[
            OpenApiParameter("days", int, description="The window, in days (1–366; 30)."),
            OpenApiParameter("tz", str, description="Time zone of the day buckets (UTC)."),
        ],
        responses={200: OverviewSerializer},
    )
    def get(self, request: Request) -> Response:
        days, zone = _window(request)
        visible = access.executions_for(request.user, TaskExecution.objects.all())
        return Response(overview(visible, days, zone))
