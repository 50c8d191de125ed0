"""Start a run's launcher: forked from a fork server, or as a process of its own.

Whichever way, the engine gets the same thing back: the launcher's process (its pid, its
stdout and stderr pipes) and the read end of its report pipe, so it waits for it, measures it
and limits it with the same code.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from . import forkclient
from .spec import RunSpec

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.py")

Process = subprocess.Popen[bytes] | forkclient.WarmProcess


@dataclass
class HowStarted:
    """What an outcome's ``details`` say of the start; filled in as each way is tried."""

    start: str = "cold"
    launcher: str = "process"
    preload_failed: dict[str, str] = field(default_factory=dict)


def spawn(spec: RunSpec, env: dict[str, str], how: HowStarted) -> tuple[Process, int]:
    """The launcher's process and its report fd: warm, through the exec server, or by ``Popen``.

    Trouble with a server falls back to the next way, and ``how`` says why; an ``OSError``
    (a missing cwd or interpreter) is what a cold start would raise, and is raised.
    """
    argv = _isolated(spec, env, how)
    if spec.warm_start and argv is spec.argv:
        try:
            return _spawn_warm(spec, env, how)
        except forkclient.ForkServerError as exc:
            how.start = f"cold (warm start failed: {exc})"
    if spec.exec_server:
        try:
            proc, report_read, _ = forkclient.start_exec(argv, spec.cwd, env)
            how.launcher = "exec server"
            return proc, report_read
        except forkclient.ForkServerError as exc:
            how.launcher = f"process (exec server failed: {exc})"
    report_read, report_write = os.pipe()
    try:
        popen = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-S",
                LAUNCHER,
                str(report_write),
                str(os.getpid()),
                *argv,
            ],
            cwd=spec.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
            pass_fds=(report_write,),
        )
    except BaseException:
        os.close(report_read)
        raise
    finally:
        os.close(report_write)
    return popen, report_read


def _spawn_warm(spec: RunSpec, env: dict[str, str], how: HowStarted) -> tuple[Process, int]:
    """Fork the script from the warm server: same launcher role, same pipes, same report."""
    proc, report_read, server = forkclient.start(spec.argv, spec.cwd, env, tuple(spec.preload))
    how.start = "warm"
    how.launcher = "warm server"
    how.preload_failed = {
        name: why for name, why in server.preload_failed.items() if name in spec.preload
    }
    return proc, report_read


def _isolated(spec: RunSpec, env: dict[str, str], how: HowStarted) -> list[str]:
    """The argv a sandboxed run starts with; ``spec.argv`` itself when there is no sandbox.

    The fork server runs a warm script's code in its own process, outside any sandbox: a
    sandboxed run starts cold, and ``details.start`` says so.
    """
    if spec.sandbox is None or not spec.sandbox.active:
        return spec.argv
    if spec.warm_start:
        how.start = "cold (sandboxed runs start cold)"
    # The program starts inside, where a failure is only an exit status: a missing one is
    # told apart here, as an unsandboxed start would.
    if shutil.which(spec.argv[0], path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), spec.argv[0])
    run_dir = spec.run_dir or os.path.dirname(spec.result_file or spec.cwd)
    return spec.sandbox.wrap(spec.argv, run_dir, spec.cwd, spec.network)
