"""The baselines every scriptdeck figure is set against, measured in the same run.

(a) bare ``python script.py``; (b) the source's design (``source_app.py``): a Celery task
running the script with ``subprocess.run``, its result in the Redis result backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from driver import Bench
from stack import TrackedProcess, log
from workload import BENCH, PYTHON, SIZES, SLOTS

# --- (a) bare `python script.py` ---------------------------------------------------------------


def bare(bench: Bench, name: str, parameters: dict[str, Any], devnull: bool = False) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SCRIPT_PARAMETERS": json.dumps(parameters),
    }
    began = time.perf_counter()
    done = subprocess.run(
        [PYTHON, bench.script(name)],
        env=env,
        cwd=bench.scripts_dir,
        stdout=subprocess.DEVNULL if devnull else subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if not devnull:
        json.loads(done.stdout)  # the same work as the others: the JSON parse too
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr[-300:]!r}")
    return elapsed


def bare_sequence(bench: Bench, name: str, parameters: dict[str, Any], count: int) -> list[float]:
    return [bare(bench, name, parameters) for _ in range(count)]


def bare_throughput(bench: Bench, name: str, parameters: dict[str, Any], count: int) -> float:
    began = time.perf_counter()
    with ThreadPoolExecutor(SLOTS) as pool:
        list(pool.map(lambda _: bare(bench, name, parameters), range(count)))
    return count / (time.perf_counter() - began)


def run_bare(bench: Bench) -> None:
    r, s = bench.results, SIZES
    bare_sequence(bench, "bench_fibo", {"n": 10}, 2)  # warm the page cache
    totals, per_task = [], []
    for _ in range(s["repeats"]):
        times = bare_sequence(bench, "bench_fibo", {"n": 10}, s["s1_tasks"])
        totals.append(sum(times))
        per_task += times
    r.add("s1.total.bare", "S1", "40 × fibo(10) total, bare python (a)", "s", totals)
    r.add("s1.task.bare", "S1", "per task, bare python (a)", "s", per_task)
    times = bare_sequence(bench, "bench_fibo", {"n": s["s2_n"]}, s["s2_tasks"])
    r.add("s2.task.bare", "S2", f"fibo({s['s2_n']}) per task, bare python (a)", "s", times)
    runs = [
        bare_throughput(bench, "bench_sleep", {"seconds": 0.1}, s["s3_tasks"]) / 200
        for _ in range(1)
    ]
    r.add(
        "s3.fraction.bare",
        "S3",
        f"{s['s3_tasks']} × sleep(0.1), {SLOTS} slots, bare python (a): share of 200/s",
        "",
        runs,
    )
    runs = [bare_throughput(bench, "bench_noop", {}, s["s4_tasks"]) for _ in range(s["repeats"])]
    r.add("s4.rate.bare", "S4", "trivial tasks/s, bare python (a), 20 at once", "/s", runs)
    runs = [
        bare(bench, "bench_bigout", {"bytes": s["s6_bytes"]}, devnull=True)
        for _ in range(s["s6_repeats"] + 1)
    ]
    r.add("s6.time.bare", "S6", "python script.py > /dev/null (a)", "s", runs)
    runs = [bare_pipe(bench, s["s6_bytes"]) for _ in range(s["s6_repeats"] + 1)]
    r.add(
        "s6.time.pipe",
        "S6",
        "python script.py | cat > /dev/null (output through a pipe; informational)",
        "s",
        runs,
    )


def bare_pipe(bench: Bench, size: int) -> float:
    env = {"PATH": os.environ.get("PATH", ""), "SCRIPT_PARAMETERS": json.dumps({"bytes": size})}
    command = f"'{PYTHON}' '{bench.script('bench_bigout')}' | cat > /dev/null"
    began = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, check=True)
    return time.perf_counter() - began


# --- (b) the source's design: Celery + subprocess.run + polling AsyncResult -------------------


def run_source(bench: Bench) -> None:
    os.environ["BENCH_SOURCE_BROKER"] = bench.redis.url(1)
    sys.path.insert(0, str(BENCH))
    import source_app

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "SCRIPTDECK"))},
        "PYTHONPATH": str(BENCH),
        "BENCH_SOURCE_BROKER": bench.redis.url(1),
    }
    argv = [PYTHON, "-m", "celery", "-A", "source_app", "worker", "--pool=prefork"]
    argv += [f"--concurrency={SLOTS}", "--loglevel=WARNING", "-Q", "bench_source"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    folder = bench.base / "source"
    folder.mkdir()
    (folder / "source_app.py").symlink_to(BENCH / "source_app.py")
    worker = TrackedProcess("source-worker", argv, env, folder / "worker.log")
    try:
        _source_scenarios(bench, source_app)
    finally:
        try:
            worker.stop()
        except BaseException as exc:  # noqa: BLE001
            log(f"stopping the baseline worker: {exc}")


def _source_scenarios(bench: Bench, app: Any) -> None:
    r, s = bench.results, SIZES
    fibo, noop, sleep = (bench.script(n) for n in ("bench_fibo", "bench_noop", "bench_sleep"))

    def one(path: str, parameters: dict[str, Any], interval: float) -> float:
        began = time.perf_counter()
        outcome = app.wait(app.execute_script.delay(path, parameters), interval)
        assert outcome["success"], outcome
        return time.perf_counter() - began

    for _ in range(3):  # the worker is up once the first task comes back
        one(fibo, {"n": 10}, 0.05)
    for interval, label, count in ((0.05, "50 ms", s["s1_tasks"]), (2.0, "2 s", None)):
        totals, per_task = [], []
        repeats = s["repeats"] if count else 1
        for _ in range(repeats):
            times = [one(fibo, {"n": 10}, interval) for _ in range(count or 0)]
            if not count:
                times = [one(fibo, {"n": 10}, interval) for _ in range(s["s1_tasks_poll_2s"])]
            totals.append(sum(times) * s["s1_tasks"] / len(times))
            per_task += times
        key = "b50" if interval < 1 else "b2s"
        note = "" if count else f"{s['s1_tasks_poll_2s']} tasks, scaled to 40"
        r.add(
            f"s1.total.{key}",
            "S1",
            f"total, Celery essence (b) polled every {label}",
            "s",
            totals,
            baseline="s1.total.bare",
            note=note,
        )
        r.add(
            f"s1.task.{key}",
            "S1",
            f"per task, Celery essence (b) polled every {label}",
            "s",
            per_task,
            baseline="s1.task.bare",
        )
    for interval, key, count in ((0.05, "b50", s["s2_tasks"]), (2.0, "b2s", None)):
        times = [
            one(fibo, {"n": s["s2_n"]}, interval) for _ in range(count or s["s2_tasks_poll_2s"])
        ]
        label = "50 ms" if interval < 1 else "2 s"
        r.add(
            f"s2.task.{key}",
            "S2",
            f"per task, Celery essence (b) polled every {label}",
            "s",
            times,
            baseline="s2.task.bare",
        )
    rate = source_throughput(bench, app, sleep, {"seconds": 0.1}, s["s3_tasks"])
    r.add(
        "s3.fraction.b50",
        "S3",
        "share of 200/s, Celery essence (b)",
        "",
        [rate / 200],
        baseline="s3.fraction.bare",
    )
    runs = [source_throughput(bench, app, noop, {}, s["s4_tasks"]) for _ in range(s["repeats"])]
    r.add(
        "s4.rate.b50",
        "S4",
        "trivial tasks/s, Celery essence (b)",
        "/s",
        runs,
        baseline="s4.rate.bare",
    )


def source_throughput(
    bench: Bench, app: Any, path: str, parameters: dict[str, Any], count: int
) -> float:
    import redis

    client = redis.Redis.from_url(bench.redis.url(1))
    began = time.time()
    pending = {app.execute_script.delay(path, parameters).id for _ in range(count)}
    finished: list[float] = []
    deadline = time.monotonic() + 900
    while pending:
        ids = list(pending)
        for task_id, raw in zip(
            ids, client.mget([f"celery-task-meta-{i}" for i in ids]), strict=True
        ):
            if raw is None:
                continue
            meta = json.loads(raw)
            if meta["status"] not in ("SUCCESS", "FAILURE"):
                continue
            done = datetime.fromisoformat(meta["date_done"])
            if done.tzinfo is None:
                done = done.replace(tzinfo=UTC)
            finished.append(done.timestamp())
            pending.discard(task_id)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} baseline tasks never finished")
        time.sleep(0.05)
    client.close()
    return count / (max(finished) - began)
