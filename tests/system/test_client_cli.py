"""The client commands (``scriptdeck run``, ``ls``, ``logs``, ``cancel``, ``login``) against a
real ``scriptdeck serve``, each one a separate process, as a terminal user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    SCRIPTDECK,
    ProcessStack,
    Server,
    free_port,
    start_serve,
    wait_until,
    write_scripts,
)

# Prints a line, then waits for the test to create the gate file: the test sees the first
# line while the script provably still runs.
STREAMER = """\
\"\"\"Print three lines; the second waits for a gate file.\"\"\"
import json
import os
import pathlib
import time

gate = pathlib.Path(json.loads(os.environ["SCRIPT_PARAMETERS"])["gate"])
print("line one", flush=True)
deadline = time.time() + 30
while not gate.exists() and time.time() < deadline:
    time.sleep(0.02)
print("line two", flush=True)
time.sleep(0.05)
print("line three", flush=True)
result = {"gate_seen": gate.exists(), "lines": 3}
pathlib.Path(os.environ["SCRIPT_RESULT_FILE"]).write_text(json.dumps(result))
"""

FAILING = """\
import sys

print("working on it", flush=True)
print("boom: the disk is on fire", file=sys.stderr, flush=True)
sys.exit(3)
"""

TYPED = """\
\"\"\"Echo typed parameters.\"\"\"
import json
import os

PARAMETERS = {
    "retries": {"type": "integer", "minimum": 0, "required": True},
    "tags": {"type": "array", "items": {"type": "string"}, "default": []},
    "note": {"type": "string", "default": ""},
}
print(json.dumps(json.loads(os.environ["SCRIPT_PARAMETERS"])))
"""

LONG = """\
import time

print("sleeping", flush=True)
time.sleep(60)
"""

RECORD_KEYS = {
    "id",
    "script_name",
    "status",
    "failure_reason",
    "error_message",
    "result",
    "exit_code",
    "signal",
    "execution_time",
    "memory_usage",
}
CLI_DEADLINE = 60.0
_SERVER_PREFIXES = ("SCRIPTDECK_", "CELERY_", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")


@dataclass
class Deck:
    server: Server
    base: Path

    def env(self, **extra: str) -> dict[str, str]:
        """A terminal user's environment: the URL and token, nothing of the server's
        (no SCRIPTDECK_HOME, no settings), and a config file that does not exist."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SERVER_PREFIXES)}
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "SCRIPTDECK_URL": self.server.api.base_url,
                "SCRIPTDECK_TOKEN": self.server.api.token or "",
                "SCRIPTDECK_CLIENT_CONFIG": str(self.base / "no-such-config.json"),
            }
        )
        env.update(extra)
        return {k: v for k, v in env.items() if v != ""}


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deck]:
    base = tmp_path_factory.mktemp("client")
    scripts = write_scripts(
        base / "scripts",
        {
            "streamer.py": STREAMER,
            "failing.py": FAILING,
            "typed.py": TYPED,
            "long.py": LONG,
        },
    )
    stack = ProcessStack(base)
    try:
        server = start_serve(stack, scripts, "--concurrency", "4")
        yield Deck(server, base)
        server.api.close()
    finally:
        stack.close()


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRIPTDECK, *args],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_DEADLINE,
    )


