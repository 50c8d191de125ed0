"""The shared state of one run and what every scriptdeck scenario does the same way.

:class:`Bench` holds the scratch folder, the scripts, the database, the private Redis and
the figures; its helpers submit runs over HTTP and read back their rows.
"""

from __future__ import annotations

import statistics
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import stack
from results_table import Results
from stack import EXECUTIONS, Postgres, PrivateRedis, log
from workload import POLL, SCHEMAS, SCRIPTS, SLOTS


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

    # --- what every scriptdeck scenario does the same way ---------------------------------------

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
