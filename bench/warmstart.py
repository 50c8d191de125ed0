"""Cold vs warm starts of a trivial script, measured in one process run.

    .venv/bin/python bench/warmstart.py [RUNS]

Three ways of running the same trivial script RUNS times (40 by default), one after another:
``python script.py`` bare (the interpreter's own floor), ``runner.run`` cold (launcher + new
interpreter), and ``runner.run`` warm (forked from the worker's fork server). Then throughput
with 4 threads each running scripts back to back, cold and warm. The first warm run, which
starts the server, is measured apart. Every figure printed is measured here, in this run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from scriptdeck.compat import sdk_pythonpath  # noqa: E402
from scriptdeck.runner import RunSpec, build_environment, command_for, forkclient, run  # noqa: E402

SCRIPT = """\
from scriptdeck.sdk import ScriptBase
script = ScriptBase()
script.output_result(script.success_result("ok", {"n": script.get_parameter("n")}))
"""


def spec(script: Path, warm: bool) -> RunSpec:
    env = build_environment(
        parameters={"n": 1},
        page_context="",
        script_name="trivial",
        execution_id="1",
        result_file="",
        pythonpath=sdk_pythonpath(),
    )
    return RunSpec(
        argv=command_for(script), cwd=str(script.parent), env=env, script_name="trivial",
        warm_start=warm,
    )  # fmt: skip


def run_once(script: Path, warm: bool) -> None:
    outcome = run(spec(script, warm))
    expected = "warm" if warm else "cold"
    if not outcome.succeeded or outcome.details.get("start") != expected:
        raise SystemExit(f"run failed: {outcome.details} {outcome.error_message}")


def bare_once(script: Path) -> None:
    env = spec(script, False).env
    subprocess.run(
        [sys.executable, str(script)], cwd=script.parent, env=env, check=True,
        stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def timed(runs: int, once: Callable[[], None]) -> tuple[list[float], float]:
    times = []
    began = time.perf_counter()
    for _ in range(runs):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return times, time.perf_counter() - began


def throughput(script: Path, warm: bool, threads: int, each: int) -> float:
    """Runs per second with ``threads`` runs going at once."""

    def work() -> None:
        for _ in range(each):
            run_once(script, warm)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * each / (time.perf_counter() - began)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    with tempfile.TemporaryDirectory(prefix="warmstart-") as folder:
        script = Path(folder) / "trivial.py"
        script.write_text(SCRIPT)
        bare_once(script)  # page caches and .pyc files, for everyone
        run_once(script, False)
        start = time.perf_counter()
        run_once(script, True)
        first_warm = time.perf_counter() - start

        results = {
            "python script.py (bare)": timed(runs, lambda: bare_once(script)),
            "runner.run cold": timed(runs, lambda: run_once(script, False)),
            "runner.run warm": timed(runs, lambda: run_once(script, True)),
        }
        print(f"{runs} sequential runs of a trivial SDK script")
        print(f"{'':26}{'median ms':>10}{'p90 ms':>9}{'total s':>9}")
        for name, (times, total) in results.items():
            p90 = statistics.quantiles(times, n=10)[-1]
            median = statistics.median(times)
            print(f"{name:26}{median * 1000:10.1f}{p90 * 1000:9.1f}{total:9.3f}")
        cold = statistics.median(results["runner.run cold"][0])
        warm = statistics.median(results["runner.run warm"][0])
        print(f"first warm run (starts the server): {first_warm * 1000:.1f} ms")
        print(f"median cold / warm: {cold / warm:.1f} x")

        cold_rate = throughput(script, False, threads=4, each=runs // 4)
        warm_rate = throughput(script, True, threads=4, each=runs // 4)
        print(f"throughput, 4 at once: cold {cold_rate:.1f}/s, warm {warm_rate:.1f}/s, "
              f"warm / cold {warm_rate / cold_rate:.1f} x")  # fmt: skip
    forkclient.shutdown()


if __name__ == "__main__":
    main()
