"""The runner: environment contract, result rules, exit codes, limits, memory, output bounds.

Every test runs three times: started cold (a new interpreter, its launcher forked from the
worker's exec server), cold with a launcher process of its own, and warm (forked from the
worker's fork server), and must pass the same way each time.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from scriptdeck.compat import sdk_pythonpath
from scriptdeck.runner import (
    Reason,
    RunSpec,
    Sink,
    UnsupportedScript,
    build_environment,
    command_for,
    process_tree,
)
from scriptdeck.runner import run as run_cold_or_warm
from scriptdeck.runner import sandbox as sandboxing
from scriptdeck.runner.capture import HeadTailBuffer
from scriptdeck.runner.result import TEXT_OUTPUT_MESSAGE
from scriptdeck.runner.sandbox import Sandbox


def run(spec: RunSpec, sink: Sink | None = None):
    """``runner.run`` as the current mode starts scripts (see the ``start_mode`` fixture)."""
    return run_cold_or_warm(spec, sink)


def _sandbox() -> Sandbox | None:
    try:
        sandbox = sandboxing.build("auto", os.environ.get("SCRIPTDECK_RUN_AS", "scriptdeck-run"))
    except sandboxing.SandboxUnavailable:
        return None
    return sandbox if sandbox.bwrap else None


SANDBOX = _sandbox()
# Tests that look up, from outside, pids a script printed (see tests/system/test_sandbox.py).
PIDS_SEEN_INSIDE = {
    "test_soft_limit_ends_the_tree_including_a_grandchild_in_its_own_session",
    "test_processes_left_behind_after_a_normal_exit_are_ended",
    "test_a_run_that_leaves_nothing_is_cleaned_up_without_reading_every_process",
}


@pytest.fixture(params=["cold", "cold-launcher", "warm", "sandboxed"], autouse=True)
def start_mode(request, monkeypatch):
    """Run the whole suite four ways: cold through the worker's exec server, cold through a
    launcher process of its own (``exec_server=False``, and the exec server's fallback), warm,
    and sandboxed (bubblewrap, and another user when root: ``make sandbox-deps``). A run that
    quietly started another way is a failure."""
    mode = request.param
    if mode == "sandboxed":
        if SANDBOX is None:
            # CI installs both (make sandbox-deps): there the mode must run, not skip.
            missing = "no usable bubblewrap (or, as root, no scriptdeck-run user)"
            if os.environ.get("CI"):
                pytest.fail(f"{missing}: CI must run the sandboxed mode")
            pytest.skip(missing)
        if request.node.originalname in PIDS_SEEN_INSIDE:
            pytest.skip("the script's pids are its own namespace's; the namespace ends them")
        real_run = run_cold_or_warm

        def sandboxed_run(spec: RunSpec, sink: Sink | None = None):
            spec.sandbox = SANDBOX
            if os.path.isdir(spec.cwd):
                spec.run_dir = spec.cwd
                if SANDBOX.user is not None:  # the script's folder is its run directory here
                    os.chown(spec.cwd, SANDBOX.user.uid, SANDBOX.user.gid)
            outcome = real_run(spec, sink)
            if os.path.isdir(spec.cwd) and outcome.failure_reason != Reason.SPAWN_FAILED:
                assert outcome.details.get("start") == "cold", outcome.details
            return outcome

        monkeypatch.setattr(sys.modules[__name__], "run_cold_or_warm", sandboxed_run)
        return mode
    if mode.startswith("cold"):
        real_run = run_cold_or_warm
        through = "exec server" if mode == "cold" else "process"

        def cold_run(spec: RunSpec, sink: Sink | None = None):
            spec.exec_server = mode == "cold"
            outcome = real_run(spec, sink)
            if os.path.isdir(spec.cwd) and sys.platform.startswith("linux"):
                assert outcome.details.get("launcher") == through, outcome.details
            return outcome

        monkeypatch.setattr(sys.modules[__name__], "run_cold_or_warm", cold_run)
        return mode
    if mode == "warm":
        real_run = run_cold_or_warm

        def warm_run(spec: RunSpec, sink: Sink | None = None):
            spec.warm_start = True
            outcome = real_run(spec, sink)
            can_start_warm = (
                spec.argv[0] == sys.executable
                and len(spec.argv) > 1
                and spec.argv[1].endswith(".py")
                and os.path.isdir(spec.cwd)
            )
            if can_start_warm:
                assert outcome.details.get("start") == "warm", outcome.details
            return outcome

        monkeypatch.setattr(sys.modules[__name__], "run_cold_or_warm", warm_run)
    return mode


def make_script(tmp_path: Path, body: str, name: str = "job.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def spec_for(
    tmp_path: Path,
    script: Path,
    *,
    parameters: dict | None = None,
    base_env: dict | None = None,
    **limits,
) -> RunSpec:
    result_file = tmp_path / "result.json"
    env = build_environment(
        parameters=parameters or {},
        page_context="/scanDevUpdate",
        script_name=script.stem,
        execution_id="42",
        result_file=str(result_file),
        pythonpath=sdk_pythonpath(),
        base=base_env if base_env is not None else os.environ,
    )
    return RunSpec(
        argv=command_for(script),
        cwd=str(script.parent),
        env=env,
        script_name=script.stem,
        result_file=str(result_file),
        **limits,
    )


def run_script(tmp_path: Path, body: str, sink: Sink | None = None, **kwargs):
    script = make_script(tmp_path, body)
    return run(spec_for(tmp_path, script, **kwargs), sink)


# --- environment -------------------------------------------------------------------------


def test_script_sees_the_source_variables_and_none_of_the_servers(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVER_SECRET", "s3cr3t")
    monkeypatch.setenv("LC_TIME", "C.UTF-8")
    outcome = run_script(
        tmp_path,
        """
        import json, os
        print(json.dumps({"env": dict(os.environ), "cwd": os.getcwd(),
                          "stdin": os.read(0, 10).decode()}))
        """,
        parameters={"目标": "全部", "n": 3},
    )
    assert outcome.succeeded, outcome.error_message
    env = outcome.result["env"]
    assert "SERVER_SECRET" not in env
    assert json.loads(env["SCRIPT_PARAMETERS"]) == {"目标": "全部", "n": 3}
    assert "全部" in env["SCRIPT_PARAMETERS"]  # not ASCII-escaped
    assert env["PAGE_CONTEXT"] == "/scanDevUpdate"
    assert env["SCRIPT_NAME"] == "job"
    assert env["EXECUTION_ID"] == "42"
    assert env["SCRIPT_RESULT_FILE"] == str(tmp_path / "result.json")
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONPATH"] == sdk_pythonpath()
    assert env["LC_TIME"] == "C.UTF-8"
    allowed = {"PATH", "HOME", "LANG", "TZ", "PYTHONUNBUFFERED", "PYTHONIOENCODING", "PYTHONPATH"}
    source = {
        "SCRIPT_PARAMETERS",
        "PAGE_CONTEXT",
        "SCRIPT_NAME",
        "EXECUTION_ID",
        "SCRIPT_RESULT_FILE",
    }
    extra = {k for k in env if not k.startswith("LC_")} - allowed - source
    assert extra == {"SCRIPTDECK_RUN_MARKER"}
    assert outcome.result["cwd"] == str(tmp_path)
    assert outcome.result["stdin"] == ""


def test_both_sdk_import_paths_work_in_the_child(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        from celery_app.script_base import ScriptBase, create_simple_script
        import scriptdeck.sdk as sdk

        assert sdk.ScriptBase is ScriptBase

        def main_logic(script):
            return script.success_result("done", {"target": script.get_parameter("target")})

        create_simple_script("job", main_logic)
        """,
        parameters={"target": "all"},
    )
    assert outcome.succeeded, outcome.error_message
    assert outcome.result["data"] == {"target": "all"}
    assert outcome.result["metadata"]["method"] == "subprocess_execution"
    assert outcome.result_source == "file"


