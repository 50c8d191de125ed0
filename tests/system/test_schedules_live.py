"""A schedule on a real ``scriptdeck serve``: its scheduler process fires it on time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from .harness import ProcessStack, Server, start_serve, wait_until, write_scripts

TICK = """\
import json, time
print(json.dumps({"at": time.time()}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("schedules")
    scripts = write_scripts(base / "scripts", {"tick.py": TICK})
    stack = ProcessStack(base)
    try:
        yield start_serve(stack, scripts, env={"SCRIPTDECK_SCHEDULER_INTERVAL": "0.2"})
    finally:
        stack.close()


def scheduled_runs(server: Server, schedule_id: int) -> list[dict]:
    page = server.api.get("/api/executions/", params={"page_size": 200}).json()
    runs = [
        r
        for r in page["results"]
        if r["trigger"] == "schedule" and r["trigger_ref"] == str(schedule_id)
    ]
    return sorted(runs, key=lambda r: r["id"])


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_schedule_every_two_seconds_fires_on_time(server: Server):
    script = server.api.script("tick")
    made = server.api.post(
        "/api/schedules/",
        json={"name": "every 2 s", "script": script["id"], "interval_seconds": 2},
    )
    assert made.status_code == 201, made.text
    schedule = made.json()
    first_due = parse(schedule["next_run_at"])

    runs = wait_until(
        lambda: (r := scheduled_runs(server, schedule["id"])) and len(r) >= 3 and r,
        20,
        "three scheduled runs never appeared",
    )
    created = [parse(r["created_at"]) for r in runs[:3]]
    for index, at in enumerate(created):
        due = first_due.timestamp() + 2 * index
        # Fired within the scheduler's pass interval (0.2 s) plus a loaded machine's slack.
        assert 0 <= at.timestamp() - due < 1.0, (index, at, due)
    for run in runs[:3]:
        assert server.api.wait(run["id"])["status"] == "SUCCESS"

    off = server.api.patch(f"/api/schedules/{schedule['id']}/", json={"enabled": False})
    assert off.status_code == 200 and off.json()["next_run_at"] is None
