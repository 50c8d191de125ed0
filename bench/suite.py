"""`make bench`: every scenario, each figure against a baseline measured in the same run.

Sets up what it needs (a database ``scriptdeck_bench`` in the machine's PostgreSQL, a
private redis-server), runs the baselines and scriptdeck (cold, and warm once the
warm-start executor reads ``SCRIPTDECK_WARM_START``), and writes
``bench/results/latest.json`` and ``bench/results/latest.md``. ``BENCH_QUICK=1`` runs
reduced sizes. See bench/README.md for what each figure means and which module holds it.
"""

from __future__ import annotations

import sys
import threading
import time

import baselines
import big_output
import history
import latency
import report
import stack
import streaming
import throughput
from driver import Bench
from workload import SIZES


def run_scriptdeck(bench: Bench, mode: str) -> None:
    """S1-S4 on one server (cold or warm); S6 and S7 on the cold one only."""
    warm = mode == "warm"
    with stack.serve(bench.base, bench.scripts_dir, mode, bench.server_env(warm)) as server:
        bench.prepare_scripts(server)
        with stack.client(server) as http:
            bench.sequential(server, http, {"n": 10}, 3)  # first runs: imports, connections
            bench.scenario(f"S1 {mode}", lambda: latency.s1(bench, server, http, mode))
            bench.scenario(f"S2 {mode}", lambda: latency.s2(bench, server, http, mode))
            bench.scenario(f"S3 {mode}", lambda: throughput.s3(bench, http, mode))
            bench.scenario(f"S4 {mode}", lambda: throughput.s4(bench, server, http, mode))
            if not warm:
                bench.scenario("S6 cold", lambda: big_output.s6(bench, server, http))
                bench.scenario("S7 cold", lambda: streaming.s7(bench, server, http))


def run_sampling(bench: Bench) -> None:
    """The runner's sampling cost (bench/sampling.py, also runnable alone)."""
    import sampling

    got = sampling.measure_cost(SIZES["sampling_seconds"], SIZES["repeats"])
    bench.results.add(
        "sampling.off",
        "sampling",
        "runner CPU, sampling off",
        "%",
        got["without"],
    )
    bench.results.add(
        "sampling.on",
        "sampling",
        "runner CPU while sampling a busy tree every 0.5 s (% of a core)",
        "%",
        got["with"],
        baseline="sampling.off",
        note=f"cost {got['cost']:.2f} % of a core (target < 2 %)",
    )


def run(bench: Bench) -> int:
    """Every part in order (the table lists figures in the order they were added)."""
    began = time.monotonic()
    bench.redis.start()
    bench.pg.create()
    try:
        bench.scenario("sampling", lambda: run_sampling(bench))
        bench.scenario("baselines (a) bare python", lambda: baselines.run_bare(bench))
        bench.scenario("baselines (b) Celery essence", lambda: baselines.run_source(bench))
        bench.scenario("scriptdeck cold", lambda: run_scriptdeck(bench, "cold"))
        if bench.warm:
            bench.scenario("scriptdeck warm", lambda: run_scriptdeck(bench, "warm"))
        else:
            report.warm_not_available(bench)
        bench.scenario("S5 history", lambda: history.run_history(bench))
    finally:
        versions = stack.versions(bench.pg, bench.redis)
        bench.pg.drop()
        bench.redis.stop()
    report.write(bench, time.monotonic() - began, versions)
    return 0


def main() -> int:
    threading.current_thread().name = "bench"
    return run(Bench())


if __name__ == "__main__":
    sys.exit(main())