# --- result rules ------------------------------------------------------------------------


def test_json_stdout_is_the_result_with_defaults_added(tmp_path):
    outcome = run_script(tmp_path, "print('{\"count\": 3}')")
    assert outcome.succeeded
    assert outcome.result["count"] == 3
    assert outcome.result["script_name"] == "job"
    assert outcome.result["status"] == "success"
    assert "execution_time" in outcome.result
    assert outcome.result_source == "stdout"


def test_text_stdout_becomes_a_text_result(tmp_path):
    outcome = run_script(tmp_path, "import sys\nprint('hello')\nprint('warn', file=sys.stderr)")
    assert outcome.succeeded
    assert outcome.result["type"] == "text"
    assert outcome.result["content"] == "hello\n"
    assert outcome.result["stderr"] == "warn\n"
    assert outcome.result["message"] == TEXT_OUTPUT_MESSAGE


def test_a_list_result_gets_no_defaults(tmp_path):
    outcome = run_script(tmp_path, "print('[1, 2]')")
    assert outcome.succeeded
    assert outcome.result == [1, 2]


def test_result_file_wins_over_stdout_so_scripts_may_log_freely(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        import json, os
        print("step 1 of 2")
        with open(os.environ["SCRIPT_RESULT_FILE"], "w") as f:
            json.dump({"rows": [1, 2]}, f)
        print("step 2 of 2")
        """,
    )
    assert outcome.succeeded
    assert outcome.result["rows"] == [1, 2]
    assert outcome.result_source == "file"
    assert "step 2 of 2" in outcome.stdout


def test_an_invalid_result_file_is_a_failure_that_says_so(tmp_path):
    outcome = run_script(
        tmp_path,
        "import os\nopen(os.environ['SCRIPT_RESULT_FILE'], 'w').write('{not json')",
    )
    assert not outcome.succeeded
    assert outcome.failure_reason == Reason.RESULT_INVALID
    assert "SCRIPT_RESULT_FILE" in outcome.error_message


def test_an_error_status_in_the_result_is_a_failure_with_the_result_kept(tmp_path):
    outcome = run_script(tmp_path, 'print(\'{"status": "error", "message": "disk full"}\')')
    assert not outcome.succeeded
    assert outcome.failure_reason == Reason.SCRIPT_ERROR
    assert outcome.error_message == "disk full"
    assert outcome.result["message"] == "disk full"


def test_create_simple_script_error_is_script_error_with_exit_code(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        from celery_app.script_base import create_simple_script

        def main_logic(script):
            raise FileNotFoundError("文件不存在")

        create_simple_script("scanner_file", main_logic)
        """,
    )
    assert not outcome.succeeded
    assert outcome.exit_code == 1
    assert outcome.failure_reason == Reason.SCRIPT_ERROR
    assert outcome.result["message"] == "scanner_file执行出错: 文件不存在"
    assert outcome.result["error_type"] == "FileNotFoundError"
    assert "exit code 1" in outcome.error_message


