"""Production shapes: PostgreSQL + Redis or RabbitMQ, web and workers in separate processes."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from .harness import RABBITMQ_URL, ProcessStack, RedisBroker, start_serve, tail, write_scripts

pytestmark = pytest.mark.services

CLOSED_BROKER = "redis://127.0.0.1:1/0"

OK_SDK = """\
import sys

from scriptdeck.sdk import ScriptBase, create_simple_script


def main_logic(script: ScriptBase):
    # A log line on stdout: the SDK's result file still carries the result.
    print(f"checking {script.get_parameter('target', 'all')}", flush=True)
    print("a note on stderr", file=sys.stderr)
    return script.success_result("检查完成", {"echo": script.parameters})


if __name__ == "__main__":
    create_simple_script("ok_sdk", main_logic)
"""

SDK_ERROR = """\
from celery_app.script_base import ScriptBase, create_simple_script


def main_logic(script: ScriptBase):
    raise ValueError("设备不可达")


if __name__ == '__main__':
    create_simple_script('sdk_error', main_logic)
"""

EXIT_CODE = """\
import sys

print("partial output")
print("boom: disk not mounted", file=sys.stderr)
sys.exit(3)
"""

HELLO_SH = """\
#!/usr/bin/env bash
# Greets from a shell script.
set -euo pipefail
echo "hello.sh ran" >&2
printf '{"status": "success", "message": "hello from %s", "page": "%s"}\\n' \\
    "$SCRIPT_NAME" "$PAGE_CONTEXT"
"""

# PostgreSQL refuses NUL in text: output and results holding one must still be recorded.
PRINTS_NUL = """\
import json, sys
sys.stdout.write("find -print0: a\\x00b\\x00")
sys.stdout.flush()
print(json.dumps({"name": "x\\u0000y"}), file=sys.stderr)
import os
with open(os.environ["SCRIPT_RESULT_FILE"], "w") as handle:
    json.dump({"name": "x\\u0000y"}, handle)
"""

APPEND_LINE = """\
import json
import os

parameters = json.loads(os.environ["SCRIPT_PARAMETERS"])
with open(parameters["file"], "a") as handle:
    handle.write(f"run {os.environ['EXECUTION_ID']}\\n")
print(json.dumps({"appended": True}))
"""


@pytest.fixture(scope="module")
def scripts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scripts(
        tmp_path_factory.mktemp("services") / "scripts",
        {
            "ok_sdk.py": OK_SDK,
            "sdk_error.py": SDK_ERROR,
            "exit_code.py": EXIT_CODE,
            "hello.sh": HELLO_SH,
            "append_line.py": APPEND_LINE,
            "prints_nul.py": PRINTS_NUL,
        },
    )


@pytest.fixture
def queue() -> str:
    """A queue of this test alone, so other runs sharing the broker never take its messages."""
    return f"sys-{secrets.token_hex(4)}"


@pytest.fixture
def rabbitmq_queue(rabbitmq_url: str, queue: str) -> Iterator[str]:
    """The test's queue on RabbitMQ, deleted once every process of the test has stopped."""
    yield queue
    from kombu import Connection

    with Connection(rabbitmq_url, connect_timeout=5) as conn:
        conn.default_channel.queue_delete(queue)


def serve_with_a_worker(
    stack: ProcessStack,
    scripts_dir: Path,
    env: dict[str, str],
    redis_broker: RedisBroker,
    queue: str,
    hostname: str,
    scripts: tuple[str, ...],
    concurrency: int = 1,
) -> tuple[Any, Any, dict[str, Any]]:
    """A web server with no worker, its scripts on ``queue``, and a worker of its own
    serving that queue; and the health answer that lists that worker."""
    redis_broker.owns(queue, hostname)
    server = start_serve(stack, scripts_dir, "--no-worker", env=env, worker=False)
    for name in scripts:
        server.api.set_script(name, queue=queue)
    worker = stack.spawn(
        "worker",
        ["worker", "--queues", queue, "--concurrency", str(concurrency), "--hostname", hostname],
        server.env,
    )
    return server, worker, server.api.wait_ready(worker=hostname, alive=worker.alive)


