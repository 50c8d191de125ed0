"""The embedded default: one ``scriptdeck serve`` (SQLite + filesystem broker + its own worker)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from .harness import ProcessStack, Server, start_serve, tail, wait_until, write_scripts

SECRET_MARKER = f"sys-secret-{secrets.token_hex(8)}"
GRANDCHILD_TAG = "scriptdeck-sys-grandchild"

# Written exactly in the source document's style.
SCAN_DEV_UPDATE = """\
from celery_app.script_base import ScriptBase, create_simple_script


def main_logic(script: ScriptBase):
    # 获取参数
    target = script.get_parameter('target', 'all')
    mode = script.get_parameter('mode', 'quick')

    # 执行业务逻辑
    processed_parameters = dict(script.parameters)
    processed_parameters.setdefault('target', target)
    processed_parameters.setdefault('mode', mode)

    # 返回结果
    return script.success_result("扫描完成", {
        'script_name': script.script_name,
        'execution_context': script.page_context,
        'processed_parameters': processed_parameters,
    })


if __name__ == '__main__':
    create_simple_script('scan_dev_update', main_logic)
"""

MEMORY_300MB = """\
import json

SIZE = 300 * 1024 * 1024
buffer = bytearray(SIZE)
for offset in range(0, SIZE, 4096):
    buffer[offset] = 1
