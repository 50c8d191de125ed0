"""`make bench`: every scenario, each figure against a baseline measured in the same run.

Sets up what it needs (a database ``scriptdeck_bench`` in the machine's PostgreSQL, a
private redis-server), runs the baselines and scriptdeck (cold, and warm once the
warm-start executor reads ``SCRIPTDECK_WARM_START``), and writes
``bench/results/latest.json`` and ``bench/results/latest.md``. ``BENCH_QUICK=1`` runs
reduced sizes. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import stack
from results_table import Results, markdown
from stack import EVENTS, EXECUTIONS, Postgres, PrivateRedis, TrackedProcess, log

BENCH = Path(__file__).resolve().parent
QUICK = os.environ.get("BENCH_QUICK", "").lower() not in ("", "0", "false", "no")
PYTHON = sys.executable
SLOTS = 20  # S3's concurrent slots; every worker (scriptdeck and baseline b) has this many
# How often the bench's client asks whether an execution has ended (S1, S2). Each ask is
# a request the web server answers on the same 2 cores: BENCH_POLL=0.1 shows its share.
POLL = float(os.environ.get("BENCH_POLL", "0.02"))

FULL = {
    "repeats": 3,
    "s1_tasks": 40,
    "s1_tasks_poll_2s": 40,
    "s2_tasks": 10,
    "s2_n": 33,
    "s2_tasks_poll_2s": 10,
    "s3_tasks": 2000,
    "s4_tasks": 400,
    "s5_rows": 1_000_000,
    "s5_requests": 50,
    "s6_bytes": 1024**3,
    "s6_repeats": 2,
    "s7_clients": 200,
    "s7_seconds": 20,
    "sampling_seconds": 5,
}
REDUCED = {
    **FULL,
    "repeats": 2,
    "s1_tasks_poll_2s": 5,
    "s2_tasks": 3,
    "s2_tasks_poll_2s": 2,
    "s3_tasks": 200,
    "s4_tasks": 150,
    "s5_rows": 100_000,
    "s6_bytes": 100 * 1024**2,
    "s6_repeats": 1,
    "s7_seconds": 8,
    "sampling_seconds": 2,
}
SIZES = REDUCED if QUICK else FULL

# --- the scripts: plain Python, the same file for every system -------------------------------

PARAMS = "import json, os\nP = json.loads(os.environ.get('SCRIPT_PARAMETERS') or '{}')\n"
SCRIPTS = {
    "bench_fibo.py": PARAMS
    + textwrap.dedent(
        """
        def fibo(n):
            return n if n < 2 else fibo(n - 1) + fibo(n - 2)
        n = int(P.get("n", 10))
        print(json.dumps({"n": n, "fibo": fibo(n)}))
        """
    ),
    "bench_sleep.py": PARAMS
    + "import time\ntime.sleep(float(P.get('seconds', 0.1)))\nprint(json.dumps({'slept': True}))\n",
    "bench_noop.py": PARAMS + "print('{}')\n",
    "bench_bigout.py": PARAMS
    + textwrap.dedent(
        """
        import sys
        left = int(P.get("bytes", 1024 ** 3))
        line = b"x" * 127 + b"\\n"
        block = line * 512  # 64 KiB of 128-byte lines
        out = sys.stdout.buffer
        while left > 0:
            piece = block if left >= len(block) else block[:left]
            out.write(piece)
            left -= len(piece)
        out.flush()
        """
    ),
    "bench_ticker.py": PARAMS
    + textwrap.dedent(
        """
        import time
        end = time.time() + float(P.get("seconds", 30))
        i = 0
        while time.time() < end:
            print(json.dumps({"i": i, "t": time.time()}), flush=True)
            i += 1
            time.sleep(0.1)
        print(json.dumps({"ticks": i}))
        """
    ),
}
# A team's catalogue is more than five scripts: S5's history spreads over these too.
for _index in range(25):
    SCRIPTS[f"ops_{_index:02d}.py"] = "print('{}')\n"

SCHEMAS = {
    "bench_fibo": {"n": {"type": "integer"}},
    "bench_sleep": {"seconds": {"type": "number"}},
    "bench_bigout": {"bytes": {"type": "integer"}},
    "bench_ticker": {"seconds": {"type": "number"}},
}


class Bench:
    def __init__(self) -> None:
        self.base = stack.scratch()
        self.scripts_dir = self.base / "scripts"
        self.scripts_dir.mkdir()
        for name, text in SCRIPTS.items():
            (self.scripts_dir / name).write_text(text, encoding="utf-8")
        self.results = Results()
        self.pg = Postgres()
        self.redis = PrivateRedis(self.base)
        self.warm, self.warm_why = stack.warm_start_landed()

    def script(self, name: str) -> str:
        return str(self.scripts_dir / f"{name}.py")

    def scenario(self, name: str, body: Callable[[], None]) -> None:
        """Run one part; if it breaks, the run goes on and the table says why."""
        began = time.monotonic()
        log(f"{name} ...")
        try:
            body()
        except BaseException as exc:  # noqa: BLE001  (the harness fails with pytest's Failed)
            if isinstance(exc, KeyboardInterrupt):
                raise
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
            log(f"{name} failed: {why}\n{traceback.format_exc(limit=6)}")
            self.results.missing(f"{name}.error", name.split()[0], f"{name} (error)", "", why)
        log(f"{name} done in {time.monotonic() - began:.1f} s")

    # --- (a) bare `python script.py` ---------------------------------------------------------

    def bare(self, name: str, parameters: dict[str, Any], devnull: bool = False) -> float:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SCRIPT_PARAMETERS": json.dumps(parameters),
        }
        began = time.perf_counter()
        done = subprocess.run(
            [PYTHON, self.script(name)],
            env=env,
            cwd=self.scripts_dir,
            stdout=subprocess.DEVNULL if devnull else subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if not devnull:
            json.loads(done.stdout)  # the same work as the others: the JSON parse too
        elapsed = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed: {done.stderr[-300:]!r}")
        return elapsed

    def bare_sequence(self, name: str, parameters: dict[str, Any], count: int) -> list[float]:
        return [self.bare(name, parameters) for _ in range(count)]

    def bare_throughput(self, name: str, parameters: dict[str, Any], count: int) -> float:
        began = time.perf_counter()
        with ThreadPoolExecutor(SLOTS) as pool:
            list(pool.map(lambda _: self.bare(name, parameters), range(count)))
        return count / (time.perf_counter() - began)

    def run_bare(self) -> None:
        r, s = self.results, SIZES
        self.bare_sequence("bench_fibo", {"n": 10}, 2)  # warm the page cache
        totals, per_task = [], []
        for _ in range(s["repeats"]):
            times = self.bare_sequence("bench_fibo", {"n": 10}, s["s1_tasks"])
            totals.append(sum(times))
            per_task += times
        r.add("s1.total.bare", "S1", "40 × fibo(10) total, bare python (a)", "s", totals)
        r.add("s1.task.bare", "S1", "per task, bare python (a)", "s", per_task)
        times = self.bare_sequence("bench_fibo", {"n": s["s2_n"]}, s["s2_tasks"])
        r.add("s2.task.bare", "S2", f"fibo({s['s2_n']}) per task, bare python (a)", "s", times)
        runs = [
            self.bare_throughput("bench_sleep", {"seconds": 0.1}, s["s3_tasks"]) / 200
            for _ in range(1)
        ]
        r.add(
            "s3.fraction.bare",
            "S3",
            f"{s['s3_tasks']} × sleep(0.1), {SLOTS} slots, bare python (a): share of 200/s",
            "",
            runs,
        )
        runs = [self.bare_throughput("bench_noop", {}, s["s4_tasks"]) for _ in range(s["repeats"])]
        r.add("s4.rate.bare", "S4", "trivial tasks/s, bare python (a), 20 at once", "/s", runs)
        runs = [
            self.bare("bench_bigout", {"bytes": s["s6_bytes"]}, devnull=True)
            for _ in range(s["s6_repeats"] + 1)
        ]
        r.add("s6.time.bare", "S6", "python script.py > /dev/null (a)", "s", runs)
        runs = [self.bare_pipe(s["s6_bytes"]) for _ in range(s["s6_repeats"] + 1)]
        r.add(
            "s6.time.pipe",
            "S6",
            "python script.py | cat > /dev/null (output through a pipe; informational)",
            "s",
            runs,
        )

    def bare_pipe(self, size: int) -> float:
        env = {"PATH": os.environ.get("PATH", ""), "SCRIPT_PARAMETERS": json.dumps({"bytes": size})}
        command = f"'{PYTHON}' '{self.script('bench_bigout')}' | cat > /dev/null"
        began = time.perf_counter()
        subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, check=True)
        return time.perf_counter() - began

    # --- (b) the source's design: Celery + subprocess.run + polling AsyncResult ---------------

    def run_source(self) -> None:
        os.environ["BENCH_SOURCE_BROKER"] = self.redis.url(1)
        sys.path.insert(0, str(BENCH))
        import source_app

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "SCRIPTDECK"))},
            "PYTHONPATH": str(BENCH),
            "BENCH_SOURCE_BROKER": self.redis.url(1),
        }
        argv = [PYTHON, "-m", "celery", "-A", "source_app", "worker", "--pool=prefork"]
        argv += [f"--concurrency={SLOTS}", "--loglevel=WARNING", "-Q", "bench_source"]
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        folder = self.base / "source"
        folder.mkdir()
        (folder / "source_app.py").symlink_to(BENCH / "source_app.py")
        worker = TrackedProcess("source-worker", argv, env, folder / "worker.log")
        try:
            self._source_scenarios(source_app)
        finally:
            try:
                worker.stop()
            except BaseException as exc:  # noqa: BLE001
                log(f"stopping the baseline worker: {exc}")

    def _source_scenarios(self, app: Any) -> None:
        r, s = self.results, SIZES
        fibo, noop, sleep = (self.script(n) for n in ("bench_fibo", "bench_noop", "bench_sleep"))

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
        rate = self.source_throughput(app, sleep, {"seconds": 0.1}, s["s3_tasks"])
        r.add(
            "s3.fraction.b50",
            "S3",
            "share of 200/s, Celery essence (b)",
            "",
            [rate / 200],
            baseline="s3.fraction.bare",
        )
        runs = [self.source_throughput(app, noop, {}, s["s4_tasks"]) for _ in range(s["repeats"])]
        r.add(
            "s4.rate.b50",
            "S4",
            "trivial tasks/s, Celery essence (b)",
            "/s",
            runs,
            baseline="s4.rate.bare",
        )

    def source_throughput(
        self, app: Any, path: str, parameters: dict[str, Any], count: int
    ) -> float:
        import redis

        client = redis.Redis.from_url(self.redis.url(1))
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

    # --- scriptdeck ----------------------------------------------------------------------------

    def server_env(self, warm: bool) -> dict[str, str]:
        return {
            "DATABASE_URL": self.pg.url,
            "CELERY_BROKER_URL": self.redis.url(0),
            "SCRIPTDECK_CONCURRENCY": str(SLOTS),
            "SCRIPTDECK_WARM_START": "true" if warm else "false",
        }

    def prepare_scripts(self, server: Any) -> None:
        for name, properties in SCHEMAS.items():
            server.api.set_script(
                name, parameter_schema_override={"type": "object", "properties": properties}
            )

    def breakdown(self, ids: list[int], visible: dict[int, float]) -> dict[str, float]:
        """Where an execution's time went, from the row's own timestamps (medians, ms)."""
        with self.pg.connect() as conn:
            rows = conn.execute(
                f"SELECT id, created_at, dispatched_at, started_at, completed_at, execution_time "
                f"FROM {EXECUTIONS} WHERE id = ANY(%s)",
                (ids,),
            ).fetchall()
        parts: dict[str, list[float]] = {
            "created→dispatched": [],
            "dispatched→started": [],
            "started→completed": [],
            "script execution_time": [],
            "completed→visible to client": [],
        }
        for pk, created, dispatched, started, completed, execution_time in rows:
            if dispatched and started:
                parts["created→dispatched"].append((dispatched - created).total_seconds())
                parts["dispatched→started"].append((started - dispatched).total_seconds())
            if started and completed:
                parts["started→completed"].append((completed - started).total_seconds())
            if execution_time is not None:
                parts["script execution_time"].append(execution_time)
            if completed and pk in visible:
                parts["completed→visible to client"].append(visible[pk] - completed.timestamp())
        return {k: round(statistics.median(v) * 1000, 1) for k, v in parts.items() if v}

    def sequential(
        self,
        server: Any,
        http: httpx.Client,
        parameters: dict[str, Any],
        count: int,
        wait: bool = False,
    ) -> tuple[list[float], list[int], dict[int, float]]:
        """Submit → visible, one after the other. The client polls the execution every
        ``POLL`` seconds, or (``wait``) asks ``/wait/`` to answer when the run has ended."""
        times, ids, visible = [], [], {}
        for _ in range(count):
            began = time.perf_counter()
            pk = stack.submit(http, "bench_fibo", parameters)
            body = stack.wait_visible(server.api, pk, None if wait else POLL)
            times.append(time.perf_counter() - began)
            visible[pk] = time.time()
            ids.append(pk)
            if body["status"] != "SUCCESS":
                raise RuntimeError(f"execution {pk} ended {body['status']}: {body}")
        return times, ids, visible

    def throughput(
        self, http: httpx.Client, script: str, parameters: dict[str, Any], count: int
    ) -> dict[str, float]:
        """Submit ``count`` runs from 4 client threads; rate = count / (last end − first submit)."""
        began = time.time()
        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(lambda _: stack.submit(http, script, parameters), range(count)))
        submitted = time.time() - began
        deadline = time.monotonic() + 1200
        with self.pg.connect() as conn:
            while True:
                done = conn.execute(
                    f"SELECT count(*) FROM {EXECUTIONS} WHERE id = ANY(%s) "
                    "AND status IN ('SUCCESS', 'FAILURE', 'CANCELLED')",
                    (ids,),
                ).fetchone()[0]
                if done == count:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{count - done} of {count} runs never ended")
                time.sleep(0.2)
            rows = conn.execute(
                f"SELECT status, completed_at FROM {EXECUTIONS} WHERE id = ANY(%s) "
                "ORDER BY completed_at",
                (ids,),
            ).fetchall()
            scripts_cpu = conn.execute(
                f"SELECT coalesce(sum(cpu_user + cpu_system), 0) FROM {EXECUTIONS} "
                "WHERE id = ANY(%s)",
                (ids,),
            ).fetchone()[0]
        failed = sum(1 for status, _ in rows if status != "SUCCESS")
        if failed:
            raise RuntimeError(f"{failed} of {count} runs did not succeed")
        ends = [completed.timestamp() for _, completed in rows]
        low, high = ends[len(ends) // 10], ends[(len(ends) * 9) // 10]
        steady = (len(ends) * 8 // 10) / (high - low) if high > low else float("nan")
        return {
            "rate": count / (ends[-1] - began),
            "submit_rate": count / submitted,
            "steady_rate": steady,
            "scripts_cpu_s": float(scripts_cpu),
        }

    def run_scriptdeck(self, mode: str) -> None:
        warm = mode == "warm"
        with stack.serve(self.base, self.scripts_dir, mode, self.server_env(warm)) as server:
            self.prepare_scripts(server)
            with stack.client(server) as http:
                self.sequential(server, http, {"n": 10}, 3)  # first runs: imports, connections
                self.scenario(f"S1 {mode}", lambda: self.s1(server, http, mode))
                self.scenario(f"S2 {mode}", lambda: self.s2(server, http, mode))
                self.scenario(f"S3 {mode}", lambda: self.s3(http, mode))
                self.scenario(f"S4 {mode}", lambda: self.s4(server, http, mode))
                if not warm:
                    self.scenario("S6 cold", lambda: self.s6(server, http))
                    self.scenario("S7 cold", lambda: self.s7(server, http))

    def s1(self, server: Any, http: httpx.Client, mode: str) -> None:
        r, s = self.results, SIZES
        limit = 1.2 if mode == "cold" else 0.4
        tag = "(c)" if mode == "cold" else "(d)"
        for wait in (False, True):
            totals, per_task, ids, visible = [], [], [], {}
            for _ in range(s["repeats"]):
                times, run_ids, seen = self.sequential(
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
            self.results.details[f"s1_breakdown_ms_{key}"] = self.breakdown(ids, visible)

    def s2(self, server: Any, http: httpx.Client, mode: str) -> None:
        s = SIZES
        parameters = {"n": s["s2_n"]}
        times, bares, ids, visible = [], [], [], {}
        for _ in range(s["s2_tasks"]):
            # Its baseline right before each run: a target of 3 % is finer than what the
            # machine drifts between phases minutes apart (another tenant, the clock).
            bares.append(self.bare("bench_fibo", parameters))
            took, run_ids, seen = self.sequential(server, http, parameters, 1, wait=True)
            times += took
            ids += run_ids
            visible.update(seen)
        self.results.add(
            f"s2.task.bare.{mode}",
            "S2",
            f"fibo({s['s2_n']}) per task, bare python (a), each right before a {mode} run",
            "s",
            bares,
        )
        self.results.add(
            f"s2.task.{mode}",
            "S2",
            f"fibo({s['s2_n']}) per task, scriptdeck {mode} (client waits on /wait/)",
            "s",
            times,
            baseline=f"s2.task.bare.{mode}",
            target=("ratio", "<=", 1.03),
        )
        self.results.details[f"s2_breakdown_ms_{mode}"] = self.breakdown(ids, visible)

    def s3(self, http: httpx.Client, mode: str) -> None:
        got = self.throughput(http, "bench_sleep", {"seconds": 0.1}, SIZES["s3_tasks"])
        self.results.add(
            f"s3.fraction.{mode}",
            "S3",
            f"share of 200/s, scriptdeck {mode}",
            "",
            [got["rate"] / 200],
            baseline="s3.fraction.bare",
            target=("value", ">=", 0.95),
            note=f"steady {got['steady_rate']:.0f}/s, submitted at {got['submit_rate']:.0f}/s",
        )
        self.results.details[f"s3_{mode}"] = got

    def s4(self, server: Any, http: httpx.Client, mode: str) -> None:
        runs, detail = [], []
        broker = self.redis.process.pid if self.redis.process is not None else None
        count = SIZES["s4_tasks"]
        for _ in range(SIZES["repeats"]):
            postgres = self.pg.pids()
            before = stack.cpu_seconds(server, broker, postgres)
            got = self.throughput(http, "bench_noop", {}, count)
            postgres |= self.pg.pids()
            after = stack.cpu_seconds(server, broker, postgres)
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
        self.results.details[f"s4_cpu_ms_per_run_{mode}"] = {
            **{key: round(value, 2) for key, value in parts.items()},
            "total": round(total, 2),
        }
        shown = ", ".join(f"{key} {value:.1f}" for key, value in parts.items())
        self.results.notes.append(
            f"S4 {mode}, CPU per run (ms, medians): {shown}; total {total:.1f} ms, so at most "
            f"{cores * 1000 / total:.0f} runs/s on {cores} cores"
        )
        warm = mode == "warm"
        self.results.add(
            f"s4.rate.{mode}",
            "S4",
            f"trivial tasks/s, scriptdeck {mode}",
            "/s",
            runs,
            baseline="s4.rate.cold" if warm else "s4.rate.bare",
            target=("ratio", ">=", 3.0) if warm else None,
        )
        self.results.details[f"s4_{mode}"] = detail

    def s6(self, server: Any, http: httpx.Client) -> None:
        s, r = SIZES, self.results
        worker = stack.process_roles(server)["worker"]

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
        with stack.Sampler(worker_processes, 0.1) as idle:
            time.sleep(1.0)
        r.details["s6_idle_worker_rss_mb"] = {
            "largest_process": round(idle.peak_single / 1024**2, 1),
            "tree": round(idle.peak_total / 1024**2, 1),
        }
        for _ in range(s["s6_repeats"]):
            with stack.Sampler(worker_processes, 0.1) as sampler:
                began = time.perf_counter()
                pk = stack.submit(http, "bench_bigout", {"bytes": s["s6_bytes"]})
                body = stack.wait_visible(server.api, pk, 0.1)
                times.append(time.perf_counter() - began)
            if body["status"] != "SUCCESS":
                raise RuntimeError(f"the 1 GB run ended {body['status']}: {body['error_message']}")
            peaks.append(sampler.peak_single / 1024**2)
            totals.append(sampler.peak_total / 1024**2)
            ids.append(pk)
            with self.pg.connect() as conn:
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

    def s7(self, server: Any, http: httpx.Client) -> None:
        s, r = SIZES, self.results
        web = stack.process_roles(server)["web"]
        baseline_window, ramp = 5.0, 8.0
        length = baseline_window + ramp + s["s7_seconds"] + 15
        pk = stack.submit(http, "bench_ticker", {"seconds": length})
        deadline = time.monotonic() + 30
        while server.api.execution(pk)["status"] != "STARTED":
            if time.monotonic() > deadline:
                raise TimeoutError("the ticker never started")
            time.sleep(0.1)
        url = f"{server.api.base_url}/api/executions/{pk}/events/"
        headers = {"Authorization": f"Token {server.api.token}", "Accept": "text/event-stream"}
        try:
            one = asyncio.run(_watch(url, headers, 1, 0.5, baseline_window, web))
            many = asyncio.run(_watch(url, headers, s["s7_clients"], ramp, s["s7_seconds"], web))
        finally:
            http.post(f"/api/executions/{pk}/cancel/")
        for key, got in (("one", one), ("many", many)):
            r.details[f"s7_{key}"] = {k: v for k, v in got.items() if k != "lags"}
        n = s["s7_clients"]
        r.add("s7.lag.one", "S7", "delivery lag p95, 1 SSE client", "s", [one["p95"]])
        r.add(
            "s7.lag.many",
            "S7",
            f"delivery lag p95, {n} SSE clients",
            "s",
            [many["p95"]] if many["received"] else None,
            baseline="s7.lag.one",
            target=("value", "<", 1.0),
            note=f"max {many['max']:.2f} s; {many['received']}/{many['expected']} lines; "
            f"{many['connected']}/{n} streams answered 200 (HTTP statuses {many['http_statuses']})",
        )
        r.add("s7.cpu.one", "S7", "web server CPU, 1 SSE client", "%", [one["web_cpu_percent"]])
        r.add(
            "s7.cpu.many",
            "S7",
            f"web server CPU, {n} SSE clients (% of one core)",
            "%",
            [many["web_cpu_percent"]],
            baseline="s7.cpu.one",
            note=f"the bench's own client used {many['client_cpu_percent']:.0f} % of a core",
        )

    # --- S5: a big history -----------------------------------------------------------------

    def run_history(self) -> None:
        env = self.server_env(False)
        args = ("--no-worker", "--no-sweeper", "--no-scheduler")
        with stack.serve(self.base, self.scripts_dir, "web-only", env, *args, worker=False) as srv:
            self.scenario("S5", lambda: self.s5(srv))

    def s5(self, server: Any) -> None:
        s, r = SIZES, self.results
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
            small = {
                k: _p95(http, path, q, s["s5_requests"]) for k, (_, q, path) in endpoints.items()
            }
            with self.pg.connect() as conn:
                before = conn.execute(f"SELECT count(*) FROM {EXECUTIONS}").fetchone()[0]
            seconds = self.fill_history(s["s5_rows"])
            r.details["s5_fill_seconds"] = round(seconds, 1)
            big = {
                k: _p95(http, path, q, s["s5_requests"]) for k, (_, q, path) in endpoints.items()
            }
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

    def fill_history(self, count: int) -> float:
        """``count`` finished executions over 90 days, written by PostgreSQL itself."""
        with self.pg.connect() as conn:
            scripts = conn.execute(
                "SELECT id, name, path FROM catalog_script ORDER BY id"
            ).fetchall()
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

    # --- the runner's sampling cost (bench/sampling.py) ------------------------------------

    def run_sampling(self) -> None:
        import sampling

        got = sampling.measure_cost(SIZES["sampling_seconds"], SIZES["repeats"])
        self.results.add(
            "sampling.off",
            "sampling",
            "runner CPU, sampling off",
            "%",
            got["without"],
        )
        self.results.add(
            "sampling.on",
            "sampling",
            "runner CPU while sampling a busy tree every 0.5 s (% of a core)",
            "%",
            got["with"],
            baseline="sampling.off",
            note=f"cost {got['cost']:.2f} % of a core (target < 2 %)",
        )

    # --- everything --------------------------------------------------------------------------

    def run(self) -> int:
        began = time.monotonic()
        self.redis.start()
        self.pg.create()
        try:
            self.scenario("sampling", self.run_sampling)
            self.scenario("baselines (a) bare python", self.run_bare)
            self.scenario("baselines (b) Celery essence", self.run_source)
            self.scenario("scriptdeck cold", lambda: self.run_scriptdeck("cold"))
            if self.warm:
                self.scenario("scriptdeck warm", lambda: self.run_scriptdeck("warm"))
            else:
                why = f"not available yet: {self.warm_why}"
                for key, scenario, label, unit in (
                    ("s1.total.warm", "S1", "40 × fibo(10) total, scriptdeck warm (d)", "s"),
                    ("s2.task.warm", "S2", "per task, scriptdeck warm", "s"),
                    ("s3.fraction.warm", "S3", "share of 200/s, scriptdeck warm", ""),
                    ("s4.rate.warm", "S4", "trivial tasks/s, scriptdeck warm", "/s"),
                ):
                    target = {
                        "S1": ("value", "<=", 0.4),
                        "S4": ("ratio", ">=", 3.0),
                        "S2": ("ratio", "<=", 1.03),
                        "S3": ("value", ">=", 0.95),
                    }[scenario]
                    self.results.add(key, scenario, label, unit, None, not_measured=why)
                    self.results.figures[key]["target"] = dict(
                        zip(("on", "op", "limit"), target, strict=True)
                    )
            self.scenario("S5 history", self.run_history)
        finally:
            versions = stack.versions(self.pg, self.redis)
            self.pg.drop()
            self.redis.stop()
        self.report(time.monotonic() - began, versions)
        return 0

    def report(self, seconds: float, versions: dict[str, str]) -> None:
        r = self.results
        r.finish()
        for key, parts in r.details.items():
            if key.startswith(("s1_breakdown", "s2_breakdown")):
                shown = ", ".join(f"{k} {v:.0f} ms" for k, v in parts.items())
                r.notes.append(f"{key} (median per run): {shown}")
        r.notes.append(
            f"S1/S2: the client polls GET /api/executions/{{id}}/ every {POLL * 1000:.0f} ms; "
            "S3/S4: 4 client threads submit over HTTP, a run's end is its completed_at "
            f"(baseline b: the result's date_done); every worker has {SLOTS} slots."
        )
        r.notes.append(f"warm start: {self.warm_why}")
        r.details["client_poll_seconds"] = POLL
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        m = stack.machine()
        header = [
            f"# scriptdeck benchmark — {when} ({'QUICK' if QUICK else 'full'} run, "
            f"{seconds / 60:.1f} min)",
            "",
            f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gb']} GB, {m['platform']}.",
            "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
            "Sizes: " + ", ".join(f"{k}={v}" for k, v in SIZES.items()) + ".",
            "",
            "Each figure is the median of its runs (count in brackets); the ratio is that "
            "median over the baseline's, measured in this same run.",
        ]
        table = markdown(r, header)
        document = {
            "benchmark": "scriptdeck",
            "date": when,
            "quick": QUICK,
            "duration_seconds": round(seconds, 1),
            "sizes": SIZES,
            "machine": m,
            "versions": versions,
            "warm_start": {"available": self.warm, "why": self.warm_why},
            "figures": list(r.figures.values()),
            "details": r.details,
            "notes": r.notes,
        }
        out = BENCH / "results"
        out.mkdir(exist_ok=True)
        (out / "latest.json").write_text(stack.dumps(document), encoding="utf-8")
        (out / "latest.md").write_text(table, encoding="utf-8")
        print(table)


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


async def _watch(
    url: str, headers: dict[str, str], clients: int, ramp: float, window: float, web: Any
) -> dict[str, Any]:
    """``clients`` SSE streams of one running execution; lag = receipt − the line's own time."""
    lags: list[float] = []
    connected = 0
    statuses: dict[int, int] = {}
    start = time.time() + ramp
    stop = start + window

    async def one(http: httpx.AsyncClient) -> None:
        nonlocal connected
        event = ""
        async with http.stream("GET", url, headers=headers) as response:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code != 200:
                return
            connected += 1
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "output":
                    now = time.time()
                    if now > stop:
                        return
                    text = json.loads(line[5:]).get("text", "")
                    for printed in text.splitlines():
                        try:
                            sent = float(json.loads(printed)["t"])
                        except (ValueError, KeyError, TypeError):
                            continue
                        if start <= sent <= stop:
                            lags.append(now - sent)
                elif not line:
                    event = ""
                if time.time() > stop + 3:
                    return

    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    me = psutil.Process()
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0, read=60.0)) as http:
        tasks = [asyncio.create_task(one(http)) for _ in range(clients)]
        await asyncio.sleep(max(0.0, start - time.time()))
        web_before, me_before, t0 = web.cpu_times(), me.cpu_times(), time.monotonic()
        await asyncio.sleep(max(0.0, stop - time.time()))
        web_after, me_after, t1 = web.cpu_times(), me.cpu_times(), time.monotonic()
        done, pending = await asyncio.wait(tasks, timeout=8)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        errors = [t.exception() for t in done if not t.cancelled() and t.exception()]
    lags.sort()
    expected = int(window / 0.1) * clients

    def cpu(before: Any, after: Any) -> float:
        used = (after.user - before.user) + (after.system - before.system)
        return used / (t1 - t0) * 100

    return {
        "clients": clients,
        "connected": connected,
        "http_statuses": statuses,
        "errors": [repr(e)[:200] for e in errors[:3]],
        "received": len(lags),
        "expected": expected,
        "p50": statistics.median(lags) if lags else float("nan"),
        "p95": lags[max(0, math.ceil(len(lags) * 0.95) - 1)] if lags else float("nan"),
        "max": lags[-1] if lags else float("nan"),
        "web_cpu_percent": cpu(web_before, web_after),
        "client_cpu_percent": cpu(me_before, me_after),
        "lags": lags,
    }


def main() -> int:
    threading.current_thread().name = "bench"
    return Bench().run()


if __name__ == "__main__":
    sys.exit(main())
