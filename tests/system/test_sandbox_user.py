"""The user switch without bubblewrap, on a real ``serve`` as root (``SCRIPTDECK_SANDBOX=user``).

Runs pass through the real ``SCRIPTDECK_HOME`` to their folder and to the dependency
environments: they reach those, and nothing else of the server's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import ProcessStack, Server, start_serve, write_scripts
from .test_dependencies import USES_TOMLI_W
from .test_sandbox import ATTEMPTS

# CI runs as root after make sandbox-deps: there these run, and fail rather than skip.
pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and (os.geteuid() != 0), reason="needs root (runs switch user)"
)

HOLDER = """\
import json, os, time
run_dir = os.path.dirname(os.environ["SCRIPT_RESULT_FILE"])
with open(os.environ["SCRIPT_OUTPUT_DIR"] + "/held.txt", "w") as handle:
    handle.write("mine")
print(json.dumps({"run_dir": run_dir}), flush=True)
time.sleep(float(json.loads(os.environ["SCRIPT_PARAMETERS"]).get("sleep", 0)))
"""

ATTACK = (
    """\
import json, os, stat

p = json.loads(os.environ["SCRIPT_PARAMETERS"])
home = p["home"]
"""
    + ATTEMPTS
    + """

attempt("read the secret key", lambda: read(home + "/secret_key"))
for name in ("scriptdeck.sqlite3", "scriptdeck.sqlite3-wal", "scriptdeck.sqlite3-shm"):
    attempt(f"read {name}", lambda: read(home + "/" + name))
for folder in ("", "/runs", "/broker", "/broker/queue", "/media", "/static"):
    attempt(f"list {home}{folder}", lambda: os.listdir(home + folder))
attempt("read a finished run's file", lambda: read(p["finished"] + "/output/held.txt"))
attempt("make a folder in runs", lambda: os.mkdir(home + "/runs/planted"))
attempt("write into envs", lambda: write(home + "/envs/planted"))
run_dir = os.path.dirname(os.environ["SCRIPT_RESULT_FILE"])
mine = os.stat(run_dir)
write(os.environ["SCRIPT_OUTPUT_DIR"] + "/report.txt")
print(json.dumps({
    "seen": seen,
    "uid": os.getuid(),
    "run_dir": [mine.st_uid, stat.S_IMODE(mine.st_mode)],
}))
"""
)


@pytest.fixture(scope="module")
def user_only() -> Iterator[Server]:
    # Not pytest's tmp_path: its folders are 0700, which the run user could not pass.
    base = Path(tempfile.mkdtemp(prefix="scriptdeck-user-sandbox-"))
    base.chmod(0o755)
    scripts = write_scripts(
        base / "scripts",
        {"holder.py": HOLDER, "attack.py": ATTACK, "uses_tomli_w.py": USES_TOMLI_W},
    )
    stack = ProcessStack(base)
    try:
        server = start_serve(stack, scripts, home=base / "home", env={"SCRIPTDECK_SANDBOX": "user"})
        yield server
        server.api.close()
    finally:
        stack.close()
        shutil.rmtree(base, ignore_errors=True)


def test_a_run_reaches_its_own_folder_and_nothing_else_of_the_server(user_only: Server):
    api = user_only.api
    finished = api.wait(api.submit("holder")["id"])
    assert finished["status"] == "SUCCESS", finished
    execution = api.wait(
        api.submit(
            "attack", {"home": str(user_only.home), "finished": finished["result"]["run_dir"]}
        )["id"]
    )
    assert execution["status"] == "SUCCESS", execution
    result = execution["result"]
    seen = result["seen"]
    succeeded = [name for name, what in seen.items() if what == "succeeded"]
    assert succeeded == [], seen
    for name in ("read the secret key", "read scriptdeck.sqlite3", "list " + str(user_only.home)):
        assert seen[name] == "refused: Permission denied", seen
    assert result["uid"] != 0
    assert result["run_dir"] == [result["uid"], 0o700]
    assert execution["details"]["sandbox"] == {
        "user": "scriptdeck-run",
        "namespaces": [],
        "network": True,
    }
    names = [a["name"] for a in api.get(f"/api/executions/{execution['id']}/artifacts/").json()]
    assert "report.txt" in names
    assert not (user_only.home / "runs" / "planted").exists()
    assert not (user_only.home / "envs" / "planted").exists()


def test_a_script_with_dependencies_runs_as_the_run_user(user_only: Server):
    execution = user_only.api.wait(user_only.api.submit("uses_tomli_w")["id"], timeout=180)
    assert execution["status"] == "SUCCESS", execution
    assert execution["result"]["toml"] == "answer = 42\n"
    environment = user_only.home / "envs" / execution["details"]["dependencies"]["environment"]
    assert execution["result"]["prefix"] == str(environment)
    assert execution["details"]["sandbox"]["user"] == "scriptdeck-run"