# --- exit codes and signals --------------------------------------------------------------


def test_non_zero_exit_carries_the_code_and_the_tails(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        import sys
        print("partial work")
        print("Traceback: boom", file=sys.stderr)
        sys.exit(3)
        """,
    )
    assert not outcome.succeeded
    assert outcome.failure_reason == Reason.EXIT_CODE
    assert outcome.exit_code == 3
    assert "code 3" in outcome.error_message
    assert "Traceback: boom" in outcome.error_message
    assert "partial work" in outcome.error_message
    assert outcome.result is None


def test_a_script_killed_by_a_signal_names_it(tmp_path):
    outcome = run_script(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert not outcome.succeeded
    assert outcome.failure_reason == Reason.SIGNAL
    assert outcome.signal == 9
    assert outcome.exit_code is None
    assert "SIGKILL" in outcome.error_message


def test_a_missing_interpreter_is_a_spawn_failure(tmp_path):
    script = make_script(tmp_path, "print(1)")
    spec = spec_for(tmp_path, script)
    spec.argv = ["/nonexistent/python3", str(script)]
    outcome = run(spec)
    assert outcome.failure_reason == Reason.SPAWN_FAILED
    assert "/nonexistent/python3" in outcome.error_message


def test_shell_scripts_run_with_bash(tmp_path):
    script = make_script(tmp_path, 'printf \'{"shell": "%s"}\' "$SCRIPT_NAME"\n', "hello.sh")
    outcome = run(spec_for(tmp_path, script))
    assert outcome.succeeded, outcome.error_message
    assert outcome.result["shell"] == "hello"


def test_unknown_file_types_are_refused(tmp_path):
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    with pytest.raises(UnsupportedScript, match="unsupported script type"):
        command_for(plain)
    runnable = tmp_path / "tool"
    runnable.write_text("#!/bin/sh\necho '{}'\n")
    runnable.chmod(0o755)
    assert command_for(runnable) == [str(runnable)]


# --- limits --------------------------------------------------------------------------------

GRANDCHILD_IGNORING_SIGTERM = """
import os, subprocess, sys, time
code = (
    "import os, signal, time\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "open('grandchild.pid', 'w').write(str(os.getpid()))\\n"
    "time.sleep(120)\\n"
)
subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
while not os.path.exists("grandchild.pid"):
    time.sleep(0.01)
print("started", flush=True)
time.sleep(120)
"""


def _wait_for_pid_file(path: Path) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.02)
    raise AssertionError("the grandchild never wrote its pid")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_soft_limit_ends_the_tree_including_a_grandchild_in_its_own_session(tmp_path):
    began = time.monotonic()
    outcome = run_script(tmp_path, GRANDCHILD_IGNORING_SIGTERM, soft_time_limit=1, time_limit=3)
    took = time.monotonic() - began
    grandchild = _wait_for_pid_file(tmp_path / "grandchild.pid")
    assert outcome.failure_reason == Reason.TIMEOUT
    assert outcome.timed_out
    assert "soft time limit of 1 s" in outcome.error_message
    assert "started" in outcome.stdout
    assert _gone(grandchild)
    assert took < 6


def test_hard_limit_kills_a_script_that_ignores_sigterm(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(60)
        """,
        soft_time_limit=0.5,
        time_limit=1.5,
    )
    assert outcome.failure_reason == Reason.TIMEOUT
    assert "SIGKILL at the hard limit of 1.5 s" in outcome.error_message
    assert 1.4 < outcome.wall_time < 5


