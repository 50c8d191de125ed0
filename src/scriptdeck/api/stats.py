"""Aggregates for the console's overview and catalogue, computed in the database.

Only the executions the user may see are counted. Percentiles use PostgreSQL's
``percentile_cont``; on SQLite (one machine, modest history) they are computed from the
durations of the window.
"""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Max, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scriptdeck.access import permissions as access
from scriptdeck.executions.models import Status, TaskExecution

MAX_DAYS = 366


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(p) WITHIN GROUP (ORDER BY x)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


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


def _percentiles(finished: Any) -> dict[int | None, tuple[float | None, float | None]]:
    if connection.vendor == "postgresql":
        rows = finished.values("script_id").annotate(
            p50=Percentile("execution_time", 0.5), p95=Percentile("execution_time", 0.95)
        )
        return {row["script_id"]: (row["p50"], row["p95"]) for row in rows}
    durations: dict[int | None, list[float]] = {}
    for script_id, seconds in finished.values_list("script_id", "execution_time"):
        durations.setdefault(script_id, []).append(seconds)
    answer = {}
    for script_id, values in durations.items():
        if len(values) == 1:
            answer[script_id] = (values[0], values[0])
        else:
            cuts = statistics.quantiles(values, n=100, method="inclusive")
            answer[script_id] = (statistics.median(values), cuts[94])
    return answer


class OverviewView(APIView):
    """Runs per day by status, per-script success rate and p50/p95 duration, what runs now."""

    @extend_schema(
        parameters=[
            OpenApiParameter("days", int, description="The window, in days (1–366; 30)."),
            OpenApiParameter("tz", str, description="Time zone of the day buckets (UTC)."),
        ],
        responses={
            200: inline_serializer(
                "Overview",
                {
                    "days": serializers.IntegerField(),
                    "per_day": serializers.ListField(child=serializers.DictField()),
                    "scripts": serializers.ListField(child=serializers.DictField()),
                    "now": serializers.DictField(child=serializers.IntegerField()),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        days, zone = _window(request)
        visible = access.executions_for(request.user, TaskExecution.objects.all())
        since = timezone.now() - timedelta(days=days)
        window = visible.filter(created_at__gte=since).order_by()
        per_day = (
            window.annotate(day=TruncDate("created_at", tzinfo=zone))
            .values("day", "status")
            .annotate(runs=Count("id"))
            .order_by("day", "status")
        )
        latest = visible.filter(script_id=OuterRef("script_id")).order_by("-created_at", "-id")
        scripts = (
            window.values("script_id")
            .annotate(
                runs=Count("id"),
                successes=Count("id", filter=Q(status=Status.SUCCESS)),
                failures=Count("id", filter=Q(status=Status.FAILURE)),
                last_run_at=Max("created_at"),
                script_name=Max("script_name"),
                last_status=Subquery(latest.values("status")[:1]),
            )
            .order_by("-runs")
        )
        finished = window.filter(
            status__in=[Status.SUCCESS, Status.FAILURE], execution_time__isnull=False
        )
        percentiles = _percentiles(finished)
        rows = []
        for row in scripts:
            p50, p95 = percentiles.get(row["script_id"], (None, None))
            ended = row["successes"] + row["failures"]
            rows.append(
                {
                    **row,
                    "success_rate": round(row["successes"] / ended, 4) if ended else None,
                    "p50_seconds": p50,
                    "p95_seconds": p95,
                }
            )
        now = {
            status.lower(): count
            for status, count in visible.filter(status__in=[Status.PENDING, Status.STARTED])
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
        }
        return Response(
            {
                "days": days,
                "per_day": [
                    {"day": r["day"].isoformat(), "status": r["status"], "runs": r["runs"]}
                    for r in per_day
                ],
                "scripts": rows,
                "now": {"pending": now.get("pending", 0), "started": now.get("started", 0)},
            }
        )
