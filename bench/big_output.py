"""S6: a script writing 1 GB to stdout: the worker's memory, what is stored, how long."""

from __future__ import annotations

import time
from typing import Any

import httpx
import probes
import psutil
import stack
from driver import Bench
from stack import EVENTS, EXECUTIONS
from workload import SIZES, SLOTS


def s6(bench: Bench, server: Any, http: httpx.Client) -> None:
    s, r = SIZES, bench.results
    worker = probes.process_roles(server)["worker"]

    def worker_processes() -> list[psutil.Process]:
        found = []
        try:
            procs = [worker, *worker.children(recursive=True)]
        except psutil.Error:
            return []
        for proc in procs:
            try:
                cmdline = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if "launcher.py" not in cmdline and "bench_bigout" not in cmdline:
                found.append(proc)
        return found

    times, peaks, totals, stored, ids = [], [], [], [], []
    with probes.Sampler(worker_processes, 0.1) as idle:
        time.sleep(1.0)
    r.details["s6_idle_worker_rss_mb"] = {
        "largest_process": round(idle.peak_single / 1024**2, 1),
        "tree": round(idle.peak_total / 1024**2, 1),
    }
    for _ in range(s["s6_repeats"]):
        with probes.Sampler(worker_processes, 0.1) as sampler:
            began = time.perf_counter()
            pk = stack.submit(http, "bench_bigout", {"bytes": s["s6_bytes"]})
            body = stack.wait_visible(server.api, pk, 0.1)
            times.append(time.perf_counter() - began)
        if body["status"] != "SUCCESS":
            raise RuntimeError(f"the 1 GB run ended {body['status']}: {body['error_message']}")
        peaks.append(sampler.peak_single / 1024**2)
        totals.append(sampler.peak_total / 1024**2)
        ids.append(pk)
        with bench.pg.connect() as conn:
            row = conn.execute(
                f"SELECT octet_length(stdout) + octet_length(stderr), stdout_bytes "
                f"FROM {EXECUTIONS} WHERE id = %s",
                (pk,),
            ).fetchone()
            events = conn.execute(
                f"SELECT count(*), coalesce(sum(octet_length(text)), 0) FROM {EVENTS} "
                "WHERE execution_id = %s",
                (pk,),
            ).fetchone()
        stored.append((row[0] + events[1]) / 1024**2)
        r.details.setdefault("s6_runs", []).append(
            {
                "execution": pk,
                "stdout_bytes_counted": row[1],
                "row_text_bytes": row[0],
                "event_rows": events[0],
                "event_text_bytes": events[1],
            }
        )
    size = f"{s['s6_bytes'] / 1024**2:.0f} MB"
    r.add(
        "s6.time.cold",
        "S6",
        f"{size} of output, submit → visible, scriptdeck",
        "s",
        times,
        baseline="s6.time.bare",
        target=("ratio", "<=", 1.5),
    )
    r.add(
        "s6.rss.cold",
        "S6",
        "worker peak RSS (largest worker process, sampled every 0.1 s)",
        "MB",
        peaks,
        target=("value", "<", 150),
    )
    r.add(
        "s6.rss_total.cold",
        "S6",
        f"worker tree RSS, all {SLOTS} slots",
        "MB",
        totals,
        note=f"idle: {r.details['s6_idle_worker_rss_mb']['largest_process']} MB per process",
    )
    r.add("s6.stored.cold", "S6", "stored bytes (row + event rows)", "MB", stored)