def test_postgres_and_redis_with_a_separate_worker_record_every_outcome(
    stack: ProcessStack,
    postgres_url: str,
    redis_broker: RedisBroker,
    scripts_dir: Path,
    queue: str,
):
    env = {"DATABASE_URL": postgres_url, "CELERY_BROKER_URL": redis_broker.url(5)}
    scripts = ("ok_sdk", "sdk_error", "exit_code", "hello", "prints_nul")
    server, _, health = serve_with_a_worker(
        stack, scripts_dir, env, redis_broker, queue, "sys-pg@test", scripts, concurrency=2
    )
    api = server.api
    (listed,) = [w for w in health["workers"] if w["hostname"] == "sys-pg@test"]
    assert listed["queues"] == [queue] and listed["concurrency"] == 2

    submitted = {
        "ok_sdk": api.submit("ok_sdk", {"target": "核心交换机"}, page_context="/pg"),
        "sdk_error": api.submit("sdk_error"),
        "exit_code": api.submit("exit_code"),
        "hello": api.submit("hello", page_context="/shell"),
        "prints_nul": api.submit("prints_nul"),
    }
    done = {name: api.wait(e["id"], timeout=60) for name, e in submitted.items()}
    for execution in done.values():
        assert execution["worker_host"] == "sys-pg@test", execution
        assert execution["queue"] == queue
        assert execution["script_sha256"]
        assert execution["started_at"] and execution["completed_at"]

    ok = done["ok_sdk"]
    assert (ok["status"], ok["exit_code"], ok["failure_reason"]) == ("SUCCESS", 0, ""), ok
    assert ok["result"]["message"] == "检查完成"
    assert ok["result"]["data"] == {"echo": {"target": "核心交换机"}}
    assert ok["stdout"].startswith("checking 核心交换机\n"), ok["stdout"]
    assert "a note on stderr" in ok["stderr"]
    assert ok["memory_usage"] > 0 and ok["execution_time"] > 0
    records = api.get("/api/results/", params={"task_id": ok["task_id"]}).json()["results"]
    assert len(records) == 1 and records[0]["page_context"] == "/pg"

    error = done["sdk_error"]
    assert (error["status"], error["failure_reason"], error["exit_code"]) == (
        "FAILURE",
        "script_error",
        1,
    ), error
    assert error["result"]["status"] == "error"
    assert error["result"]["error_type"] == "ValueError"
    assert "sdk_error执行出错: 设备不可达" in error["error_message"]

    failed = done["exit_code"]
    assert (failed["status"], failed["failure_reason"], failed["exit_code"]) == (
        "FAILURE",
        "exit_code",
        3,
    ), failed
    assert failed["stdout"] == "partial output\n"
    assert "boom: disk not mounted" in failed["stderr"]
    assert "3" in failed["error_message"] and "boom: disk not mounted" in failed["error_message"]

    shell = done["hello"]
    assert (shell["status"], shell["exit_code"]) == ("SUCCESS", 0), shell
    assert shell["result"]["message"] == "hello from hello"
    assert shell["result"]["page"] == "/shell"
    assert "hello.sh ran" in shell["stderr"]

    nul = done["prints_nul"]
    assert nul["status"] == "SUCCESS", nul
    assert nul["stdout"] == "find -print0: a\ufffdb\ufffd"
    assert nul["result"]["name"] == "x\ufffdy"
    chunks = api.get(f"/api/executions/{nul['id']}/output/").json()["chunks"]
    assert "".join(c["text"] for c in chunks if c["stream"] == "stdout") == nul["stdout"]

    no_records = api.get("/api/results/", params={"script_name": "exit_code"}).json()
    assert no_records["count"] == 0

    # The overview's percentiles come from PostgreSQL's percentile_cont here.
    overview = api.get("/api/stats/overview/", params={"days": 1}).json()
    rows = {row["script_name"]: row for row in overview["scripts"]}
    assert rows["ok_sdk"]["runs"] == 1 and rows["ok_sdk"]["success_rate"] == 1.0
    assert rows["ok_sdk"]["p50_seconds"] == ok["execution_time"]
    assert (
        rows["exit_code"]["success_rate"] == 0.0 and rows["exit_code"]["last_status"] == "FAILURE"
    )


def postgres_connections(process: psutil.Process) -> list[tuple[str, int]]:
    return sorted(
        tuple(c.laddr)
        for c in process.net_connections(kind="tcp")
        if c.raddr and c.raddr.port == 5432 and c.status == psutil.CONN_ESTABLISHED
    )


def test_a_worker_process_keeps_its_database_connection_from_run_to_run(
    stack: ProcessStack,
    postgres_url: str,
    redis_broker: RedisBroker,
    scripts_dir: Path,
    queue: str,
):
    env = {"DATABASE_URL": postgres_url, "CELERY_BROKER_URL": redis_broker.url(7)}
    server, worker, _ = serve_with_a_worker(
        stack, scripts_dir, env, redis_broker, queue, "sys-reuse@test", ("ok_sdk", "exit_code")
    )
    api = server.api
    (pool,) = psutil.Process(worker.pid).children()

    held = []
    for name in ("ok_sdk", "exit_code", "ok_sdk", "ok_sdk"):
        done = api.wait(api.submit(name)["id"], timeout=60)
        assert done["status"] in ("SUCCESS", "FAILURE") and done["failure_reason"] in (
            "",
            "exit_code",
        ), done
        held.append(postgres_connections(pool))
    # One connection, opened for the first run and used by every later one (Celery's own
    # Django fixup would close it after each task).
    assert len(held[0]) == 1, held
    assert held == [held[0]] * 4, held


