"""Warm starts: the cold contract from a fork, nothing carried between runs, falling back cold.

The runner's own suite (test_runner.py) runs in both modes; these are what only a fork server
can get wrong: state left over from an earlier run, the server's descriptors, environment or
memory showing through, and what happens when the server is gone.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from scriptdeck.catalog.schema import read_script
from scriptdeck.compat import sdk_pythonpath
from scriptdeck.runner import (
    Reason,
    RunSpec,
    Sink,
    build_environment,
    command_for,
    forkclient,
    forkserver,
    run,
)


@pytest.fixture(autouse=True)
def fresh_servers():
    """Each test starts without servers and leaves none running."""
    forkclient.shutdown()
    yield
    forkclient.shutdown()


def make_script(folder: Path, body: str, name: str = "job.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def spec_for(
    script: Path,
    *,
    warm: bool = True,
    preload: tuple[str, ...] = (),
    pythonpath: str | None = None,
    entrypoint: bool = False,
    parameters: dict | None = None,
    **limits,
) -> RunSpec:
    env = build_environment(
        parameters=parameters or {},
        page_context="/page",
        script_name=script.stem,
        execution_id="7",
        result_file=str(script.parent / "result.json"),
        pythonpath=pythonpath or sdk_pythonpath(),
    )
    return RunSpec(
        argv=command_for(script, entrypoint=entrypoint),
        cwd=str(script.parent),
        env=env,
        script_name=script.stem,
        result_file=str(script.parent / "result.json"),
        warm_start=warm,
        preload=preload,
        **limits,
    )


def run_warm(script: Path, sink: Sink | None = None, **kwargs):
    outcome = run(spec_for(script, **kwargs), sink)
    return outcome


INTROSPECT = """
import json, os, sys

def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False