def test_processes_left_behind_after_a_normal_exit_are_ended(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        import os, subprocess, sys, time
        code = ("import os, signal, time\\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
                "open('orphan.pid', 'w').write(str(os.getpid()))\\n"
                "time.sleep(120)\\n")
        subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not os.path.exists("orphan.pid"):
            time.sleep(0.01)
        print('{"ok": true}')
        """,
    )
    assert outcome.succeeded
    orphan = _wait_for_pid_file(tmp_path / "orphan.pid")
    assert _gone(orphan)
    assert outcome.leftover_processes >= 1


def test_a_run_that_leaves_nothing_is_cleaned_up_without_reading_every_process(
    tmp_path, monkeypatch
):
    scans = []
    real_table = process_tree.proc_table

    def counted() -> dict:
        scans.append(1)
        return real_table()

    monkeypatch.setattr(process_tree, "proc_table", counted)
    outcome = run_script(tmp_path, "print('{\"ok\": true}')")
    assert outcome.succeeded and outcome.leftover_processes == 0
    assert scans == []
    # What a run leaves behind is still found, by the pass over every process.
    test_processes_left_behind_after_a_normal_exit_are_ended(tmp_path)
    assert scans


class CancelAfterFirstLine(Sink):
    def __init__(self) -> None:
        self.seen = b""

    def on_output(self, stream: str, data: bytes) -> None:
        self.seen += data

    def cancel_requested(self) -> bool:
        return b"ready" in self.seen


def test_a_cancel_request_stops_the_tree(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        import time
        print("ready", flush=True)
        time.sleep(60)
        """,
        sink=CancelAfterFirstLine(),
    )
    assert outcome.cancelled
    assert outcome.failure_reason == Reason.CANCELLED
    assert outcome.wall_time < 10
    assert "ready" in outcome.stdout


# --- measurement --------------------------------------------------------------------------


def test_peak_memory_of_a_script_allocating_200_mb_is_reported(tmp_path):
    # The test process itself holds 300 MB: a child forked from it must not be charged for it.
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"\x01" * len(ballast[::4096])
    outcome = run_script(
        tmp_path,
        """
        block = bytearray(200 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        print('{"allocated": 200}')
        """,
    )
    del ballast
    assert outcome.succeeded
    peak_mb = outcome.peak_rss_bytes / (1024 * 1024)
    assert 200 <= peak_mb < 260, peak_mb
    assert outcome.cpu_user + outcome.cpu_system > 0


def test_a_small_script_is_not_charged_for_its_parents_memory(tmp_path):
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"\x01" * len(ballast[::4096])
    outcome = run_script(tmp_path, "print('{}')")
    del ballast
    assert outcome.peak_rss_bytes < 100 * 1024 * 1024


class CountingSink(Sink):
    def __init__(self) -> None:
        self.bytes = 0
        self.samples = 0

    def on_output(self, stream: str, data: bytes) -> None:
        self.bytes += len(data)

    def on_sample(self, sample) -> None:
        self.samples += 1


