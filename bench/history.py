"""S5: a million finished executions in PostgreSQL: the History list and the overview."""

from __future__ import annotations

import math
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import stack
from driver import Bench
from stack import EXECUTIONS, log
from workload import SIZES


def run_history(bench: Bench) -> None:
    env = bench.server_env(False)
    args = ("--no-worker", "--no-sweeper", "--no-scheduler")
    with stack.serve(bench.base, bench.scripts_dir, "web-only", env, *args, worker=False) as srv:
        bench.scenario("S5", lambda: s5(bench, srv))


def s5(bench: Bench, server: Any) -> None:
    s, r = SIZES, bench.results
    after = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    endpoints = {
        "history": (
            "History list, status=FAILURE & script & created_after (7 days)",
            {"status": "FAILURE", "script": "ops_07", "created_after": after},
            "/api/executions/",
        ),
        "history_all": ("History list, first page, no filter", {}, "/api/executions/"),
        "overview": ("Overview aggregates, days=30", {"days": "30"}, "/api/stats/overview/"),
    }
    with stack.client(server) as http:
        small = {k: _p95(http, path, q, s["s5_requests"]) for k, (_, q, path) in endpoints.items()}
        with bench.pg.connect() as conn:
            before = conn.execute(f"SELECT count(*) FROM {EXECUTIONS}").fetchone()[0]
        seconds = fill_history(bench, s["s5_rows"])
        r.details["s5_fill_seconds"] = round(seconds, 1)
        big = {k: _p95(http, path, q, s["s5_requests"]) for k, (_, q, path) in endpoints.items()}
    rows = f"{s['s5_rows']:,}"
    for key, (label, _, _path) in endpoints.items():
        r.add(
            f"s5.{key}.small",
            "S5",
            f"{label}: p95 with {before:,} rows",
            "ms",
            [small[key]["p95"]],
        )
        r.add(
            f"s5.{key}.big",
            "S5",
            f"{label}: p95 with {rows} more rows",
            "ms",
            [big[key]["p95"]],
            baseline=f"s5.{key}.small",
            target=("value", "<", 100.0) if key != "history_all" else None,
            note=f"median {big[key]['median']:.0f} ms over {big[key]['n']} requests",
        )
    r.details["s5"] = {"small": small, "big": big}


def fill_history(bench: Bench, count: int) -> float:
    """``count`` finished executions over 90 days, written by PostgreSQL itself."""
    with bench.pg.connect() as conn:
        scripts = conn.execute("SELECT id, name, path FROM catalog_script ORDER BY id").fetchall()
        user = conn.execute("SELECT id FROM auth_user ORDER BY id LIMIT 1").fetchone()[0]
        columns = conn.execute(
            "SELECT column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (EXECUTIONS,),
        ).fetchall()
        k = len(scripts)
        ids = ", ".join(str(row[0]) for row in scripts)
        names = ", ".join(_literal(row[1]) for row in scripts)
        paths = ", ".join(_literal(row[2]) for row in scripts)
        pick = f"1 + (g % {k})"
        known = {
            "task_id": "gen_random_uuid()",
            "script_id": f"(ARRAY[{ids}])[{pick}]",
            "script_name": f"(ARRAY[{names}])[{pick}]",
            "script_path": f"(ARRAY[{paths}])[{pick}]",
            "queue": "'default'",
            "user_id": str(user),
            "page_context": "'ctx-' || (g % 50)",
            "parameters": "'{}'::jsonb",
            "status": "CASE WHEN r < 0.07 THEN 'FAILURE' WHEN r < 0.09 THEN 'CANCELLED' "
            "ELSE 'SUCCESS' END",
            "failure_reason": "CASE WHEN r < 0.07 THEN 'exit_code' WHEN r < 0.09 "
            "THEN 'cancelled' ELSE '' END",
            "trigger": "'manual'",
            "attempt": "1",
            "created_at": "c",
            "dispatched_at": "c + interval '10 milliseconds'",
            "started_at": "c + interval '50 milliseconds'",
            "completed_at": "c + interval '50 milliseconds' + d * interval '1 second'",
            "heartbeat_at": "c + interval '50 milliseconds' + d * interval '1 second'",
            "worker_host": "'bench'",
            "execution_time": "d",
            "memory_usage": "20 + r * 10",
            "exit_code": "CASE WHEN r < 0.07 THEN 1 ELSE 0 END",
            "timeline": "'[]'::jsonb",
        }
        generic = {
            "text": "''",
            "character varying": "''",
            "integer": "0",
            "bigint": "0",
            "smallint": "0",
            "double precision": "0",
            "boolean": "false",
            "jsonb": "'{}'::jsonb",
            "uuid": "gen_random_uuid()",
            "timestamp with time zone": "c",
        }
        chosen, exprs = [], []
        for name, kind, nullable, default in columns:
            if name == "id":
                continue
            if name in known:
                chosen.append(name)
                exprs.append(known[name])
            elif nullable == "NO" and default is None:
                chosen.append(name)
                exprs.append(generic.get(kind, "DEFAULT"))
        chunk = 200_000
        began = time.monotonic()
        done = 0
        while done < count:
            size = min(chunk, count - done)
            conn.execute(
                f"INSERT INTO {EXECUTIONS} ({', '.join(chosen)}) "
                f"SELECT {', '.join(exprs)} FROM ("
                "SELECT g, random() AS r, now() - random() * interval '90 days' AS c, "
                "-ln(1 - random()) * 5 AS d "
                f"FROM generate_series({done + 1}, {done + size}) AS g) AS s"
            )
            done += size
            log(f"S5: {done:,} of {count:,} rows")
        conn.execute(f"VACUUM ANALYZE {EXECUTIONS}")
        return time.monotonic() - began


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _p95(http: httpx.Client, path: str, query: dict[str, str], count: int) -> dict[str, Any]:
    for _ in range(3):
        http.get(path, params=query).raise_for_status()
    times = []
    deadline = time.monotonic() + 240
    for _ in range(count):
        began = time.perf_counter()
        response = http.get(path, params=query)
        times.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        if time.monotonic() > deadline:
            break
    times.sort()
    return {
        "p95": times[max(0, math.ceil(len(times) * 0.95) - 1)],
        "median": statistics.median(times),
        "n": len(times),
    }
