"""What watching a script costs the worker: its own CPU while it samples a busy process tree.

Runs the same busy script (a CPU loop with a few child processes) through the runner
with sampling every 0.5 s, and with sampling effectively off, and reports the runner's
own CPU time (RUSAGE_SELF: the worker's side only, not the script's) per second of run.
The target is under 2 % of a core.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from scriptdeck.compat import sdk_pythonpath
from scriptdeck.runner import RunSpec, Sink, build_environment, command_for, run

BUSY = textwrap.dedent(
    """
    import subprocess, sys, time
    kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
            for _ in range(4)]
    end = time.time() + float(sys.argv[1] if len(sys.argv) > 1 else 5)
    while time.time() < end:
        pass
    for kid in kids:
        kid.kill()
    print("{}")
    """
)


class CountSamples(Sink):
    def __init__(self) -> None:
        self.samples = 0

    def on_sample(self, sample: object) -> None:
        self.samples += 1


def measure(script: Path, seconds: float, interval: float) -> dict[str, float]:
    env = build_environment(
        parameters={},
        page_context="",
        script_name="busy",
        execution_id="0",
        result_file=str(script.parent / "result.json"),
        pythonpath=sdk_pythonpath(),
    )
    spec = RunSpec(
        argv=[*command_for(script), str(seconds)],
        cwd=str(script.parent),
        env=env,
        script_name="busy",
        sample_interval=interval,
    )
    sink = CountSamples()
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    outcome = run(spec, sink)
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert outcome.succeeded, outcome.error_message
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "percent_of_core": cpu / wall * 100, "samples": sink.samples}


def measure_cost(seconds: float, repeats: int) -> dict[str, list[float] | float]:
    """The runner's own CPU (% of a core) with sampling every 0.5 s and with it off."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "busy.py"
        script.write_text(BUSY)
        sampled = [measure(script, seconds, 0.5) for _ in range(repeats)]
        baseline = [measure(script, seconds, 3600.0) for _ in range(repeats)]
    with_sampling = [r["percent_of_core"] for r in sampled]
    without = [r["percent_of_core"] for r in baseline]
    return {
        "with": with_sampling,
        "without": without,
        "cost": statistics.median(with_sampling) - statistics.median(without),
        "samples_per_run": statistics.median(r["samples"] for r in sampled),
    }


def main() -> int:
    seconds = float(os.environ.get("BENCH_SAMPLING_SECONDS", "5"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    got = measure_cost(seconds, repeats)
    sampled_pct = statistics.median(got["with"])
    baseline_pct = statistics.median(got["without"])
    result = {
        "benchmark": "sampling_cost",
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "run_seconds": seconds,
        "repeats": repeats,
        "worker_cpu_percent_sampling_every_0_5s": round(sampled_pct, 3),
        "worker_cpu_percent_without_sampling": round(baseline_pct, 3),
        "sampling_cost_percent_of_core": round(sampled_pct - baseline_pct, 3),
        "samples_per_run": got["samples_per_run"],
        "target_percent_of_core": 2.0,
    }
    out = Path(__file__).parent / "results" / "sampling.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        "| figure | median |\n|---|---|\n"
        f"| worker CPU, sampling every 0.5 s | {sampled_pct:.2f} % of a core |\n"
        f"| worker CPU, no sampling (baseline, same run) | {baseline_pct:.2f} % of a core |\n"
        f"| cost of sampling | {sampled_pct - baseline_pct:.2f} % of a core (target < 2 %) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
