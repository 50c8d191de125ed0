"""Baseline (b): the source document's design, reduced to its essence.

A Celery task runs the script with ``subprocess.run([...], capture_output=True,
timeout=540)`` and parses its stdout as JSON; the result goes to the Redis result
backend, and the client polls ``AsyncResult`` (every 2 s as the source's page did, or
every 50 ms to isolate the backend). No database, no output streaming, no sampling.

The worker is a real ``celery worker`` process:
``BENCH_SOURCE_BROKER=redis://... celery -A source_app worker --pool=prefork``
with ``bench/`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from celery import Celery

BROKER = os.environ.get("BENCH_SOURCE_BROKER", "redis://127.0.0.1:6379/14")

app = Celery("source_app", broker=BROKER, backend=BROKER)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_default_queue="bench_source",
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    result_expires=3600,
)


@app.task(name="bench_source.execute_script")
def execute_script(path: str, parameters: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "SCRIPT_PARAMETERS": json.dumps(parameters)}
    completed = subprocess.run(
        [sys.executable, path], capture_output=True, timeout=540, env=env, cwd=os.path.dirname(path)
    )
    try:
        result = json.loads(completed.stdout)
    except json.JSONDecodeError:
        result = {"type": "text", "content": completed.stdout.decode(errors="replace")}
    return {"success": completed.returncode == 0, "result": result}


def wait(result: Any, interval: float, timeout: float = 600.0) -> Any:
    """The source page's loop: ask whether the task is ready every ``interval`` seconds."""
    deadline = time.monotonic() + timeout
    while not result.ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"task {result.id} not ready after {timeout:g} s")
        time.sleep(interval)
    return result.get(timeout=10)
