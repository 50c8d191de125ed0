"""Isolation on a real ``serve``: a script aims at the server and its secrets, and misses.

As root with bubblewrap (``make sandbox-deps``; CI runs as root), runs get the run user and
namespaces of their own. Elsewhere these tests are skipped, and say why.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from scriptdeck.runner.sandbox import find_bwrap

from .harness import SANDBOXED, ProcessStack, Server, start_serve, write_scripts

# CI runs as root after make sandbox-deps: there these run, and fail rather than skip.
pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and (os.geteuid() != 0 or find_bwrap() is None),
    reason="needs root and a usable bubblewrap (make sandbox-deps)",
)

ESCAPE_TAG = f"scriptdeck-escape-{secrets.token_hex(6)}"

# What an attack script uses to try things: each attempt's outcome, by name, in ``seen``.
ATTEMPTS = """
seen = {}


def attempt(name, action):
    try:
        action()
        seen[name] = "succeeded"
    except OSError as exc:
        seen[name] = f"refused: {exc.strerror}"


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def write(path):
    with open(path, "w") as handle:
        handle.write("planted")
"""

ATTACK = (
    """\
import json, os

p = json.loads(os.environ["SCRIPT_PARAMETERS"])
"""
    + ATTEMPTS
    + """


for pid in p["server_pids"]:
    attempt(f"read /proc/{pid}/environ", lambda: read(f"/proc/{pid}/environ"))
    attempt(f"signal {pid}", lambda: os.kill(pid, 0))
attempt("read the parent's environ", lambda: read(f"/proc/{os.getppid()}/environ"))
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != os.getpid():
        attempt(f"read /proc/{entry}/environ", lambda: read(f"/proc/{entry}/environ"))
attempt("read the secret key", lambda: read(p["home"] + "/secret_key"))
attempt("read the database", lambda: read(p["home"] + "/scriptdeck.sqlite3"))
seen["the home holds"] = sorted(os.listdir(p["home"]))
attempt("write into the scripts folder", lambda: write(p["scripts"] + "/planted.py"))
write(os.environ["SCRIPT_OUTPUT_DIR"] + "/report.txt")
print(json.dumps({"seen": seen, "uid": os.getuid()}))
"""
)

ESCAPE = """\
import subprocess

# The sleeper's own cmdline carries the tag ($0 of its shell), so a scan of /proc finds it.
subprocess.run("( setsid env -i sh -c 'sleep 3; echo fired > MARKER' TAG & ) &", shell=True)
print('{"escaped": "maybe"}')
"""


NET = """\
import json, os, socket

port = json.loads(os.environ["SCRIPT_PARAMETERS"])["port"]
try:
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        reached = "connected"
except OSError as exc:
    reached = f"could not connect: {exc.strerror or exc}"
print(json.dumps({"reached": reached}))
"""


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("sandbox")
    scripts = write_scripts(base / "scripts", {"attack.py": ATTACK, "net.py": NET})
    stack = ProcessStack(base)
    try:
        server = start_serve(
            stack, scripts, "--concurrency", "2", home=base / "home", env=SANDBOXED
        )
        yield server
        server.api.close()
    finally:
        stack.close()


def server_pids(server: Server) -> list[int]:
    workers = server.api.get("/api/workers/").json()
    pids = {w["pid"] for w in workers if w.get("pid")} | {server.process.pid}
    pids |= {child.pid for child in psutil.Process(server.process.pid).children(recursive=True)}
    return sorted(pids)


def test_every_attempt_on_the_server_fails_and_the_runs_own_work_succeeds(sandboxed: Server):
    api = sandboxed.api
    pids = server_pids(sandboxed)
    submitted = api.submit(
        "attack",
        {
            "server_pids": pids,
            "home": str(sandboxed.home),
            "scripts": str(sandboxed.scripts_dir),
        },
    )
    execution = api.wait(submitted["id"])
    assert execution["status"] == "SUCCESS", execution
    seen = execution["result"]["seen"]
    # Only the run's own folder is there, on an empty tmpfs over the home.
    assert seen.pop("the home holds") == ["runs"]
    succeeded = [name for name, what in seen.items() if what == "succeeded"]
    assert succeeded == [], seen
    for pid in pids:
        assert seen[f"signal {pid}"] in (
            "refused: No such process",
            "refused: Operation not permitted",
        )
    assert execution["result"]["uid"] != 0
    assert not (sandboxed.scripts_dir / "planted.py").exists()
    assert execution["details"]["sandbox"] == {
        "user": "scriptdeck-run",
        "namespaces": ["mount", "pid", "ipc"],
        "network": True,
    }
    artifacts = api.get(f"/api/executions/{submitted['id']}/artifacts/").json()
    names = [a["name"] for a in artifacts]
    assert "report.txt" in names


def test_healthz_says_which_isolation_runs_get(sandboxed: Server):
    health = sandboxed.api.health()
    assert health is not None
    assert health[1]["sandbox"]["user"] == "scriptdeck-run"
    assert health[1]["sandbox"]["namespaces"] == ["mount", "pid", "ipc"]


def test_a_double_setsid_escape_leaves_nothing_alive(sandboxed: Server, tmp_path: Path):
    marker_dir = tmp_path / "marker"
    marker_dir.mkdir()
    marker_dir.chmod(0o777)
    marker = marker_dir / "fired"
    (sandboxed.scripts_dir / "escape.py").write_text(
        ESCAPE.replace("MARKER", str(marker)).replace("TAG", ESCAPE_TAG), encoding="utf-8"
    )
    api = sandboxed.api
    deadline = time.monotonic() + 30
    while True:  # the folder's watch registers the new file
        if api.get("/api/scripts/", params={"name": "escape"}).json()["results"]:
            break
        assert time.monotonic() < deadline, "escape.py was never registered"
        time.sleep(0.2)
    execution = api.wait(api.submit("escape")["id"])
    assert execution["status"] == "SUCCESS", execution
    escaped = [
        p
        for p in psutil.process_iter(["cmdline"])
        if ESCAPE_TAG in " ".join(p.info["cmdline"] or [])
    ]
    assert escaped == [], escaped
    zombies = [
        child
        for child in psutil.Process(sandboxed.process.pid).children(recursive=True)
        if child.status() == psutil.STATUS_ZOMBIE
    ]
    assert zombies == [], zombies
    time.sleep(3.5)  # past the sleeper's own 3 s: had it lived, it would have fired by now
    assert not marker.exists()
    shutil.rmtree(marker_dir, ignore_errors=True)


def test_a_script_without_the_network_reaches_nothing_and_with_it_reaches_the_host(
    sandboxed: Server,
):
    api = sandboxed.api
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0)
        port = listener.getsockname()[1]

        assert api.set_script("net", network=False)["network"] is False
        cut = api.wait(api.submit("net", {"port": port})["id"])
        assert cut["status"] == "SUCCESS", cut
        assert cut["result"]["reached"].startswith("could not connect"), cut["result"]
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing came in
        assert cut["details"]["sandbox"] == {
            "user": "scriptdeck-run",
            "namespaces": ["mount", "pid", "ipc", "network"],
            "network": False,
        }

        assert api.set_script("net", network=True)["network"] is True
        open_ = api.wait(api.submit("net", {"port": port})["id"])
        assert open_["status"] == "SUCCESS", open_
        assert open_["result"]["reached"] == "connected", open_["result"]
        listener.settimeout(5)
        connection, _ = listener.accept()
        connection.close()
        assert open_["details"]["sandbox"]["network"] is True
