"""Live executions against a real server: SSE latency and resume, cancel, limits, big output."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from .harness import ProcessStack, Server, start_serve, wait_until, write_scripts

TICKER = """\
import time
for i in range(30):
    print(f"line {i} {time.time():.6f}", flush=True)
    time.sleep(0.1)
print('{"lines": 30}')
"""

STUBBORN = """\
import os, signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(120)"])
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubborn.pids"), "w").write(
    f"{os.getpid()} {child.pid}")
print("partial output", flush=True)
time.sleep(120)
"""

ONE_SECOND = """\
import time
time.sleep(1)
print('{"slept": 1}')
"""

FLOOD = """\
import sys
line = b"z" * 1023 + b"\\n"
out = sys.stdout.buffer
for _ in range(50 * 1024):
    out.write(line)
out.write(b"DONE\\n")
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("live")
    stack = ProcessStack(base)
    scripts = write_scripts(
        base / "scripts",
        {
            "ticker.py": TICKER,
            "stubborn.py": STUBBORN,
            "one_second.py": ONE_SECOND,
            "flood.py": FLOOD,
        },
    )
    try:
        server = start_serve(
            stack,
            scripts,
            "--concurrency",
            "4",
            env={"SCRIPTDECK_OUTPUT_LIMIT": str(4 * 1024 * 1024)},
        )
        yield server
    finally:
        stack.close()


def read_events(
    server: Server,
    execution_id: int,
    last_event_id: int | None = None,
    stop_after: int | None = None,
) -> Iterator[tuple[str, str | None, Any, float]]:
    """(event, id, data, arrival time) from the SSE endpoint, as a browser's EventSource sees."""
    headers = {"Authorization": f"Token {server.api.token}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    url = f"{server.api.base_url}/api/executions/{execution_id}/events/"
    count = 0
    with httpx.stream("GET", url, headers=headers, timeout=30.0) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        event, event_id, data = "message", None, []
        for line in response.iter_lines():
            if line == "":
                if data:
                    yield event, event_id, json.loads("\n".join(data)), time.time()
                    count += 1
                    if stop_after is not None and count >= stop_after:
                        return
                event, event_id, data = "message", None, []
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())


def test_sse_delivers_each_line_within_a_second_in_order_and_resumes_without_loss(live: Server):
    execution = live.api.submit("ticker")
    lines: list[tuple[int, str, float, float]] = []  # (seq, text, printed at, received at)
    for event, _, data, received in read_events(live, execution["id"]):
        if event == "output" and data["stream"] == "stdout":
            for text in data["text"].splitlines():
                if text.startswith("line "):
                    lines.append((data["seq"], text, float(text.split()[2]), received))
            if len(lines) >= 10:
                break
    assert [text.split()[1] for _, text, _, _ in lines[:10]] == [str(i) for i in range(10)]
    lags = [received - printed for _, _, printed, received in lines]
    assert max(lags) < 1.0, lags
    # Reconnect from the last event id seen: the rest arrives, nothing twice, nothing missed.
    last_seq = lines[-1][0]
    rest: list[str] = []
    seqs: list[int] = []
    ended = None
    for event, event_id, data, _ in read_events(live, execution["id"], last_event_id=last_seq):
        if event == "output":
            seqs.append(data["seq"])
            assert int(event_id) == data["seq"]
            rest.extend(t for t in data["text"].splitlines() if t.startswith("line "))
        if event == "end":
            ended = data
            break
    assert all(seq > last_seq for seq in seqs)
    assert seqs == sorted(seqs)
    numbers = [int(t.split()[1]) for _, t, _, _ in lines] + [int(t.split()[1]) for t in rest]
    assert numbers == list(range(30))
    assert ended is not None and ended["status"] == "SUCCESS"


