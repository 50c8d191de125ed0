"""Faults on PostgreSQL + Redis: workers killed or frozen, Redis restarted, queues routed.

Redis here is a private server on a free port, so it can be restarted without touching
the machine's own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import psutil
import pytest

from .harness import (
    ProcessStack,
    Server,
    free_port,
    port_answers,
    start_serve,
    wait_until,
    write_scripts,
)

pytestmark = pytest.mark.services

COUNTED = """\
import json, os, sys, time
marker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "counted.runs")
with open(marker, "a") as handle:
    handle.write(f"{os.environ['EXECUTION_ID']} {os.getpid()}\\n")
runs = open(marker).read().splitlines()
time.sleep(60 if len(runs) == 1 else 0.2)
print(json.dumps({"runs": len(runs)}))
"""

SLOW_OK = """\
import time
time.sleep(6)
print('{"ok": true}')
"""

LOGGED = """\
import json, os, time
marker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logged.runs")
with open(marker, "a") as handle:
    handle.write(os.environ["EXECUTION_ID"] + "\\n")
time.sleep(float(json.loads(os.environ["SCRIPT_PARAMETERS"]).get("seconds", 0.1)))
print('{"ok": true}')
"""

WHERE = """\
import json, socket, os
print(json.dumps({"queue_script": os.environ["SCRIPT_NAME"]}))
"""


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: the fault tests start their own")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_answers("127.0.0.1", self.port), 20, "private Redis did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


FAST_SWEEP = {
    "SCRIPTDECK_WORKER_LOST_AFTER": "5",
    "SCRIPTDECK_SWEEP_INTERVAL": "1",
    "SCRIPTDECK_DISPATCH_GRACE": "0",
    "SCRIPTDECK_HEARTBEAT_INTERVAL": "1",
}


def web(stack: ProcessStack, tmp_path: Path, postgres_url: str, redis_url: str, **extra: str):
    scripts = write_scripts(
        tmp_path / "scripts",
        {"counted.py": COUNTED, "slow_ok.py": SLOW_OK, "logged.py": LOGGED, "where.py": WHERE},
    )
    env = {"DATABASE_URL": postgres_url, "CELERY_BROKER_URL": redis_url, **FAST_SWEEP, **extra}
    return start_serve(stack, scripts, "--no-worker", env=env, worker=False)


def worker(stack: ProcessStack, server: Server, name: str, queues: str = "default", n: int = 2):
    process = stack.spawn(
        name,
        ["worker", "--queues", queues, "--concurrency", str(n), "--hostname", f"{name}@test"],
        server.env,
    )
    server.api.wait_ready(worker=f"{name}@test", alive=process.alive)
    return process


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_killed_worker_is_declared_lost_and_the_opted_in_script_reruns_exactly_once(
    stack: ProcessStack, tmp_path: Path, postgres_url: str, redis_server: PrivateRedis
):
    server = web(stack, tmp_path, postgres_url, redis_server.url)
    api = server.api
    api.set_script("counted", rerun_on_worker_lost=True, retry_backoff=0)
    doomed = worker(stack, server, "doomed")
    first = api.submit("counted")["id"]
    api.wait_status(first, ("STARTED",), timeout=30)
    marker = server.scripts_dir / "counted.runs"
    wait_until(lambda: marker.exists() and marker.read_text(), 15, "the script never ran")
    script_pid = int(marker.read_text().split()[1])
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its pool, at once
    wait_until(lambda: _gone(script_pid), 10, "the script outlived its killed worker")
    began = time.monotonic()
    lost = api.wait(first, timeout=30)
    assert (lost["status"], lost["failure_reason"]) == ("FAILURE", "worker_lost"), lost
    assert time.monotonic() - began < 15
    assert lost["retried_by"], lost
    worker(stack, server, "rescuer")
    rerun = api.wait(lost["retried_by"], timeout=60)
    assert rerun["status"] == "SUCCESS", rerun
    assert rerun["result"]["runs"] == 2
    assert not rerun["retried_by"]
    assert len(marker.read_text().splitlines()) == 2


def test_a_frozen_worker_is_declared_lost_and_waking_up_changes_nothing(
    stack: ProcessStack, tmp_path: Path, postgres_url: str, redis_server: PrivateRedis
):
    server = web(stack, tmp_path, postgres_url, redis_server.url)
    api = server.api
    frozen = worker(stack, server, "frozen")
    execution = api.submit("slow_ok")["id"]
    api.wait_status(execution, ("STARTED",), timeout=30)
    os.killpg(frozen.pid, signal.SIGSTOP)
    try:
        lost = api.wait(execution, timeout=30)
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)
    assert (lost["status"], lost["failure_reason"]) == ("FAILURE", "worker_lost"), lost
    assert "frozen@test" in lost["error_message"]
    assert not lost["retried_by"]  # not opted in
    # The woken worker finishes its run and tries to record it: it is told it ended.
    wait_until(
        lambda: "had already ended" in frozen.log_path.read_text(errors="replace"),
        30,
        "the woken worker never reported its run",
    )
    again = api.execution(execution)
    assert (again["status"], again["completed_at"]) == ("FAILURE", lost["completed_at"])


def test_redis_restarting_with_runs_queued_loses_none_and_runs_none_twice(
    stack: ProcessStack, tmp_path: Path, postgres_url: str, redis_server: PrivateRedis
):
    server = web(stack, tmp_path, postgres_url, redis_server.url, SCRIPTDECK_REDISPATCH_AFTER="8")
    api = server.api
    worker(stack, server, "steady", n=2)
    running = [api.submit("logged", {"seconds": 4})["id"] for _ in range(2)]
    for execution_id in running:
        api.wait_status(execution_id, ("STARTED",), timeout=30)
    queued = [api.submit("logged", {"seconds": 0.1})["id"] for _ in range(50)]
    redis_server.stop()  # it keeps nothing on disk: the queued messages are gone
    redis_server.start()
    ended = [api.wait(i, timeout=120) for i in running + queued]
    assert [e["status"] for e in ended] == ["SUCCESS"] * 52, [
        (e["id"], e["status"], e["error_message"]) for e in ended if e["status"] != "SUCCESS"
    ]
    runs = (server.scripts_dir / "logged.runs").read_text().split()
    assert sorted(runs) == sorted(str(i) for i in running + queued)  # each exactly once


def test_each_execution_runs_only_on_a_worker_serving_its_queue(
    stack: ProcessStack, tmp_path: Path, postgres_url: str, redis_server: PrivateRedis
):
    server = web(stack, tmp_path, postgres_url, redis_server.url)
    api = server.api
    queues = ["alpha", "beta", "gamma"]
    for queue in queues:
        worker(stack, server, f"w-{queue}", queues=queue, n=1)
    submitted = []
    for round_ in range(2):
        for queue in queues:
            api.set_script("where", queue=queue)
            submitted.append((queue, api.submit("where")["id"]))
        del round_
    for queue, execution_id in submitted:
        execution = api.wait(execution_id, timeout=60)
        assert execution["status"] == "SUCCESS", execution
        assert execution["queue"] == queue
        assert execution["worker_host"] == f"w-{queue}@test"


def test_a_submit_while_the_broker_is_down_runs_once_the_broker_is_back(
    stack: ProcessStack, tmp_path: Path, postgres_url: str, redis_server: PrivateRedis
):
    server = web(stack, tmp_path, postgres_url, redis_server.url)
    api = server.api
    worker(stack, server, "patient")
    redis_server.stop()
    accepted = api.submit("logged")
    assert accepted["status"] == "PENDING"
    assert api.execution(accepted["id"])["dispatched_at"] is None
    redis_server.start()
    ended = api.wait(accepted["id"], timeout=90)
    assert ended["status"] == "SUCCESS", ended
    assert (server.scripts_dir / "logged.runs").read_text().split() == [str(accepted["id"])]


def test_a_thousand_submissions_from_twenty_clients_all_end_each_run_once(
    stack: ProcessStack, tmp_path: Path, postgres_url: str, redis_server: PrivateRedis
):
    import statistics
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime

    import httpx

    server = web(stack, tmp_path, postgres_url, redis_server.url)
    api = server.api
    worker(stack, server, "load-a", n=2)
    worker(stack, server, "load-b", n=2)
    headers = {"Authorization": f"Token {api.token}"}
    latencies: list[float] = []
    statuses: list[int] = []
    ids: list[int] = []

    def client(_: int) -> None:
        with httpx.Client(base_url=api.base_url, headers=headers, timeout=60) as http:
            for _ in range(50):
                began = time.monotonic()
                response = http.post(
                    "/api/executions/", json={"script": "logged", "parameters": {"seconds": 0}}
                )
                latencies.append(time.monotonic() - began)
                statuses.append(response.status_code)
                if response.status_code == 202:
                    ids.append(response.json()["id"])

    first_at = datetime.now(UTC).isoformat()
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(client, range(20)))
    assert [s for s in statuses if s >= 500] == []
    assert statuses.count(202) == 1000
    latencies.sort()
    print(
        f"\nsubmit latency over 1000 submissions from 20 clients: "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms"
    )
    deadline = time.monotonic() + 600
    while True:
        page = api.get(
            "/api/executions/", params={"status": ["PENDING", "STARTED"], "page_size": 1}
        ).json()
        if page["count"] == 0:
            break
        assert time.monotonic() < deadline, f"{page['count']} executions never ended"
        time.sleep(1)
    # The module's database holds other tests' runs too: look at these submissions only.
    ended = api.get(
        "/api/executions/",
        params={"script": "logged", "status": "SUCCESS", "created_after": first_at},
    ).json()
    assert ended["count"] == 1000
    runs = (server.scripts_dir / "logged.runs").read_text().split()
    assert sorted(runs) == sorted(str(i) for i in ids)  # every one ran, exactly once
