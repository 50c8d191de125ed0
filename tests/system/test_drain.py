"""Draining a worker: SIGTERM lets short runs finish, ends long ones after the grace."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from .harness import ProcessStack, start_serve, wait_until, write_scripts

SHORT = """\
import time
print("short started", flush=True)
time.sleep(2)
print('{"done": true}')
"""

LONG = """\
import time
print("long started", flush=True)
time.sleep(120)
"""


def test_sigterm_drains_a_worker_finishing_short_runs_and_ending_long_ones(
    stack: ProcessStack, tmp_path: Path
):
    scripts = write_scripts(tmp_path / "scripts", {"short.py": SHORT, "long.py": LONG})
    server = start_serve(stack, scripts, "--no-worker", worker=False)
    api = server.api
    api.set_script("long", rerun_on_worker_lost=True)
    worker = stack.spawn(
        "worker",
        ["worker", "--concurrency", "2", "--shutdown-grace", "4", "--hostname", "drain@test"],
        server.env,
    )
    api.wait_ready(worker="drain@test", alive=worker.alive)
    short = api.submit("short")["id"]
    long = api.submit("long")["id"]
    for execution_id in (short, long):
        api.wait_status(execution_id, ("STARTED",), timeout=30)
    wait_until(
        lambda: all(
            api.get(f"/api/executions/{i}/output/").json()["chunks"] for i in (short, long)
        ),
        15,
        "the scripts printed nothing",
    )
    began = time.monotonic()
    worker.popen.send_signal(signal.SIGTERM)
    worker.popen.wait(timeout=40)
    took = time.monotonic() - began
    finished = api.wait(short, timeout=5)
    ended = api.wait(long, timeout=5)
    assert finished["status"] == "SUCCESS", finished  # drained: allowed to finish
    assert (ended["status"], ended["failure_reason"]) == ("FAILURE", "worker_shutdown"), ended
    assert 4 <= took < 30, took
    rerun = api.execution(ended["retried_by"])
    assert (rerun["status"], rerun["attempt"], rerun["retry_of"]) == ("PENDING", 2, long)
