"""The overview's one PostgreSQL statement: index range counts and index walks.

See ``overview.py`` for what it computes and why it is shaped so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import QuerySet

from scriptdeck.executions.models import Status

from .percentiles import day_starts, walked

FRACTIONS = (0.5, 0.95)  # p50, p95
FINISHED = (Status.SUCCESS, Status.FAILURE)

Row = dict[str, Any]


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


def postgresql(
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
    for kind, script_id, status, day, n, at, name, *walks in rows:
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
                walked(fraction, n, values)
                for fraction, values in zip(FRACTIONS, walks, strict=True)
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
