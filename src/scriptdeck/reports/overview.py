"""The overview's aggregates (runs per day, per-script rates and percentiles), computed in
the database.

Only the executions in the queryset it is given are counted: the door passes what the
user may see (``access.executions_for``).

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
from their durations, with the same formula: those index walks need PostgreSQL's
LATERAL and array aggregates, and a modest history needs none of them. The PostgreSQL
statement is in ``overview_sql.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from scriptdeck.executions.models import Status

from .overview_sql import FINISHED, FRACTIONS, Row, postgresql
from .percentiles import percentile_cont


def overview(visible: QuerySet, days: int, zone: ZoneInfo) -> dict[str, Any]:
    """The overview of ``visible`` (executions) over the last ``days`` days of ``zone``."""
    now = timezone.now()
    since = now - timedelta(days=days)
    if connection.vendor == "postgresql":
        per_day, found = postgresql(visible, since, now, zone)
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
    return {
        "days": days,
        "per_day": per_day,
        "scripts": scripts,
        "now": {
            "pending": now_counts.get("pending", 0),
            "started": now_counts.get("started", 0),
        },
    }


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