print(json.dumps({"allocated_mb": SIZE // (1024 * 1024), "touched": sum(buffer[::4096])}))
"""

ENV_DUMP = """\
import json
import os

print(json.dumps(dict(os.environ)))
"""

GRANDCHILD_TIMEOUT = f"""\
import json
import os
import subprocess
import sys
import time

GRANDCHILD = (
    "import os, signal, sys, time\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "tmp = sys.argv[1] + '.tmp'\\n"
    "with open(tmp, 'w') as handle:\\n"
    "    handle.write(str(os.getpid()))\\n"
    "os.replace(tmp, sys.argv[1])\\n"
    "time.sleep(300)\\n"
)
pid_file = json.loads(os.environ["SCRIPT_PARAMETERS"])["pid_file"]
subprocess.Popen(
    [sys.executable, "-c", GRANDCHILD, pid_file, "{GRANDCHILD_TAG}"], start_new_session=True
)
deadline = time.time() + 10
while not os.path.exists(pid_file) and time.time() < deadline:
    time.sleep(0.01)
print("grandchild started", flush=True)
time.sleep(60)
"""

SLEEP_JSON = """\
import json
import os
import time

seconds = float(json.loads(os.environ.get("SCRIPT_PARAMETERS") or "{}").get("seconds", 1))
began = time.time()
time.sleep(seconds)
print(json.dumps({"slept": seconds, "began": began, "ended": time.time()}))
"""

LONG_SLEEP = """\
import json
import os
import time

pid_file = json.loads(os.environ["SCRIPT_PARAMETERS"])["pid_file"]
with open(pid_file, "w") as handle:
    handle.write(str(os.getpid()))
time.sleep(60)
print(json.dumps({"slept": 60}))
"""

SOURCE_RESULT_KEYS = {"status", "message", "timestamp", "data", "metadata"}
RUNNER_DEFAULT_KEYS = {"script_name", "execution_time"}
METADATA_KEYS = {"script_name", "execution_time", "execution_duration", "version", "method"}


@dataclass
class Outside:
    script: Path
    marker: Path
    link: Path


@pytest.fixture(scope="module")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")


@pytest.fixture(scope="module")
def outside(embedded_dir: Path) -> Outside:
    """A script outside the scripts folder that leaves a marker if it runs; a link to it."""
    folder = embedded_dir / "outside"
    folder.mkdir()
    marker = folder / "RAN"
    script = folder / "outside.py"
    script.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n")
    link = embedded_dir / "scripts" / "evil_link.py"
    return Outside(script, marker, link)


@pytest.fixture(scope="module")
def embedded(embedded_dir: Path, outside: Outside) -> Iterator[Server]:
    scripts = write_scripts(
        embedded_dir / "scripts",
        {
            "scan_dev_update.py": SCAN_DEV_UPDATE,
            "memory_300mb.py": MEMORY_300MB,
            "env_dump.py": ENV_DUMP,
            "grandchild_timeout.py": GRANDCHILD_TIMEOUT,
            "sleep_json.py": SLEEP_JSON,
        },
    )
    outside.link.symlink_to(outside.script)
    stack = ProcessStack(embedded_dir)
    home = embedded_dir / "home"
    try:
        server = start_serve(
            stack,
            scripts,
            "--concurrency",
            "4",
            home=home,
            env={
                "SCRIPTDECK_TEST_SECRET": SECRET_MARKER,
                "SECRET_KEY": f"{SECRET_MARKER}-key",
                # The default, made explicit so the test can check it is not passed on.
                "DATABASE_URL": f"sqlite:///{home / 'scriptdeck.sqlite3'}",
            },
        )
        yield server
        server.api.close()
    finally:
        stack.close()


def poll_compat(api: Any, task_id: str, execution_id: int, timeout: float = 30.0) -> dict:
    def answer() -> dict | None:
        response = api.get(
            "/myapp/api/script-task-result/",
            params={"task_id": task_id, "execution_id": execution_id},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return body if body["ready"] else None

    return wait_until(answer, timeout, f"execution {execution_id} never became ready")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def grandchild_running(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return True  # not reaped: still a leak
        return GRANDCHILD_TAG in proc.cmdline()
    except psutil.NoSuchProcess:
        return False


# --- the source's script and routes -----------------------------------------------------------


def test_source_style_script_runs_through_compat_routes_and_stores_exactly_one_result_record(
    embedded: Server,
):
    api = embedded.api
    page = "/scanDevUpdate"
    parameters = {"target": "设备-7", "mode": "full"}
    response = api.post(
        "/myapp/api/execute-script/",
        json={"script_name": "scan_dev_update", "parameters": parameters, "page_context": page},
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert set(accepted) == {"task_id", "execution_id", "status"}
    assert accepted["status"] == "PENDING"
    task_id, execution_id = accepted["task_id"], accepted["execution_id"]

    answer = poll_compat(api, task_id, execution_id)
    assert answer["success"] is True, answer
    assert answer["status"] == "SUCCESS"
    assert answer["error"] is None
    assert answer["task_id"] == task_id and answer["execution_id"] == execution_id
    assert answer["execution_time"] > 0 and answer["memory_usage"] > 0

    result = answer["result"]
    assert set(result) == SOURCE_RESULT_KEYS | RUNNER_DEFAULT_KEYS
    assert result["status"] == "success"
    assert result["message"] == "扫描完成"
    assert isinstance(result["timestamp"], float)
    assert result["script_name"] == "scan_dev_update"
    parse_time(result["execution_time"])
    assert result["data"] == {
        "script_name": "scan_dev_update",
        "execution_context": page,
        "processed_parameters": parameters,
    }
    metadata = result["metadata"]
    assert set(metadata) == METADATA_KEYS
    assert metadata["script_name"] == "scan_dev_update"
    assert metadata["version"] == "1.0.0"
    assert metadata["method"] == "subprocess_execution"
    assert metadata["execution_duration"] >= 0
    parse_time(metadata["execution_time"])

    def records() -> list[dict]:
        response = api.get("/api/results/", params={"page_context": page})
        assert response.status_code == 200, response.text
        return response.json()["results"]

    found = records()
    assert len(found) == 1, found
    record = found[0]
    assert record["scandevresult_filename"] == f"scan_dev_update_执行结果_{task_id[:8]}.json"
    assert record["task_id"] == task_id
    assert record["execution_id"] == execution_id
    assert record["director"] == "系统自动"
    assert record["result_type"] == "script"
    assert record["script_name"] == "scan_dev_update"
    assert record["page_context"] == page
    assert record["script_output"] == "扫描完成"
    assert json.loads(record["scandevresult_content"]) == result

    download = api.get(f"/api/results/{record['id']}/download/")
    assert download.status_code == 200
    assert json.loads(download.content) == result

    # Polling again (by either id) never writes another record.
    again_by_task = api.get("/myapp/api/script-task-result/", params={"task_id": task_id})
    again_by_id = api.get("/myapp/api/script-task-result/", params={"execution_id": execution_id})
    assert again_by_task.json()["ready"] and again_by_id.json()["ready"]
    assert len(records()) == 1


# --- measurement and environment -------------------------------------------------------------


def test_memory_usage_is_the_scripts_own_peak_of_at_least_300_mb(embedded: Server):
    api = embedded.api
    execution = api.wait(api.submit("memory_300mb")["id"], timeout=60)
    assert execution["status"] == "SUCCESS", execution
    assert execution["result"]["allocated_mb"] == 300
    assert execution["memory_usage"] >= 300, execution["memory_usage"]
    assert execution["peak_rss_bytes"] >= 300 * 1024 * 1024
    assert execution["cpu_user"] is not None and execution["cpu_system"] is not None


def test_script_environment_has_the_contract_variables_and_none_of_the_servers(
    embedded: Server,
):
    api = embedded.api
    parameters = {"设备": "交换机", "n": 3}
    submitted = api.submit("env_dump", parameters, page_context="/envPage")
    execution = api.wait(submitted["id"])
    assert execution["status"] == "SUCCESS", execution
    env = execution["result"]

    assert json.loads(env["SCRIPT_PARAMETERS"]) == parameters
    assert "交换机" in env["SCRIPT_PARAMETERS"], "parameters must not be ASCII-escaped"
    assert env["PAGE_CONTEXT"] == "/envPage"
    assert env["SCRIPT_NAME"] == "env_dump"
    assert env["EXECUTION_ID"] == str(submitted["id"])
    assert env["SCRIPT_RESULT_FILE"]

    for leaked in (
        "SCRIPTDECK_TEST_SECRET",
        "SECRET_KEY",
        "DATABASE_URL",
        "DJANGO_SETTINGS_MODULE",
        "SCRIPTDECK_HOME",
        "SCRIPTDECK_ADMIN_PASSWORD",
    ):
        assert leaked not in env, f"{leaked} reached the script"
    assert not [k for k, v in env.items() if SECRET_MARKER in str(v)]


# --- limits -----------------------------------------------------------------------------------


def test_timeout_fails_the_run_and_kills_a_grandchild_that_ignores_sigterm(
    embedded: Server, tmp_path: Path
):
    api = embedded.api
    changed = api.set_script("grandchild_timeout", soft_time_limit=1, time_limit=3)
    assert (changed["soft_time_limit"], changed["time_limit"]) == (1, 3)
    pid_file = tmp_path / "grandchild.pid"

    began = time.monotonic()
    submitted = api.submit("grandchild_timeout", {"pid_file": str(pid_file)})
    execution = api.wait(submitted["id"], timeout=15)
    took = time.monotonic() - began

    assert execution["status"] == "FAILURE", execution
    assert execution["failure_reason"] == "timeout", execution
    assert "time" in execution["error_message"].lower()
    assert took < 10, f"the timeout took {took:.1f} s to be recorded"
    assert "grandchild started" in execution["stdout"]
    assert pid_file.exists(), "the grandchild never started"
    grandchild = int(pid_file.read_text())
    assert not grandchild_running(grandchild), f"grandchild {grandchild} outlived the timeout"


# --- paths ------------------------------------------------------------------------------------


def test_script_paths_leaving_the_scripts_folder_are_refused_and_never_run(
    embedded: Server, outside: Outside
):
    api = embedded.api
    before = api.execution_count()
    refused = [
        {"script_name": "outside", "script_path": "../outside/outside.py"},
        {"script_name": "outside", "script_path": str(outside.script)},
        {"script_name": "evil_link", "script_path": "evil_link.py"},
        {"script_name": "evil_link", "script_path": str(outside.link)},
        {"script_name": "evil_link"},
        {"script_name": "../outside/outside"},
    ]
    for body in refused:
        response = api.post("/myapp/api/execute-script/", json={**body, "parameters": {}})
        assert response.status_code == 400, (body, response.status_code, response.text)
        assert "outside the scripts folder" in response.json()["error"], response.text

    native = api.post("/api/executions/", json={"script": "evil_link"})
    assert native.status_code == 404, native.text
    assert api.execution_count() == before

    names = {s["name"] for s in api.get("/api/scripts/").json()["results"]}
    assert not names & {"evil_link", "outside"}, names

    # A run submitted after the refusals has finished: nothing queued before it ran the file.
    done = api.wait(api.submit("sleep_json", {"seconds": 0})["id"])
    assert done["status"] == "SUCCESS", done
    assert not outside.marker.exists(), "a refused script ran"


# --- concurrency ------------------------------------------------------------------------------


def test_four_executions_run_at_once_and_sqlite_is_never_locked(embedded: Server):
    api = embedded.api
    ids = [api.submit("sleep_json", {"seconds": 1.5})["id"] for _ in range(4)]
    executions = [api.wait(execution_id, timeout=30) for execution_id in ids]
    assert [e["status"] for e in executions] == ["SUCCESS"] * 4, executions

    starts = [parse_time(e["started_at"]) for e in executions]
    ends = [parse_time(e["completed_at"]) for e in executions]
    assert max(starts) < min(ends), f"runs did not overlap: {list(zip(starts, ends, strict=True))}"
    assert len({e["worker_pid"] for e in executions}) == 4

    log = embedded.log()
    assert "database is locked" not in log, tail(embedded.log_path)


# --- health and schema ------------------------------------------------------------------------


def test_healthz_is_ok_and_lists_the_serve_worker(embedded: Server):
    status, body = embedded.api.health()
    assert status == 200
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert len(body["workers"]) == 1, body
    worker = body["workers"][0]
    assert worker["queues"] == ["default"]
    assert worker["concurrency"] == 4


def test_openapi_schema_is_served_to_signed_in_clients_only(embedded: Server):
    url = f"{embedded.api.base_url}/api/schema/"
    headers = {"Accept": "application/json"}
    anonymous = httpx.get(url, headers=headers, timeout=15)
    assert anonymous.status_code in (401, 403), anonymous.text[:500]
    response = embedded.api.get("/api/schema/", headers=headers)
    assert response.status_code == 200, response.text[:500]
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/executions/" in document["paths"]
    assert "/myapp/api/execute-script/" in document["paths"]


# --- stopping serve while a script runs -------------------------------------------------------


@dataclass
class StoppedRun:
    home: Path
    scripts: Path
    stack: ProcessStack
    execution_id: int
    script_pid: int
    pid_file: Path
    stop_seconds: float
    leftovers: list[str]
    row: dict[str, Any]
    log: str


def read_execution_row(home: Path, execution_id: int) -> dict[str, Any]:
    with sqlite3.connect(home / "scriptdeck.sqlite3") as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT status, failure_reason, error_message, started_at, completed_at "
            "FROM executions_taskexecution WHERE id = ?",
            (execution_id,),
        ).fetchone()
    assert row is not None
    return dict(row)


@pytest.fixture(scope="module")
def stopped_mid_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoppedRun]:
    """A serve with the embedded defaults, sent SIGTERM while ``long_sleep`` runs."""
    base = tmp_path_factory.mktemp("shutdown")
    scripts = write_scripts(base / "scripts", {"long_sleep.py": LONG_SLEEP})
    stack = ProcessStack(base)
    try:
        server = start_serve(stack, scripts, "--concurrency", "2")
        pid_file = base / "script.pid"
        submitted = server.api.submit("long_sleep", {"pid_file": str(pid_file)})
        server.api.wait_status(submitted["id"], ("STARTED",), timeout=30)
        wait_until(pid_file.exists, 15, "long_sleep never wrote its pid")
        script_pid = int(pid_file.read_text())
        assert psutil.pid_exists(script_pid)
        server.api.close()

        stop_seconds = server.process.stop()
        leftovers = [f"pid {p.pid}: {' '.join(p.cmdline())}" for p in stack.leftovers()]
        yield StoppedRun(
            home=server.home,
            scripts=scripts,
            stack=stack,
            execution_id=submitted["id"],
            script_pid=script_pid,
            pid_file=pid_file,
            stop_seconds=stop_seconds,
            leftovers=leftovers,
            row=read_execution_row(server.home, submitted["id"]),
            log=server.log(),
        )
    finally:
        stack.close()


def test_sigterm_stops_serve_and_every_process_it_started_within_40_s(
    stopped_mid_run: StoppedRun,
):
    assert stopped_mid_run.stop_seconds < 40
    assert stopped_mid_run.leftovers == []
    assert not psutil.pid_exists(stopped_mid_run.script_pid) or (
        psutil.Process(stopped_mid_run.script_pid).status() == psutil.STATUS_ZOMBIE
    ), "the running script survived the stop"


def test_sigterm_leaves_the_running_execution_failed_not_started(stopped_mid_run: StoppedRun):
    row = stopped_mid_run.row
    assert row["status"] == "FAILURE", row
    assert row["failure_reason"], row
    assert row["completed_at"] is not None, row


def test_sigterm_records_worker_shutdown_as_the_failure_reason(stopped_mid_run: StoppedRun):
    assert stopped_mid_run.row["failure_reason"] == "worker_shutdown", stopped_mid_run.row


def test_restarted_serve_does_not_run_the_interrupted_execution_again(
    stopped_mid_run: StoppedRun,
):
    before = stopped_mid_run.row
    stopped_mid_run.pid_file.unlink()
    stack = stopped_mid_run.stack
    server = start_serve(
        stack,
        stopped_mid_run.scripts,
        "--concurrency",
        "2",
        name="serve-again",
        home=stopped_mid_run.home,
    )
    try:
        # Any message the cold shutdown restored to the queue is consumed and skipped.
        restored = "Restoring 1 unacknowledged message" in stopped_mid_run.log
        if restored:
            wait_until(
                lambda: "'skipped'" in server.log() or "not PENDING any more" in server.log(),
                30,
                "the restored message was never consumed",
            )
        execution = server.api.execution(stopped_mid_run.execution_id)
        assert execution["status"] == before["status"]
        assert execution["failure_reason"] == before["failure_reason"]
        assert not stopped_mid_run.pid_file.exists(), "the interrupted script ran again"
    finally:
        server.api.close()
        server.process.stop()
