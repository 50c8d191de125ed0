"""Aggregates for the console's overview and catalogue, computed in the database.

Only the executions the user may see are counted (``access.executions_for``).

On PostgreSQL nothing groups the window's rows one by one (with a million executions
that took seconds): every count is an index range count, and the percentiles are read
from an index holding each script's durations in order. Both are exact.

* ``execution_overview_idx`` (script, status, created_at; execution_time and user
  included) answers "how many runs, how many of them timed" for each script, status and
  local day of the caller's zone with one index-only range count each. The days are cut
  at the zone's local midnights, computed here: no row is converted to a zone.
* ``execution_duration_idx`` (script, execution_time, created_at; timed SUCCESS and
  FAILURE runs only) gives p50 and p95 as ``percentile_cont`` computes them, to the bit:
  its formula applied to the two order statistics around the rank, read by walking the
  index from its nearer end (the start for p50, the end for p95); the btree itself skips
  the runs outside the window. The walks pass about half of a script's timed history,
  whatever the window: they grow with the history kept, not with the window.

It is one statement, so one snapshot. With 1,000,000 runs over 90 days (333,000 in a
30-day window, 30 scripts) it costs PostgreSQL about 70 ms of CPU: 2,800 range counts
over the window's rows, 60 walks over about 540,000 index entries.

A script's ``script_name`` is the name its latest run ran under. On SQLite (one
machine, a modest history) the window's rows are grouped and the percentiles computed
from their durations, with the same formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
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
FRACTIONS = (0.5, 0.95)  # p50, p95
FINISHED = (Status.SUCCESS, Status.FAILURE)

Row = dict[str, Any]


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


def day_starts(since: datetime, now: datetime, zone: ZoneInfo) -> tuple[date, list[datetime]]:
    """The local date of ``since`` and the instants at which the window's days begin.

    The first day begins at ``since``, each next one at the local midnight of ``zone`` (on
    a day whose midnight a clock change skips, at the day's first instant); the last day
    has no end.
    """
    first = since.astimezone(zone).date()
    last = now.astimezone(zone).date()
    starts = [since]
    day = first + timedelta(days=1)
    while day <= last:
        starts.append(datetime.combine(day, time(), tzinfo=zone).astimezone(UTC))
        day += timedelta(days=1)
    return first, starts


def percentile_cont(fraction: float, count: int, value_at: Callable[[int], float]) -> float:
    """PostgreSQL's ``percentile_cont(fraction)`` over ``count`` sorted values, with its
    float operations, reading only the order statistics it needs (``value_at(i)``: the
    i-th smallest, from 0)."""
    position = fraction * (count - 1)
    first_row, second_row = math.floor(position), math.ceil(position)
    first = value_at(first_row)
    if second_row == first_row:
        return first
    return first + ((position - first_row) * (value_at(second_row) - first))


def _walked(fraction: float, count: int, values: list[float]) -> float:
    """``percentile_cont`` from the (at most) two values an index walk returned: from the
    start for a fraction up to 0.5 (``values[0]`` is the rank-th smallest), from the end
    otherwise (``values[0]`` is the (count - 1 - offset)-th)."""
    rank = math.floor(fraction * (count - 1))
    if fraction <= 0.5:
        return percentile_cont(fraction, count, lambda i: values[i - rank])
    top = count - 1 - max(count - 2 - rank, 0)
    return percentile_cont(fraction, count, lambda i: values[top - i])


def _visible_sql(visible: QuerySet) -> str:
    """What ``access.executions_for`` keeps, as `` AND (…)`` over the unaliased
    executions table, its values inlined (quoted by psycopg); empty when it keeps
    everything. Raises EmptyResultSet when it keeps nothing."""
    where = visible.query.where
    if not where:
        return ""
    sql, params = visible.query.get_compiler(connection=connection).compile(where)
    # The statement has parameters of its own: a % in a value must stay one.
    return " AND (" + connection.ops.compose_sql(sql, params).replace("%", "%%") + ")"


def _each_script(select: str) -> str:
    """``select`` for the scripts and, apart (an index finds them only when asked with
    IS NULL), for the runs of deleted scripts. ``@SCRIPT@`` is the condition on the
    executions, ``@KNOWN@`` the test on the outer script_id."""
    known = select.replace("@SCRIPT@", "script_id = o.script_id").replace("@KNOWN@", "IS NOT NULL")
    deleted = select.replace("@SCRIPT@", "script_id IS NULL").replace("@KNOWN@", "IS NULL")
    return f"{known}\nUNION ALL\n{deleted}"


def _overview_sql(visible: str) -> str:
    finished = ", ".join(f"'{status}'" for status in FINISHED)
    no_walks = ", ".join(["NULL::float8[]"] * len(FRACTIONS))
    statuses = "ARRAY[" + ", ".join(f"'{status}'" for status in Status.values) + "]"
    walks = []
    for fraction in FRACTIONS:
        rank = f"floor({fraction!r}::float8 * (o.n - 1))::bigint"
        order, offset = (
            ("execution_time", rank)
            if fraction <= 0.5
            else ("execution_time DESC", f"greatest(o.n - 2 - {rank}, 0)")
        )
        walks.append(
            "ARRAY(SELECT execution_time FROM executions_taskexecution"
            f" WHERE @SCRIPT@ AND status IN ({finished}) AND execution_time IS NOT NULL"
            f" AND created_at >= %(since)s@VISIBLE@ ORDER BY {order} OFFSET {offset} LIMIT 2)"
        )
    pairs = _each_script(f"""
        SELECT o.script_id, st.status, x.last
        FROM scripts AS o CROSS JOIN unnest({statuses}) AS st (status)
        CROSS JOIN LATERAL (
            SELECT max(created_at) AS last FROM executions_taskexecution
            WHERE @SCRIPT@ AND status = st.status AND created_at >= %(since)s@VISIBLE@
        ) AS x
        WHERE o.script_id @KNOWN@ AND x.last IS NOT NULL""")
    counts = _each_script("""
        SELECT o.script_id, o.status, b.day, x.runs, x.timed
        FROM pairs AS o CROSS JOIN bounds AS b
        CROSS JOIN LATERAL (
            SELECT count(*) AS runs, count(execution_time) AS timed
            FROM executions_taskexecution
            WHERE @SCRIPT@ AND status = o.status AND created_at >= b.lo AND created_at < b.hi
            @VISIBLE@
        ) AS x
        WHERE o.script_id @KNOWN@ AND x.runs > 0""")
    latest = _each_script("""
        SELECT 'latest', o.script_id, x.status, NULL::int, NULL::bigint, x.created_at,
               x.script_name, @NO_WALKS@
        FROM (SELECT DISTINCT script_id FROM pairs) AS o
        CROSS JOIN LATERAL (
            SELECT status, created_at, script_name FROM executions_taskexecution
            WHERE @SCRIPT@@VISIBLE@ ORDER BY created_at DESC, id DESC LIMIT 1
        ) AS x
        WHERE o.script_id @KNOWN@""")
    walk = _each_script(f"""
        SELECT 'walk', o.script_id, NULL, NULL, o.n, NULL, NULL, {", ".join(walks)}
        FROM timed AS o WHERE o.script_id @KNOWN@""")
    sql = f"""
WITH bounds AS (
    SELECT (n - 1)::int AS day, lo, coalesce(lead(lo) OVER (ORDER BY n), 'infinity') AS hi
    FROM unnest(%(starts)s::timestamptz[]) WITH ORDINALITY AS u (lo, n)
),
scripts AS (SELECT id AS script_id FROM catalog_script UNION ALL SELECT NULL),
pairs AS MATERIALIZED ({pairs}),
counts AS MATERIALIZED ({counts}),
timed AS (
    SELECT script_id, sum(timed)::bigint AS n FROM counts
    WHERE status IN ({finished}) GROUP BY script_id HAVING sum(timed) > 0
)
SELECT 'day', NULL::bigint, status, day, sum(runs)::bigint, NULL::timestamptz, NULL::text,
       @NO_WALKS@
FROM counts GROUP BY status, day
UNION ALL
SELECT 'count', script_id, status, NULL, sum(runs)::bigint, NULL, NULL, @NO_WALKS@
FROM counts GROUP BY script_id, status
UNION ALL
SELECT 'last', script_id, NULL, NULL, NULL, max(last), NULL, @NO_WALKS@
FROM pairs GROUP BY script_id
UNION ALL
{latest}
UNION ALL
{walk}
"""
    return sql.replace("@NO_WALKS@", no_walks).replace("@VISIBLE@", visible)


def _postgresql(
    visible: QuerySet, since: datetime, now: datetime, zone: ZoneInfo
) -> tuple[list[Row], list[Row]]:
    try:
        condition = _visible_sql(visible)
    except EmptyResultSet:
        return [], []
    first, starts = day_starts(since, now, zone)
    with transaction.atomic(), connection.cursor() as cursor:
        # Thousands of small index probes make a high cost estimate: compiling the plan
        # would take longer than running it.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_overview_sql(condition), {"since": since, "starts": starts})
        rows = cursor.fetchall()
    per_day: list[Row] = []
    runs: dict[int | None, dict[str, int]] = {}
    last_run: dict[int | None, datetime] = {}
    latest: dict[int | None, tuple[str | None, str]] = {}
    percentiles: dict[int | None, tuple[float, ...]] = {}
    for kind, script_id, status, day, n, at, name, *walked in rows:
        if kind == "day":
            day_name = (first + timedelta(days=day)).isoformat()
            per_day.append({"day": day_name, "status": status, "runs": n})
        elif kind == "count":
            runs.setdefault(script_id, {})[status] = n
        elif kind == "last":
            last_run[script_id] = at
        elif kind == "latest":
            # The runs of deleted scripts have no last status (none is "their script's").
            latest[script_id] = (status if script_id is not None else None, name)
        else:
            percentiles[script_id] = tuple(
                _walked(fraction, n, values)
                for fraction, values in zip(FRACTIONS, walked, strict=True)
            )
    per_day.sort(key=lambda row: (row["day"], row["status"]))
    scripts = []
    for script_id, by_status in runs.items():
        last_status, name = latest[script_id]
        p50, p95 = percentiles.get(script_id, (None, None))
        scripts.append(
            {
                "script_id": script_id,
                "runs": sum(by_status.values()),
                "successes": by_status.get(Status.SUCCESS, 0),
                "failures": by_status.get(Status.FAILURE, 0),
                "last_run_at": last_run[script_id],
                "script_name": name,
                "last_status": last_status,
                "p50": p50,
                "p95": p95,
            }
        )
    return per_day, scripts


def _portable(visible: QuerySet, since: datetime, zone: ZoneInfo) -> tuple[list[Row], list[Row]]:
    """Any database: the window's rows grouped, the percentiles from their durations."""
    window = visible.filter(created_at__gte=since).order_by()
    per_day = [
        {"day": row["day"].isoformat(), "status": row["status"], "runs": row["runs"]}
        for row in window.annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "status")
        .annotate(runs=Count("id"))
        .order_by("day", "status")
    ]
    latest = visible.filter(script_id=OuterRef("script_id")).order_by("-created_at", "-id")
    rows = (
        window.values("script_id")
        .annotate(
            runs=Count("id"),
            successes=Count("id", filter=Q(status=Status.SUCCESS)),
            failures=Count("id", filter=Q(status=Status.FAILURE)),
            last_run_at=Max("created_at"),
            last_status=Subquery(latest.values("status")[:1]),
            script_name=Subquery(latest.values("script_name")[:1]),
        )
        .order_by()
    )
    durations: dict[int | None, list[float]] = {}
    finished = window.filter(status__in=FINISHED, execution_time__isnull=False)
    for script_id, seconds in finished.values_list("script_id", "execution_time"):
        durations.setdefault(script_id, []).append(seconds)
    scripts = []
    for row in rows:
        if row["script_id"] is None:  # deleted scripts: the name of their latest run
            deleted = window.filter(script_id__isnull=True).order_by("-created_at", "-id")
            row["script_name"] = deleted.values_list("script_name", flat=True).first()
        values = sorted(durations.get(row["script_id"], []))
        p50, p95 = (
            (percentile_cont(f, len(values), values.__getitem__) for f in FRACTIONS)
            if values
            else (None, None)
        )
        scripts.append({**row, "p50": p50, "p95": p95})
    return per_day, scripts


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
        now = timezone.now()
        since = now - timedelta(days=days)
        if connection.vendor == "postgresql":
            per_day, found = _postgresql(visible, since, now, zone)
        else:
            per_day, found = _portable(visible, since, zone)
        scripts = []
        for row in sorted(found, key=lambda row: -row["runs"]):
            ended = row["successes"] + row["failures"]
            scripts.append(
                {
                    "script_id": row["script_id"],
                    "runs": row["runs"],
                    "successes": row["successes"],
                    "failures": row["failures"],
                    "last_run_at": row["last_run_at"],
                    "script_name": row["script_name"],
                    "last_status": row["last_status"],
                    "success_rate": round(row["successes"] / ended, 4) if ended else None,
                    "p50_seconds": row["p50"],
                    "p95_seconds": row["p95"],
                }
            )
        now_counts = {
            status.lower(): count
            for status, count in visible.filter(status__in=[Status.PENDING, Status.STARTED])
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
        }
        return Response(
            {
                "days": days,
                "per_day": per_day,
                "scripts": scripts,
                "now": {
                    "pending": now_counts.get("pending", 0),
                    "started": now_counts.get("started", 0),
                },
            }
        )
