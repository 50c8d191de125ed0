"""S1 (40 short runs one after another: the platform's latency) and S2 (a CPU-bound run:
its overhead against bare ``python script.py`` run right before it)."""

from __future__ import annotations

from typing import Any

import httpx
from baselines import bare
from driver import Bench
from workload import POLL, SIZES


def s1(bench: Bench, server: Any, http: httpx.Client, mode: str) -> None:
    r, s = bench.results, SIZES
    limit = 1.2 if mode == "cold" else 0.4
    tag = "(c)" if mode == "cold" else "(d)"
    for wait in (False, True):
        totals, per_task, ids, visible = [], [], [], {}
        for _ in range(s["repeats"]):
            times, run_ids, seen = bench.sequential(
                server, http, {"n": 10}, s["s1_tasks"], wait=wait
            )
            totals.append(sum(times))
            per_task += times
            ids += run_ids
            visible.update(seen)
        suffix = ".wait" if wait else ""
        key = f"{mode}{suffix}"
        how = "client waits on /wait/" if wait else f"client polls every {POLL * 1000:.0f} ms"
        r.add(
            f"s1.total.{key}",
            "S1",
            f"40 × fibo(10) total, scriptdeck {mode} {tag}, {how}",
            "s",
            totals,
            baseline="s1.total.bare" if mode == "cold" else f"s1.total.cold{suffix}",
            target=("value", "<=", limit),
        )
        r.add(
            f"s1.task.{key}",
            "S1",
            f"per task, scriptdeck {mode} {tag}, {how}",
            "s",
            per_task,
            baseline="s1.task.b50",
        )
        bench.results.details[f"s1_breakdown_ms_{key}"] = bench.breakdown(ids, visible)


def s2(bench: Bench, server: Any, http: httpx.Client, mode: str) -> None:
    s = SIZES
    parameters = {"n": s["s2_n"]}
    times, bares, ids, visible = [], [], [], {}
    for _ in range(s["s2_tasks"]):
        # Its baseline right before each run: a target of 3 % is finer than what the
        # machine drifts between phases minutes apart (another tenant, the clock).
        bares.append(bare(bench, "bench_fibo", parameters))
        took, run_ids, seen = bench.sequential(server, http, parameters, 1, wait=True)
        times += took
        ids += run_ids
        visible.update(seen)
    bench.results.add(
        f"s2.task.bare.{mode}",
        "S2",
        f"fibo({s['s2_n']}) per task, bare python (a), each right before a {mode} run",
        "s",
        bares,
    )
    bench.results.add(
        f"s2.task.{mode}",
        "S2",
        f"fibo({s['s2_n']}) per task, scriptdeck {mode} (client waits on /wait/)",
        "s",
        times,
        baseline=f"s2.task.bare.{mode}",
        target=("ratio", "<=", 1.03),
    )
    bench.results.details[f"s2_breakdown_ms_{mode}"] = bench.breakdown(ids, visible)