class Live:
    """A client process whose stdout and stderr are read line by line as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.popen = subprocess.Popen(
            [SCRIPTDECK, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.popen.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.popen.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line)

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        wait_until(
            lambda: any(text in line for line in self.stdout) or self.popen.poll() is not None,
            timeout,
            f"{text!r} never appeared on the client's stdout",
        )
        assert any(text in line for line in self.stdout), (self.stdout, self.stderr)

    def finish(self, timeout: float = 30.0) -> int:
        code = self.popen.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)


def submitted_id(stderr: str) -> int:
    found = re.search(r"execution (\d+) of \S+ submitted", stderr)
    assert found, stderr
    return int(found.group(1))


# --- run --------------------------------------------------------------------------------------


def test_run_streams_the_output_while_the_script_runs_then_the_result_and_exits_0(
    deck: Deck, tmp_path: Path
):
    gate = tmp_path / "gate"
    live = Live(deck.env(), "run", "streamer", "-p", f"gate={gate}")
    try:
        live.wait_for("line one")
        # The script cannot end before the gate exists: this line came while it ran.
        assert not gate.exists()
        assert not any("line two" in line for line in live.stdout)
        wait_until(lambda: "submitted" in "".join(live.stderr), 10, "no submission note")
        execution_id = submitted_id("".join(live.stderr))
        assert deck.server.api.execution(execution_id)["status"] == "STARTED"
        gate.touch()
        code = live.finish()
    finally:
        live.kill()

    out, err = "".join(live.stdout), "".join(live.stderr)
    assert code == 0, (out, err)
    assert out.index("line one") < out.index("line two") < out.index("line three"), out
    assert '"gate_seen": true' in out and '"lines": 3' in out, out
    assert f"execution {execution_id} SUCCESS" in err, err

    logs = cli(deck.env(), "logs", str(execution_id))
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == "line one\nline two\nline three\n"
    as_json = json.loads(cli(deck.env(), "logs", str(execution_id), "--json").stdout)
    # Chunks are cut where the pipe reads were, not at line ends.
    assert "".join(c["text"] for c in as_json["chunks"]) == "line one\nline two\nline three\n"
    assert {c["stream"] for c in as_json["chunks"]} == {"stdout"}
    assert as_json["finished"] is True


def test_a_failing_run_exits_1_with_the_scripts_stderr_on_stderr(deck: Deck):
    result = cli(deck.env(), "run", "failing")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "working on it" in result.stdout
    assert "boom: the disk is on fire" in result.stderr
    assert "FAILURE" in result.stderr and "exit 3" in result.stderr


def test_json_prints_one_record_and_parameters_are_parsed_as_json_or_read_from_files(
    deck: Deck, tmp_path: Path
):
    note = tmp_path / "note.txt"
    note.write_text("two\nlines\n", encoding="utf-8")
    result = cli(
        deck.env(),
        *("run", "typed", "--json"),
        *("-p", "retries=3", "-p", 'tags=["a","b"]', "-p", f"note=@{note}"),
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    record = json.loads(result.stdout)
    assert set(record) == RECORD_KEYS
    assert record["status"] == "SUCCESS" and record["exit_code"] == 0
    assert record["script_name"] == "typed"
    assert record["result"]["retries"] == 3
    assert record["result"]["tags"] == ["a", "b"]
    assert record["result"]["note"] == "two\nlines\n"

    status = cli(deck.env(), "status", str(record["id"]))
    assert status.returncode == 0, status.stderr
    assert "SUCCESS" in status.stdout and '"retries": 3' in status.stdout


def test_a_refused_parameter_or_an_unknown_script_exits_2_and_says_why(deck: Deck):
    before = deck.server.api.execution_count()
    bad = cli(deck.env(), "run", "typed", "-p", "retries=lots")
    assert bad.returncode == 2, (bad.stdout, bad.stderr)
    assert "retries:" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr

    unknown = cli(deck.env(), "run", "no_such_script")
    assert unknown.returncode == 2
    assert "no such script 'no_such_script'" in unknown.stderr
    assert deck.server.api.execution_count() == before


# --- ls, cancel, logs --follow ------------------------------------------------------------------


def test_ls_lists_the_scripts_with_level_parameters_and_description(deck: Deck):
    result = cli(deck.env(), "ls")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "LEVEL", "PARAMETERS", "DESCRIPTION"]
    typed = next(line for line in lines if line.startswith("typed "))
    assert "manage" in typed
    assert "retries*, tags, note" in typed
    assert typed.endswith("Echo typed parameters.")
    raw = json.loads(cli(deck.env(), "ls", "--json").stdout)
    assert {"streamer", "failing", "typed", "long"} <= {s["name"] for s in raw}


def test_cancel_stops_a_running_script_and_logs_follow_exits_1_saying_cancelled(deck: Deck):
    api = deck.server.api
    submitted = cli(deck.env(), "run", "long", "--no-follow")
    assert submitted.returncode == 0, submitted.stderr
    execution_id = int(submitted.stdout)
    wait_until(
        lambda: api.get(f"/api/executions/{execution_id}/output/").json()["chunks"],
        30,
        "the long script never printed",
    )

    cancel = cli(deck.env(), "cancel", str(execution_id))
    assert cancel.returncode == 0, cancel.stderr
    assert "CANCELLED" in cancel.stdout

    logs = cli(deck.env(), "logs", str(execution_id), "--follow")
    assert logs.returncode == 1, (logs.stdout, logs.stderr)
    assert logs.stdout.startswith("sleeping\n")
    assert f"execution {execution_id} CANCELLED" in logs.stderr

    again = cli(deck.env(), "cancel", str(execution_id))
    assert again.returncode == 1
    assert "not cancelled" in again.stderr


def test_ctrl_c_while_following_cancels_the_execution_and_waits_for_its_end(deck: Deck):
    live = Live(deck.env(), "run", "long")
    try:
        live.wait_for("sleeping")
        live.popen.send_signal(signal.SIGINT)
        code = live.finish()
    finally:
        live.kill()
    err = "".join(live.stderr)
    assert code == 1, err
    assert "cancelling execution" in err
    execution_id = submitted_id(err)
    assert f"execution {execution_id} CANCELLED" in err
    assert deck.server.api.execution(execution_id)["status"] == "CANCELLED"


def test_timeout_stops_waiting_with_124_and_the_execution_goes_on(deck: Deck):
    api = deck.server.api
    result = cli(deck.env(), "run", "long", "--timeout", "1")
    assert result.returncode == 124, (result.stdout, result.stderr)
    execution_id = submitted_id(result.stderr)
    assert f"scriptdeck logs {execution_id} --follow" in result.stderr
    assert api.execution(execution_id)["status"] in ("PENDING", "STARTED")
    assert cli(deck.env(), "cancel", str(execution_id)).returncode == 0
    assert api.wait(execution_id)["status"] == "CANCELLED"


# --- configuration ------------------------------------------------------------------------------


def test_without_a_token_the_message_says_how_to_sign_in(deck: Deck):
    result = cli(deck.env(SCRIPTDECK_TOKEN=""), "run", "typed", "-p", "retries=1")
    assert result.returncode == 2
    assert "scriptdeck login --url" in result.stderr
    assert "SCRIPTDECK_TOKEN" in result.stderr


def test_the_client_commands_do_not_load_django(deck: Deck):
    probe = (
        "import sys\n"
        "from scriptdeck.cli import main\n"
        "code = main(['ls'])\n"
        "sys.exit(99 if 'django' in sys.modules else code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=deck.env(),
        capture_output=True,
        text=True,
        timeout=CLI_DEADLINE,
    )
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert "typed" in result.stdout


def test_login_saves_a_private_config_file_that_the_commands_then_use(deck: Deck, tmp_path: Path):
    config = tmp_path / "config" / "client.json"
    env = deck.env(SCRIPTDECK_URL="", SCRIPTDECK_TOKEN="", SCRIPTDECK_CLIENT_CONFIG=str(config))
    url = deck.server.api.base_url
    login = cli(
        env,
        *("login", "--url", url, "--username", ADMIN_USER, "--password-stdin"),
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert login.returncode == 0, login.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["url"] == url and saved["token"]

    listing = cli(env, "ls")
    assert listing.returncode == 0, listing.stderr
    assert "typed" in listing.stdout

    wrong = cli(
        env,
        *("login", "--url", url, "--username", ADMIN_USER, "--password-stdin"),
        stdin="not the password\n",
    )
    assert wrong.returncode == 2
    assert "wrong" in wrong.stderr
    assert json.loads(config.read_text()) == saved


def test_an_unreachable_server_is_exit_3_with_the_url_named(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SERVER_PREFIXES)}
    env.update(
        SCRIPTDECK_URL=url,
        SCRIPTDECK_TOKEN="any",
        SCRIPTDECK_CLIENT_CONFIG=str(tmp_path / "none.json"),
    )
    began = time.monotonic()
    result = cli(env, "ls")
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert f"cannot reach the server at {url}" in result.stderr
    assert time.monotonic() - began < 30