print(json.dumps({
    "argv": sys.argv, "orig_argv": sys.orig_argv, "name": __name__, "file": __file__,
    "main_file": sys.modules["__main__"].__file__, "spec": repr(__spec__),
    "path": sys.path, "cwd": os.getcwd(), "env": dict(os.environ),
    "fds": [fd for fd in range(1024) if is_open(fd)],
    "flags": repr(sys.flags), "executable": sys.executable, "prefix": sys.prefix,
    "stdio": [[s.encoding, s.errors, s.line_buffering, s.write_through]
              for s in (sys.stdout, sys.stderr)],
    "stdin": os.read(0, 10).decode(),
    "signals": {name: repr(signal.getsignal(getattr(signal, name)))
                for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE", "SIGXFSZ", "SIGUSR2",
                             "SIGCHLD")},
    "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    "session": [os.getsid(0), os.getpgid(0), os.getpid()],
    "umask": oct(os.umask(0)),
}))
""".replace("import json, os, sys", "import json, os, signal, sys")


def test_a_warm_script_sees_exactly_what_a_cold_one_sees(tmp_path):
    script = make_script(tmp_path, INTROSPECT)
    cold = run(spec_for(script, warm=False))
    started: list[int] = []

    class Started(Sink):
        def on_start(self, pid: int) -> None:
            started.append(pid)

    warm = run(spec_for(script), Started())
    assert cold.details["start"] == "cold" and warm.details["start"] == "warm"
    assert cold.succeeded and warm.succeeded, (cold.error_message, warm.error_message)
    seen_cold, seen_warm = dict(cold.result), dict(warm.result)
    for seen in (seen_cold, seen_warm):
        seen.pop("execution_time")
        seen["env"].pop("SCRIPTDECK_RUN_MARKER")
        session, group, pid = seen.pop("session")
        assert session == group != os.getsid(0)  # a session of its own, as its group leader's
        assert pid != session  # the launcher leads it; the script is its child
    assert seen_warm == seen_cold
    assert seen_warm["fds"] == [0, 1, 2]
    assert seen_warm["name"] == "__main__"
    assert seen_warm["argv"] == [str(script)]
    assert seen_warm["path"][0] == str(tmp_path)
    assert warm.pid != started[0] and warm.pid in (warm.pid,)


def test_entrypoint_scripts_run_warm_like_cold(tmp_path):
    script = make_script(
        tmp_path,
        """
        import sys
        def main(host: str, retries: int = 3):
            print("working on", host, file=sys.stderr)
            return {"host": host, "retries": retries, "argv": sys.argv}
        """,
    )
    cold = run(spec_for(script, warm=False, entrypoint=True, parameters={"host": "db1"}))
    warm = run(spec_for(script, entrypoint=True, parameters={"host": "db1"}))
    assert warm.details["start"] == "warm"
    assert warm.succeeded, warm.error_message
    for key in ("result_source", "exit_code", "stderr"):
        assert getattr(warm, key) == getattr(cold, key)
    assert {k: v for k, v in warm.result.items() if k != "execution_time"} == {
        k: v for k, v in cold.result.items() if k != "execution_time"
    }


EXITS = {
    "sys_exit_3": "import sys\nsys.exit(3)",
    "sys_exit_text": "import sys\nsys.exit('bad input')",
    "sys_exit_none": "raise SystemExit",
    "uncaught": "def f():\n    raise ValueError('boom')\nprint('before', flush=True)\nf()",
    "keyboard_interrupt": "raise KeyboardInterrupt",
    "atexit_and_thread": (
        "import atexit, threading, time\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done'))).start()\n"
    ),
    "unflushed_file": "f = open('out.txt', 'w')\nf.write('kept')\nprint(open('out.txt').read())",
    "buffered_stdout_at_exit": "import sys\nsys.stdout.write('no newline, never flushed')",
    "custom_excepthook": (
        "import sys\nsys.excepthook = lambda *a: print('hooked', a[1], file=sys.stderr)\n"
        "raise RuntimeError('x')"
    ),
}


@pytest.mark.parametrize("name", sorted(EXITS))
def test_the_way_out_is_cpythons(tmp_path, name):
    script = make_script(tmp_path, EXITS[name])
    cold = run(spec_for(script, warm=False))
    (tmp_path / "out.txt").unlink(missing_ok=True)
    warm = run(spec_for(script))
    assert warm.details["start"] == "warm"
    assert (warm.exit_code, warm.signal, warm.failure_reason) == (
        cold.exit_code,
        cold.signal,
        cold.failure_reason,
    )
    assert warm.stdout == cold.stdout
    assert warm.stderr == cold.stderr


def test_nothing_a_run_changes_reaches_the_next_one(tmp_path):
    first = make_script(
        tmp_path,
        """
        import builtins, json, os, random, sys
        import scriptdeck.sdk as sdk
        sdk._RESULT_VERSION = "tampered"
        json.dumps = lambda *a, **k: "patched"
        os.environ["LEAKED"] = "yes"
        os.environ.pop("PAGE_CONTEXT")
        sys.path.append("/leaked")
        sys.modules["leaked_module"] = sys
        builtins.leaked = True
        os.chdir("/")
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(random.random())
        """,
        "first.py",
    )
    second = make_script(
        tmp_path,
        """
        import builtins, json, os, random, signal, sys
        import scriptdeck.sdk as sdk
        print(json.dumps({
            "version": sdk._RESULT_VERSION, "dumps": json.dumps([1]),
            "leaked_env": os.environ.get("LEAKED"), "page": os.environ.get("PAGE_CONTEXT"),
            "leaked_path": "/leaked" in sys.path, "module": "leaked_module" in sys.modules,
            "builtin": hasattr(builtins, "leaked"), "cwd": os.getcwd(),
            "sigterm": repr(signal.getsignal(signal.SIGTERM)), "random": random.random(),
        }))
        """,
        "second.py",
    )
    one = run(spec_for(first))
    assert one.succeeded and one.details["start"] == "warm", one.error_message
    again = run(spec_for(first))
    assert again.stdout != one.stdout  # every fork gets its own random state
    two = run(spec_for(second))
    assert two.details["start"] == "warm"
    assert two.result["version"] == "1.0.0"
    assert two.result["dumps"] == "[1]"
    assert two.result["leaked_env"] is None
    assert two.result["page"] == "/page"
    assert not two.result["leaked_path"] and not two.result["module"] and not two.result["builtin"]
    assert two.result["cwd"] == str(tmp_path)
    assert two.result["sigterm"] == repr(signal.SIG_DFL)


def test_preload_is_imported_in_the_server_before_the_fork(tmp_path):
    script = make_script(
        tmp_path,
        """
        import json, sys
        print(json.dumps({"loaded": "xml.dom.minidom" in sys.modules}))
        """,
    )
    plain = run(spec_for(script))
    preloaded = run(spec_for(script, preload=("xml.dom.minidom",)))
    assert plain.details["start"] == preloaded.details["start"] == "warm"
    assert plain.result["loaded"] is False
    assert preloaded.result["loaded"] is True  # already there when the script started


def test_a_preload_that_cannot_be_imported_still_starts_warm(tmp_path):
    script = make_script(tmp_path, "print('{}')")
    outcome = run(spec_for(script, preload=("no_such_module_here",)))
    assert outcome.succeeded
    assert outcome.details["start"] == "warm"
    assert "No module named" in outcome.details["preload_failed"]["no_such_module_here"]


def test_a_bad_preload_name_starts_cold_and_says_why(tmp_path):
    script = make_script(tmp_path, "print('{}')")
    outcome = run(spec_for(script, preload=("os; import shutil",)))
    assert outcome.succeeded
    assert outcome.details["start"].startswith("cold (warm start failed: ")
    assert "not a module name" in outcome.details["start"]


def test_a_server_that_dies_while_starting_falls_back_cold(tmp_path):
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "crashes_on_import.py").write_text("import os\nos._exit(3)\n")
    script = make_script(tmp_path, "print('{\"ran\": true}')")
    pythonpath = f"{sdk_pythonpath()}{os.pathsep}{modules}"
    outcome = run(spec_for(script, preload=("crashes_on_import",), pythonpath=pythonpath))
    assert outcome.succeeded and outcome.result["ran"] is True
    assert outcome.details["start"] == (
        "cold (warm start failed: the fork server did not start: "
        "the fork server exited with code 3)"
    )


def _the_server() -> forkclient.ForkServer:
    """The warm server (the exec server of cold starts may be there too)."""
    (server,) = [s for key, s in forkclient._servers.items() if key != ("exec",)]
    return server


def test_a_killed_server_means_a_cold_start_then_a_new_server(tmp_path, monkeypatch):
    script = make_script(tmp_path, "print('{}')")
    assert run(spec_for(script)).details["start"] == "warm"
    server = _the_server()
    # Killed between the check and the request: the run cannot know before it asks.
    monkeypatch.setattr(forkclient.ForkServer, "alive", lambda self: True)
    os.kill(server.proc.pid, signal.SIGKILL)
    outcome = run(spec_for(script))
    assert outcome.succeeded
    assert outcome.details["start"] == (
        "cold (warm start failed: the fork server was killed by SIGKILL)"
    )
    monkeypatch.undo()
    after = run(spec_for(script))
    assert after.details["start"] == "warm"
    assert _the_server().proc.pid != server.proc.pid


def test_a_server_found_dead_is_restarted_before_the_run(tmp_path):
    script = make_script(tmp_path, "print('{}')")
    assert run(spec_for(script)).details["start"] == "warm"
    first = _the_server().proc.pid
    os.kill(first, signal.SIGKILL)
    _the_server().proc.wait(timeout=5)
    outcome = run(spec_for(script))
    assert outcome.details["start"] == "warm"
    assert _the_server().proc.pid != first


def test_the_server_is_small_and_a_warm_script_is_charged_only_its_own_memory(tmp_path):
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"\x01" * len(ballast[::4096])
    small = run(spec_for(make_script(tmp_path, "print('{}')", "small.py")))
    big = run(
        spec_for(
            make_script(
                tmp_path,
                "block = bytearray(200 * 1024 * 1024)\n"
                "for i in range(0, len(block), 4096):\n    block[i] = 1\nprint('{}')\n",
                "big.py",
            )
        )
    )
    server_rss = psutil.Process(_the_server().proc.pid).memory_info().rss
    del ballast
    assert small.details["start"] == big.details["start"] == "warm"
    assert small.details["measured_by"] == "launcher"
    assert server_rss < 60 * 1024 * 1024
    assert small.maxrss_bytes < 60 * 1024 * 1024
    assert 200 <= big.peak_rss_bytes / (1024 * 1024) < 260
    assert big.cpu_user + big.cpu_system > 0


def test_the_workers_current_rlimits_and_umask_apply(tmp_path):
    script = make_script(
        tmp_path,
        """
        import json, os, resource
        print(json.dumps({"core": resource.getrlimit(resource.RLIMIT_CORE),
                          "umask": os.umask(0)}))
        """,
    )
    assert run(spec_for(script)).details["start"] == "warm"  # the server exists already
    core = resource.getrlimit(resource.RLIMIT_CORE)
    mask = os.umask(0o027)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, core[1]))
        outcome = run(spec_for(script))
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, core)
        os.umask(mask)
    assert outcome.details["start"] == "warm"
    assert outcome.result["core"] == [0, core[1]]
    assert outcome.result["umask"] == 0o027


def test_limits_and_cancel_end_a_warm_tree(tmp_path):
    class CancelWhenReady(Sink):
        seen = b""

        def on_output(self, stream: str, data: bytes) -> None:
            self.seen += data

        def cancel_requested(self) -> bool:
            return b"ready" in self.seen

    script = make_script(tmp_path, "import time\nprint('ready', flush=True)\ntime.sleep(60)")
    cancelled = run(spec_for(script), CancelWhenReady())
    assert cancelled.details["start"] == "warm"
    assert cancelled.failure_reason == Reason.CANCELLED
    assert cancelled.details["cancel_signals"] == ["SIGINT"]  # KeyboardInterrupt ended it
    timed = run(spec_for(script, soft_time_limit=0.5, time_limit=2))
    assert timed.failure_reason == Reason.TIMEOUT and timed.wall_time < 2


def test_a_process_forked_from_the_worker_does_not_use_its_servers(tmp_path):
    script = make_script(tmp_path, "print('{}')")
    assert run(spec_for(script)).details["start"] == "warm"
    pid = os.fork()
    if pid == 0:
        os._exit(0 if not forkclient._servers else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert run(spec_for(script)).details["start"] == "warm"  # ours still answers


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_the_server_and_its_runs_die_with_their_worker(tmp_path):
    script = make_script(
        tmp_path,
        "import os, time\nopen('script.pid', 'w').write(str(os.getpid()))\ntime.sleep(120)\n",
    )
    worker_code = textwrap.dedent(
        f"""
        from scriptdeck.compat import sdk_pythonpath
        from scriptdeck.runner import RunSpec, build_environment, command_for, run, forkclient
        env = build_environment(parameters={{}}, page_context="", script_name="job",
                                execution_id="1", result_file="", pythonpath=sdk_pythonpath())
        server = forkclient.server_for({sys.executable!r}, (), env)
        open({str(tmp_path / "server.pid")!r}, "w").write(str(server.proc.pid))
        run(RunSpec(argv=command_for({str(script)!r}), cwd={str(tmp_path)!r}, env=env,
                    script_name="job", warm_start=True))
        """
    )
    worker = subprocess.Popen([sys.executable, "-c", worker_code])
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "script.pid").exists() or not (tmp_path / "script.pid").read_text():
            assert time.monotonic() < deadline, "the warm script never started"
            time.sleep(0.02)
        server_pid = int((tmp_path / "server.pid").read_text())
        script_pid = int((tmp_path / "script.pid").read_text())
        assert not _gone(server_pid) and not _gone(script_pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not (_gone(server_pid) and _gone(script_pid)):
            assert time.monotonic() < deadline, "the server or its script outlived the worker"
            time.sleep(0.05)
    finally:
        if worker.poll() is None:
            worker.kill()


def test_a_shell_script_asked_to_start_warm_starts_cold_and_says_why(tmp_path):
    script = make_script(tmp_path, "echo '{}'\n", "job.sh")
    outcome = run(spec_for(script))
    assert outcome.succeeded
    assert outcome.details["start"] == (
        "cold (warm start failed: only a Python script file can start warm)"
    )


# --- PRELOAD in the catalog -----------------------------------------------------------------


def test_the_catalog_reads_a_preload_literal(tmp_path):
    script = make_script(
        tmp_path,
        """
        PRELOAD = ["pandas", "xml.dom.minidom", "pandas", "not a module", 3]
        def main():
            return None
        """,
    )
    signature = read_script(script)
    assert signature.preload == ["pandas", "xml.dom.minidom"]
    assert any("'not a module' is not a module name" in p for p in signature.problems)
    assert any("3 is not a module name" in p for p in signature.problems)


def test_lowercase_preload_and_no_preload(tmp_path):
    assert read_script(make_script(tmp_path, "preload = ('numpy',)\n")).preload == ["numpy"]
    assert read_script(make_script(tmp_path, "print(1)\n", "plain.py")).preload == []
    computed = read_script(make_script(tmp_path, "PRELOAD = sorted(['a'])\n", "computed.py"))
    assert computed.preload == []
    assert any("PRELOAD" in p for p in computed.problems)


def test_forkserver_messages_round_trip_large_environments():
    import socket

    one, two = socket.socketpair()
    try:
        payload = {"env": {"SCRIPT_PARAMETERS": json.dumps({"x": "y" * 3_000_000})}}
        read_end, write_end = os.pipe()
        import threading

        sender = threading.Thread(target=forkserver._send, args=(one, payload, [write_end]))
        sender.start()
        received, fds = forkserver._receive(two, max_fds=3)
        sender.join()
        assert received == payload
        assert len(fds) == 1
        for fd in (*fds, read_end, write_end):
            os.close(fd)
    finally:
        one.close()
        two.close()


# --- the worker's choice --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("own", "default", "python", "suffix", "expected"),
    [
        (None, False, "", ".py", False),
        (None, True, "", ".py", True),
        (False, True, "", ".py", False),
        (True, False, "", ".py", True),
        (True, False, "SAME", ".py", True),
        (True, False, "/usr/bin/python3.8", ".py", False),  # another interpreter: cold
        (True, False, "", ".sh", False),
    ],
)
def test_each_script_chooses_warm_or_the_global_default(
    settings, tmp_path, own, default, python, suffix, expected
):
    from types import SimpleNamespace

    from scriptdeck.worker.execute import starts_warm

    settings.SCRIPTDECK_WARM_START = default
    settings.SCRIPTDECK_PYTHON = sys.executable if python == "SAME" else python
    script = SimpleNamespace(warm_start=own)
    assert starts_warm(script, tmp_path / f"job{suffix}") is expected


# --- the exec server: cold starts without a launcher interpreter of their own ---------------

PROCESS_STATE = """\
#!/bin/sh
# What a started program inherits: signal dispositions and mask, descriptors, umask, cwd.
grep -E '^(SigIgn|SigBlk)' /proc/self/status
ls /proc/self/fd | sort -n | tr '\\n' ' '
echo
umask
pwd
env | grep -v -e '^_=' -e '^SCRIPTDECK_RUN_MARKER=' | sort
echo "marker: ${SCRIPTDECK_RUN_MARKER:+set}"
"""


def test_a_cold_program_gets_the_same_process_from_the_exec_server_as_from_a_launcher(tmp_path):
    script = tmp_path / "state.sh"
    script.write_text(PROCESS_STATE)
    script.chmod(0o755)
    through_server = run(spec_for(script, warm=False, exec_server=True))
    through_launcher = run(spec_for(script, warm=False, exec_server=False))
    assert through_server.details["launcher"] == "exec server"
    assert through_launcher.details["launcher"] == "process"
    assert through_server.exit_code == through_launcher.exit_code == 0
    assert through_server.stdout == through_launcher.stdout
    ignored = int(through_server.stdout.split("SigIgn:\t")[1].split()[0], 16)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        assert not ignored & (1 << (sig - 1)), f"{sig.name} is left ignored"
    assert "\n0 1 2 3 \n" in through_server.stdout  # the standard ones (3: ls's own listing)
    assert "marker: set" in through_server.stdout


def test_a_cold_python_script_through_the_exec_server_measures_its_own_memory(tmp_path):
    script = make_script(tmp_path, "big = bytearray(60 * 1024 * 1024)\nprint('{}')\n")
    small = make_script(tmp_path, "print('{}')\n", name="small.py")
    big_run = run(spec_for(script, warm=False))
    small_run = run(spec_for(small, warm=False))
    assert big_run.details["launcher"] == small_run.details["launcher"] == "exec server"
    assert big_run.maxrss_bytes >= 60 * 1024 * 1024
    # Neither the worker's size (this test process) nor the server's shows through.
    assert small_run.maxrss_bytes < 40 * 1024 * 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert small_run.maxrss_bytes < own


def test_a_killed_exec_server_means_a_launcher_process_then_a_new_server(tmp_path, monkeypatch):
    script = make_script(tmp_path, "print('{}')")
    assert run(spec_for(script, warm=False)).details["launcher"] == "exec server"
    server = forkclient._servers[("exec",)]
    monkeypatch.setattr(forkclient.ForkServer, "alive", lambda self: True)
    os.kill(server.proc.pid, signal.SIGKILL)
    fallback = run(spec_for(script, warm=False))
    assert fallback.succeeded, fallback.error_message
    assert fallback.details["launcher"] == (
        "process (exec server failed: the fork server was killed by SIGKILL)"
    )
    monkeypatch.undo()
    again = run(spec_for(script, warm=False))
    assert again.succeeded and again.details["launcher"] == "exec server"
    assert forkclient._servers[("exec",)].proc.pid != server.proc.pid


def test_a_program_the_exec_server_cannot_run_fails_as_a_launcher_says(tmp_path):
    script = tmp_path / "not_executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    spec = spec_for(script, warm=False)
    spec.argv = [str(script)]
    through_server = run(spec)
    spec = spec_for(script, warm=False, exec_server=False)
    spec.argv = [str(script)]
    through_launcher = run(spec)
    assert through_server.failure_reason == through_launcher.failure_reason == Reason.SPAWN_FAILED
    assert through_server.error_message == through_launcher.error_message
    assert "Permission denied" in through_server.error_message