def test_a_finished_execution_replays_everything_and_closes(live: Server):
    execution = live.api.submit("ticker")
    live.api.wait(execution["id"])
    events = list(read_events(live, execution["id"]))
    kinds = [event for event, *_ in events]
    assert kinds[0] == "status" and kinds[-1] == "end"
    text = "".join(d["text"] for e, _, d, _ in events if e == "output")
    assert [line.split()[1] for line in text.splitlines() if line.startswith("line ")] == [
        str(i) for i in range(30)
    ]
    assert "sample" in kinds


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_cancel_stops_a_tree_that_ignores_sigterm_and_keeps_the_partial_output(live: Server):
    execution = live.api.submit("stubborn")
    pids_file = Path(live.scripts_dir) / "stubborn.pids"
    wait_until(lambda: pids_file.exists() and pids_file.read_text(), 20, "the script never started")
    wait_until(
        lambda: (
            "partial output"
            in "".join(
                c["text"]
                for c in live.api.get(f"/api/executions/{execution['id']}/output/").json()["chunks"]
            )
        ),
        10,
        "no output stored",
    )
    pids = [int(p) for p in pids_file.read_text().split()]
    began = time.monotonic()
    answer = live.api.post(f"/api/executions/{execution['id']}/cancel/")
    assert answer.status_code == 202, answer.text
    ended = live.api.wait(execution["id"], timeout=10)
    took = time.monotonic() - began
    pids_file.unlink()
    assert ended["status"] == "CANCELLED"
    assert took < 5, took
    assert ended["cancelled_by"] == "sysadmin"
    assert "partial output" in ended["stdout"]
    assert ended["failure_reason"] == "cancelled"
    assert "SIGKILL" in ended["error_message"]
    wait_until(lambda: all(_gone(pid) for pid in pids), 5, f"processes {pids} survived")
    again = live.api.post(f"/api/executions/{execution['id']}/cancel/")
    assert again.status_code == 409


def test_a_concurrency_limit_of_two_holds_under_a_burst_and_keeps_submission_order(
    live: Server,
):
    live.api.set_script("one_second", max_concurrent=2)
    try:
        submitted = [live.api.submit("one_second")["id"] for _ in range(6)]
        waiting = [live.api.execution(i) for i in submitted]
        assert any(e["queue_position"] for e in waiting if e["status"] == "PENDING")
        ended = [live.api.wait(i, timeout=60) for i in submitted]
    finally:
        live.api.set_script("one_second", max_concurrent=None)
    assert [e["status"] for e in ended] == ["SUCCESS"] * 6
    spans = [
        (datetime.fromisoformat(e["started_at"]), datetime.fromisoformat(e["completed_at"]))
        for e in ended
    ]
    starts = [start for start, _ in spans]
    assert starts == sorted(starts), "runs did not start in submission order"
    for start, _ in spans:
        running = sum(1 for s, c in spans if s <= start < c)
        assert running <= 2, f"{running} runs at once at {start}"


def test_fifty_megabytes_of_output_are_stored_bounded_while_the_server_stays_responsive(
    live: Server,
):
    execution = live.api.submit("flood")
    latencies: list[float] = []
    worker_rss: list[int] = []
    done = threading.Event()

    def watch_health() -> None:
        with httpx.Client(base_url=live.api.base_url, timeout=5.0) as client:
            while not done.is_set():
                began = time.monotonic()
                assert client.get("/healthz").status_code == 200
                latencies.append(time.monotonic() - began)
                time.sleep(0.05)

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    try:
        while True:
            current = live.api.execution(execution["id"])
            if current.get("worker_pid"):
                try:
                    worker_rss.append(psutil.Process(current["worker_pid"]).memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
            if current["status"] in ("SUCCESS", "FAILURE", "CANCELLED"):
                break
            time.sleep(0.1)
    finally:
        done.set()
        watcher.join()
    assert current["status"] == "SUCCESS", current["error_message"]
    assert current["stdout_bytes"] == 50 * 1024 * 1024 + 5
    assert current["stdout_dropped"] > 0
    assert current["stdout"].endswith("DONE\n")
    chunks = []
    after = 0
    while True:
        page = live.api.get(
            f"/api/executions/{execution['id']}/output/", params={"after": after}
        ).json()
        chunks.extend(page["chunks"])
        after = page["last_seq"]
        if page["finished"]:
            break
    stored = sum(c["raw_bytes"] for c in chunks)
    assert stored <= 4 * 1024 * 1024 + 2 * 65536, stored
    assert chunks[-1]["text"].endswith("DONE\n")
    assert latencies, "the health check never answered"
    assert statistics.median(latencies) < 0.1, latencies
    assert worker_rss, "the worker process was never observed"
    assert max(worker_rss) < 300 * 1024 * 1024, max(worker_rss)