def test_a_gigabyte_of_output_is_kept_bounded_and_counted(tmp_path):
    sink = CountingSink()
    me = psutil.Process()
    rss_before = me.memory_info().rss
    outcome = run_script(
        tmp_path,
        """
        import sys
        chunk = b"x" * 1023 + b"\\n"
        out = sys.stdout.buffer
        for _ in range(1024 * 1024):
            out.write(chunk)
        out.flush()
        """,
        sink=sink,
        output_limit=4 * 1024 * 1024,
    )
    rss_after = me.memory_info().rss
    assert outcome.succeeded
    assert outcome.stdout_bytes == 1024 * 1024 * 1024
    assert sink.bytes == 1024 * 1024 * 1024
    assert outcome.stdout_dropped == 1024 * 1024 * 1024 - 4 * 1024 * 1024
    assert "bytes omitted" in outcome.stdout
    assert outcome.result["type"] == "text"  # cut output is never parsed as JSON
    assert rss_after - rss_before < 64 * 1024 * 1024


def test_non_utf8_output_is_decoded_with_replacement(tmp_path):
    outcome = run_script(tmp_path, "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe end')")
    assert outcome.succeeded
    assert outcome.stdout == "ok \ufffd\ufffd end"
    assert outcome.stdout_bytes == 9


def test_heartbeats_and_samples_are_reported_while_running(tmp_path):
    class Beats(CountingSink):
        beats = 0

        def on_heartbeat(self) -> None:
            self.beats += 1

    sink = Beats()
    outcome = run_script(
        tmp_path,
        "import time\ntime.sleep(1.3)\nprint('{}')",
        sink=sink,
        heartbeat_interval=0.4,
        sample_interval=0.2,
    )
    assert outcome.succeeded
    assert sink.beats >= 2
    assert sink.samples >= 4


# --- the bounded capture -------------------------------------------------------------------


def test_head_tail_buffer_keeps_both_ends():
    buffer = HeadTailBuffer(10)
    for piece in (b"0123", b"4567", b"89ab", b"cdef"):
        buffer.write(piece)
    assert buffer.getvalue() == b"01234bcdef"
    assert buffer.dropped == 6
    assert buffer.total == 16
    assert buffer.text() == "01234\n...[6 bytes omitted]...\nbcdef"


def test_head_tail_buffer_below_the_limit_keeps_everything():
    buffer = HeadTailBuffer(100)
    buffer.write(b"hello ")
    buffer.write(b"world")
    assert buffer.text() == "hello world"
    assert not buffer.truncated


def test_python_scripts_run_with_the_servers_interpreter_by_default(tmp_path):
    script = make_script(tmp_path, "print(1)")
    assert command_for(script)[0] == sys.executable


def test_a_worker_killed_outright_takes_its_running_script_down(tmp_path, start_mode):
    import signal
    import subprocess

    script = make_script(
        tmp_path,
        """
        import os, time
        open("script.pid", "w").write(str(os.getpid()))
        time.sleep(120)
        """,
    )
    worker_code = textwrap.dedent(
        f"""
        import os, sys
        from scriptdeck.compat import sdk_pythonpath
        from scriptdeck.runner import RunSpec, build_environment, command_for, run
        env = build_environment(parameters={{}}, page_context="", script_name="job",
                                execution_id="1", result_file="", pythonpath=sdk_pythonpath())
        run(RunSpec(argv=command_for({str(script)!r}), cwd={str(tmp_path)!r}, env=env,
                    script_name="job", warm_start={start_mode == "warm"!r},
                    exec_server={start_mode != "cold-launcher"!r}))
        """
    )
    worker = subprocess.Popen([sys.executable, "-c", worker_code])
    try:
        script_pid = _wait_for_pid_file(tmp_path / "script.pid")
        assert not _gone(script_pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not _gone(script_pid):
            assert time.monotonic() < deadline, "the script outlived its killed worker"
            time.sleep(0.05)
    finally:
        if worker.poll() is None:
            worker.kill()


def test_a_sink_failing_at_start_still_leaves_no_process_behind(tmp_path):
    class BrokenAtStart(Sink):
        def on_start(self, pid: int) -> None:
            self.pid = pid
            raise RuntimeError("database is locked")

    sink = BrokenAtStart()
    script = make_script(tmp_path, "import time\ntime.sleep(60)")
    with pytest.raises(RuntimeError, match="database is locked"):
        run(spec_for(tmp_path, script), sink)
    assert _gone(sink.pid)
    left = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(script) in " ".join(p.info["cmdline"] or []) and not _gone(p.pid)
    ]
    assert left == []