def test_postgres_and_rabbitmq_run_native_and_compat_submissions(
    rabbitmq_queue: str,
    stack: ProcessStack,
    postgres_url: str,
    scripts_dir: Path,
):
    env = {"DATABASE_URL": postgres_url, "CELERY_BROKER_URL": RABBITMQ_URL}
    server = start_serve(stack, scripts_dir, "--no-worker", env=env, worker=False)
    api = server.api
    api.set_script("ok_sdk", queue=rabbitmq_queue)
    worker = stack.spawn(
        "worker",
        ["worker", "--queues", rabbitmq_queue, "--concurrency", "2"]
        + ["--hostname", "sys-rabbit@test"],
        server.env,
    )
    api.wait_ready(worker="sys-rabbit@test", alive=worker.alive)

    native = api.wait(api.submit("ok_sdk", {"target": "rabbit"})["id"], timeout=60)
    assert native["status"] == "SUCCESS", native
    assert native["worker_host"] == "sys-rabbit@test"

    response = api.post(
        "/myapp/api/execute-script/",
        json={"script_name": "ok_sdk", "parameters": {"target": "compat"}, "page_context": "/mq"},
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    api.wait(accepted["execution_id"], timeout=60)
    answer = api.get(
        "/myapp/api/script-task-result/",
        params={"task_id": accepted["task_id"], "execution_id": accepted["execution_id"]},
    ).json()
    assert answer["ready"] is True and answer["success"] is True, answer
    assert answer["result"]["data"] == {"echo": {"target": "compat"}}
    records = api.get("/api/results/", params={"page_context": "/mq"}).json()
    assert records["count"] == 1


def test_execution_refused_by_the_broker_stays_pending_until_a_sweeper_dispatches_it_once(
    stack: ProcessStack,
    postgres_url: str,
    redis_broker: RedisBroker,
    scripts_dir: Path,
    queue: str,
    tmp_path: Path,
):
    env = {"DATABASE_URL": postgres_url, "CELERY_BROKER_URL": CLOSED_BROKER}
    server = start_serve(
        stack,
        scripts_dir,
        "--no-worker",
        "--no-sweeper",
        name="serve-refused",
        env=env,
        healthy=False,
        worker=False,
    )
    api = server.api
    status, body = api.health()
    assert status == 503 and body["broker"].startswith("error"), body

    api.set_script("append_line", queue=queue)
    lines = tmp_path / "lines.txt"
    began = time.monotonic()
    submitted = api.submit("append_line", {"file": str(lines)})
    post_seconds = time.monotonic() - began
    assert submitted["status"] == "PENDING" and submitted["dispatched_at"] is None, submitted
    assert post_seconds < 15, f"the refused dispatch held the request for {post_seconds:.1f} s"
    pending = api.execution(submitted["id"])
    assert pending["status"] == "PENDING" and pending["dispatched_at"] is None, pending

    redis_broker.owns(queue, "sys-sweep@test")
    real = {**server.env, "CELERY_BROKER_URL": redis_broker.url(6)}
    worker = stack.spawn(
        "worker",
        ["worker", "--queues", queue, "--concurrency", "2", "--hostname", "sys-sweep@test"],
        real,
    )
    api.wait_ready(healthy=False, worker="sys-sweep@test", alive=worker.alive)
    assert api.execution(submitted["id"])["status"] == "PENDING"

    sweeper = stack.spawn(
        "sweeper", ["sweeper", "--once"], {**real, "SCRIPTDECK_DISPATCH_GRACE": "0"}
    )
    assert sweeper.popen.wait(timeout=60) == 0, tail(sweeper.log_path)
    assert f"dispatched [{submitted['id']}]" in sweeper.log_path.read_text(), tail(sweeper.log_path)

    done = api.wait(submitted["id"], timeout=60)
    logs = f"--- worker ---\n{tail(worker.log_path)}\n--- sweeper ---\n{tail(sweeper.log_path)}"
    assert done["status"] == "SUCCESS", f"{done}\n{logs}"
    assert done["worker_host"] == "sys-sweep@test", done
    assert lines.read_text().splitlines() == [f"run {submitted['id']}"], logs
