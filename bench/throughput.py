"""S3 (2,000 sleeps on 20 slots: how close to the ideal rate) and S4 (trivial runs as fast
as they go, and where the CPU of one run went)."""

from __future__ import annotations

import os
import statistics
from typing import Any

import httpx
import probes
from driver import Bench
from workload import SIZES


def s3(bench: Bench, http: httpx.Client, mode: str) -> None:
    got = bench.throughput(http, "bench_sleep", {"seconds": 0.1}, SIZES["s3_tasks"])
    bench.results.add(
        f"s3.fraction.{mode}",
        "S3",
        f"share of 200/s, scriptdeck {mode}",
        "",
        [got["rate"] / 200],
        baseline="s3.fraction.bare",
        target=("value", ">=", 0.95),
        note=f"steady {got['steady_rate']:.0f}/s, submitted at {got['submit_rate']:.0f}/s",
    )
    bench.results.details[f"s3_{mode}"] = got


def s4(bench: Bench, server: Any, http: httpx.Client, mode: str) -> None:
    runs, detail = [], []
    broker = bench.redis.process.pid if bench.redis.process is not None else None
    count = SIZES["s4_tasks"]
    for _ in range(SIZES["repeats"]):
        postgres = bench.pg.pids()
        before = probes.cpu_seconds(server, broker, postgres)
        got = bench.throughput(http, "bench_noop", {}, count)
        postgres |= bench.pg.pids()
        after = probes.cpu_seconds(server, broker, postgres)
        cpu = {key: (after[key] - before[key]) * 1000 / count for key in after}
        # The scripts' own CPU (their wait4 figures, from the rows) out of what the pool
        # processes reaped: the rest is the launchers'.
        cpu["scripts"] = got["scripts_cpu_s"] * 1000 / count
        cpu["launchers"] = cpu.pop("launchers + scripts") - cpu["scripts"]
        got["cpu_ms_per_run"] = {key: round(value, 2) for key, value in cpu.items()}
        runs.append(got["rate"])
        detail.append(got)
    # Where the CPU of one run went (medians of the repeats): with every core busy, the
    # rate cannot exceed cores / (CPU per run).
    parts = {
        key: statistics.median(d["cpu_ms_per_run"][key] for d in detail)
        for key in detail[0]["cpu_ms_per_run"]
    }
    total = sum(parts.values())
    cores = os.cpu_count() or 1
    bench.results.details[f"s4_cpu_ms_per_run_{mode}"] = {
        **{key: round(value, 2) for key, value in parts.items()},
        "total": round(total, 2),
    }
    shown = ", ".join(f"{key} {value:.1f}" for key, value in parts.items())
    bench.results.notes.append(
        f"S4 {mode}, CPU per run (ms, medians): {shown}; total {total:.1f} ms, so at most "
        f"{cores * 1000 / total:.0f} runs/s on {cores} cores"
    )
    warm = mode == "warm"
    bench.results.add(
        f"s4.rate.{mode}",
        "S4",
        f"trivial tasks/s, scriptdeck {mode}",
        "/s",
        runs,
        baseline="s4.rate.cold" if warm else "s4.rate.bare",
        target=("ratio", ">=", 3.0) if warm else None,
    )
    bench.results.details[f"s4_{mode}"] = detail
