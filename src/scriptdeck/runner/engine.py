"""Run one script's process tree: spawn → stream → limit → measure → parse.

No Django, no Celery: a worker hands in a :class:`RunSpec` and a :class:`Sink`, and
gets an :class:`Outcome` back.
"""

from __future__ import annotations

import fcntl
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import forkserver
from .capture import HeadTailBuffer
from .process_tree import (
    RUN_MARKER_VARIABLE,
    ProcEntry,
    ProcessTree,
    TreeSample,
    become_subreaper,
    nothing_else_left,
)
from .result import ResultFileError, parse_stdout, read_result_file, reports_error, with_defaults
from .spec import RunSpec

# Reads of up to 1 MiB from pipes enlarged to 1 MiB (Linux's default pipe-max-size): a
# script writing fast costs 16 times fewer reads, loop turns and output chunks.
READ_SIZE = 1024 * 1024
PIPE_SIZE = 1024 * 1024
LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.py")
TICK = 0.2
FIRST_SAMPLE = 0.05

# Root pids of runs in progress in this process: a zombie among them belongs to its run.
_active_roots: set[int] = set()
_active_lock = threading.Lock()


class Sink:
    """Callbacks a run reports to. Subclass and override what you need."""

    def on_start(self, pid: int) -> None:
        """The script's process exists."""

    def on_output(self, stream: str, data: bytes) -> None:
        """A chunk of ``stdout`` or ``stderr``, as it arrived."""

    def on_sample(self, sample: TreeSample) -> None:
        """A resource sample of the whole process tree."""

    def on_heartbeat(self) -> None:
        """Called every ``heartbeat_interval`` while the script runs."""

    def on_tick(self) -> None:
        """Called at least every 0.2 s while the run lasts (flush batches here)."""

    def cancel_requested(self) -> bool:
        """Polled at every tick; True starts the cancel sequence (SIGINT, SIGTERM, SIGKILL)."""
        return False


class Reason:
    EXIT_CODE = "exit_code"
    SIGNAL = "signal"
    TIMEOUT = "timeout"
    SCRIPT_ERROR = "script_error"
    SPAWN_FAILED = "spawn_failed"
    RESULT_INVALID = "result_invalid"
    CANCELLED = "cancelled"


@dataclass
class Outcome:
    succeeded: bool
    failure_reason: str | None = None
    error_message: str = ""
    exit_code: int | None = None
    signal: int | None = None
    pid: int | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    wall_time: float = 0.0
    cpu_user: float = 0.0
    cpu_system: float = 0.0
    maxrss_bytes: int = 0
    tree_peak_rss_bytes: int = 0
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    stdout_dropped: int = 0
    stderr_dropped: int = 0
    result: Any = None
    result_source: str | None = None
    timed_out: bool = False
    cancelled: bool = False
    leftover_processes: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_rss_bytes(self) -> int:
        """Peak memory of the script: the larger of wait4's figure and the sampled tree sum."""
        return max(self.maxrss_bytes, self.tree_peak_rss_bytes)


def _enlarge_pipe(fd: int) -> None:
    """Give the pipe PIPE_SIZE bytes of buffer where the system allows it (Linux)."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    try:
        fcntl.fcntl(fd, set_size, PIPE_SIZE)
    except OSError:  # above /proc/sys/fs/pipe-max-size, or the user's pipe quota: keep 64 KiB
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Run:
    def __init__(self, spec: RunSpec, sink: Sink) -> None:
        self.spec = spec
        self.sink = sink
        self.out = HeadTailBuffer(spec.output_limit)
        self.err = HeadTailBuffer(spec.output_limit)
        self.marker = uuid.uuid4().hex
        self.proc: subprocess.Popen[bytes] | forkserver.WarmProcess | None = None
        self.start = "cold"
        self.launcher = "process"
        self.preload_failed: dict[str, str] = {}
        self.tree: ProcessTree | None = None
        self.status: int | None = None
        self.rusage: Any = None
        self.tree_peak = 0
        self.soft_fired = False
        self.hard_fired = False
        self.cancel_started: float | None = None
        self.cancel_stage = 0
        self.cancel_signals: list[str] = []
        self.report_fd: int | None = None
        self.leftovers = 0

    # -- the process -----------------------------------------------------------------

    def spawn(self) -> None:
        env = dict(self.spec.env)
        env[RUN_MARKER_VARIABLE] = self.marker
        if self.spec.warm_start:
            try:
                self.spawn_warm(env)
                return
            except forkserver.ForkServerError as exc:
                self.start = f"cold (warm start failed: {exc})"
        if self.spec.exec_server:
            try:
                self.spawn_through(forkserver.start_exec(self.spec.argv, self.spec.cwd, env))
                self.launcher = "exec server"
                return
            except forkserver.ForkServerError as exc:
                self.launcher = f"process (exec server failed: {exc})"
        report_read, report_write = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    LAUNCHER,
                    str(report_write),
                    str(os.getpid()),
                    *self.spec.argv,
                ],
                cwd=self.spec.cwd,
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
        self.report_fd = report_read
        with _active_lock:
            _active_roots.add(self.proc.pid)
        self.tree = ProcessTree(self.proc.pid, self.marker)

    def spawn_warm(self, env: dict[str, str]) -> None:
        """Fork the script from the warm server: same launcher role, same pipes, same report."""
        started = forkserver.start(self.spec.argv, self.spec.cwd, env, tuple(self.spec.preload))
        server = started[2]
        self.spawn_through(started)
        self.start = "warm"
        self.launcher = "warm server"
        self.preload_failed = {
            name: why for name, why in server.preload_failed.items() if name in self.spec.preload
        }

    def spawn_through(self, started: tuple[forkserver.WarmProcess, int, Any]) -> None:
        """Take over a run a fork server started: its launcher, pipes and report fd."""
        proc, report_read, _ = started
        self.proc = proc
        self.report_fd = report_read
        with _active_lock:
            _active_roots.add(proc.pid)
        self.tree = ProcessTree(proc.pid, self.marker)

    def poll_exit(self) -> bool:
        assert self.proc is not None
        if self.status is not None:
            return True
        try:
            pid, status, rusage = os.wait4(self.proc.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status, rusage = self.proc.pid, 0, None
        if pid == 0:
            return False
        self.status, self.rusage = status, rusage
        # Tell Popen it has been reaped, so it never waits on a recycled pid.
        self.proc.returncode = os.waitstatus_to_exitcode(status) if rusage is not None else -1
        with _active_lock:
            _active_roots.discard(self.proc.pid)
        return True

    # -- the loop ----------------------------------------------------------------------

    def loop(self) -> None:
        assert self.proc is not None and self.proc.stdout and self.proc.stderr
        spec = self.spec
        selector = selectors.DefaultSelector()
        for stream, name in ((self.proc.stdout, "stdout"), (self.proc.stderr, "stderr")):
            os.set_blocking(stream.fileno(), False)
            _enlarge_pipe(stream.fileno())
            selector.register(stream, selectors.EVENT_READ, name)
        start = time.monotonic()
        # The first sample after FIRST_SAMPLE, not at once: a process that has just started
        # has nothing to show, and a run shorter than that is measured by its rusage alone.
        next_sample = start + min(FIRST_SAMPLE, spec.sample_interval)
        next_heartbeat = start + spec.heartbeat_interval
        exited_at: float | None = None
        cleaned = False
        try:
            while True:
                now = time.monotonic()
                waits = [TICK]
                if exited_at is None:
                    waits.append(max(0.0, next_sample - now))
                if not selector.get_map():
                    waits.append(0.05)
                for key, _ in selector.select(min(waits)):
                    self.read(key, selector)
                self.sink.on_tick()
                now = time.monotonic()
                if self.poll_exit() and exited_at is None:
                    exited_at = now
                if now >= next_heartbeat:  # also while what the script left is cleaned up
                    self.sink.on_heartbeat()
                    next_heartbeat = now + spec.heartbeat_interval
                if exited_at is None:
                    self.enforce_limits(now - start)
                    self.check_cancel(now)
                    if now >= next_sample:
                        self.take_sample()
                        next_sample = now + spec.sample_interval
                    continue
                if not selector.get_map():
                    break
                # The script ended but something it started still holds its output open.
                if not cleaned and now - exited_at >= spec.linger:
                    self.cleanup()
                    cleaned = True
                elif cleaned and now - exited_at >= spec.linger + 10:
                    break
        finally:
            for key in list(selector.get_map().values()):
                selector.unregister(key.fileobj)
            selector.close()
            if not cleaned:
                self.cleanup()

    def read(self, key: selectors.SelectorKey, selector: selectors.BaseSelector) -> None:
        try:
            data = os.read(key.fd, READ_SIZE)
        except BlockingIOError:
            return
        if not data:
            selector.unregister(key.fileobj)
            return
        (self.out if key.data == "stdout" else self.err).write(data)
        self.sink.on_output(key.data, data)

    def take_sample(self) -> None:
        assert self.tree is not None
        sample = self.tree.sample()
        self.tree_peak = max(self.tree_peak, sample.rss_bytes)
        self.sink.on_sample(sample)

    def enforce_limits(self, elapsed: float) -> None:
        assert self.tree is not None
        soft, hard = self.spec.soft_time_limit, self.spec.time_limit
        if soft is not None and not self.soft_fired and elapsed >= soft:
            self.soft_fired = True
            self.tree.signal_all(signal.SIGTERM)
        if hard is not None and not self.hard_fired and elapsed >= hard:
            self.soft_fired = self.hard_fired = True
            self.tree.signal_all(signal.SIGKILL)

    def check_cancel(self, now: float) -> None:
        assert self.tree is not None
        if self.cancel_started is None:
            if not self.sink.cancel_requested():
                return
            self.cancel_started = now
            self.tree.signal_all(signal.SIGINT)
            self.cancel_signals.append("SIGINT")
            self.cancel_stage = 1
            return
        first, second = self.spec.cancel_steps
        if self.cancel_stage == 1 and now - self.cancel_started >= first:
            self.tree.signal_all(signal.SIGTERM)
            self.cancel_signals.append("SIGTERM")
            self.cancel_stage = 2
        elif self.cancel_stage == 2 and now - self.cancel_started >= first + second:
            self.tree.signal_all(signal.SIGKILL)
            self.cancel_signals.append("SIGKILL")
            self.cancel_stage = 3

    def cleanup(self) -> int:
        """End whatever the run left behind, and reap the root if it is still there."""
        assert self.proc is not None and self.tree is not None
        if self.status is None:
            self.tree.signal_all(signal.SIGKILL)
            while not self.poll_exit():
                time.sleep(0.01)
        with _active_lock:
            expected = set(_active_roots)
        if nothing_else_left(expected | forkserver.server_pids()):
            return 0  # the common case, told without reading every process's /proc entry
        left = self.tree.end_all(self.spec.cleanup_grace, already_terminated=self.soft_fired)
        self.leftovers += left
        _reap_stray_zombies(self.tree.table)
        return left

    # -- the outcome ------------------------------------------------------------------

    def outcome(self, started_at: datetime, wall: float) -> Outcome:
        assert self.proc is not None
        ru = self.rusage
        status = self.status or 0
        exit_code = os.waitstatus_to_exitcode(status) if ru is not None else None
        sig = -exit_code if exit_code is not None and exit_code < 0 else None
        if sig is not None:
            exit_code = None
        outcome = Outcome(
            succeeded=False,
            exit_code=exit_code,
            signal=sig,
            pid=self.proc.pid,
            started_at=started_at,
            completed_at=datetime.now().astimezone(),
            wall_time=wall,
            cpu_user=ru.ru_utime if ru else 0.0,
            cpu_system=ru.ru_stime if ru else 0.0,
            maxrss_bytes=(ru.ru_maxrss * 1024) if ru else 0,
            tree_peak_rss_bytes=self.tree_peak,
            stdout=self.out.text(),
            stderr=self.err.text(),
            stdout_bytes=self.out.total,
            stderr_bytes=self.err.total,
            stdout_dropped=self.out.dropped,
            stderr_dropped=self.err.dropped,
            timed_out=self.soft_fired,
            cancelled=self.cancel_started is not None,
            leftover_processes=self.leftovers,
        )
        outcome.details["start"] = self.start
        outcome.details["launcher"] = self.launcher
        if self.preload_failed:  # the script imported them itself, if it could
            outcome.details["preload_failed"] = self.preload_failed
        self.apply_launcher_report(outcome)
        if outcome.failure_reason == Reason.SPAWN_FAILED:
            return outcome
        self.read_result(outcome)
        self.judge(outcome)
        if not outcome.succeeded and isinstance(outcome.result, dict):
            outcome.result.setdefault("status", "error")  # never a failed run that says success
        return outcome

    def read_launcher_report(self) -> str:
        if self.report_fd is None:
            return ""
        chunks = []
        os.set_blocking(self.report_fd, False)
        try:
            while True:
                try:
                    data = os.read(self.report_fd, 4096)
                except BlockingIOError:
                    break
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(self.report_fd)
            self.report_fd = None
        return b"".join(chunks).decode("utf-8", errors="replace")

    def apply_launcher_report(self, outcome: Outcome) -> None:
        """The script's own rusage, as its launcher measured it.

        Without a report (the launcher was killed with the group) peak memory comes from
        the samples alone, and CPU from our wait4 of the launcher.
        """
        outcome.maxrss_bytes = 0
        for line in self.read_launcher_report().splitlines():
            if line.startswith("E "):
                outcome.failure_reason = Reason.SPAWN_FAILED
                outcome.error_message = f"Could not start the script: {line[2:].strip()}."
                outcome.exit_code = outcome.signal = None
                return
            parts = line.split()
            if len(parts) == 4:
                outcome.maxrss_bytes = int(parts[0]) * 1024
                outcome.cpu_user, outcome.cpu_system = float(parts[1]), float(parts[2])
                outcome.pid = int(parts[3])
                outcome.details["measured_by"] = "launcher"

    def read_result(self, outcome: Outcome) -> None:
        try:
            written, value = read_result_file(self.spec.result_file)
        except ResultFileError as exc:
            outcome.details["result_file_error"] = str(exc)
            written, value = False, None
        if written:
            outcome.result, outcome.result_source = value, "file"
        else:
            parsed = parse_stdout(outcome.stdout, outcome.stderr, complete=not self.out.truncated)
            outcome.result, outcome.result_source = parsed, "stdout"
        clean_exit = outcome.exit_code == 0 and not outcome.signal and not outcome.cancelled
        outcome.result = with_defaults(
            outcome.result,
            self.spec.script_name,
            outcome.completed_at,
            status="success" if clean_exit else None,
        )

    def tails(self) -> str:
        return (
            f"STDERR (last lines):\n{self.err.last_lines()}\n"
            f"STDOUT (last lines):\n{self.out.last_lines()}"
        )

    def judge(self, outcome: Outcome) -> None:
        spec = self.spec
        if outcome.cancelled:
            outcome.failure_reason = Reason.CANCELLED
            signals = ", then ".join(self.cancel_signals)
            outcome.details["cancel_signals"] = list(self.cancel_signals)
            outcome.error_message = (
                f"Cancelled after {outcome.wall_time:.1f} s: {signals} sent to its process tree."
            )
            if outcome.leftover_processes:
                outcome.error_message += (
                    f" {outcome.leftover_processes} process(es) it left behind were ended."
                )
            return
        if outcome.timed_out:
            message = (
                "脚本执行超时 — timed out: exceeded the soft time limit of "
                f"{spec.soft_time_limit:g} s; SIGTERM was sent to its process group"
            )
            if self.hard_fired:
                message += f", then SIGKILL at the hard limit of {spec.time_limit:g} s"
            outcome.failure_reason = Reason.TIMEOUT
            outcome.error_message = message + ".\n" + self.tails()
            return
        error_result = reports_error(outcome.result)
        if outcome.signal is not None:
            name = _signal_name(outcome.signal)
            outcome.failure_reason = Reason.SIGNAL
            outcome.error_message = f"The script was killed by {name} ({outcome.signal}).\n" + (
                self.tails()
            )
            if outcome.signal == signal.SIGKILL:
                outcome.error_message = (
                    "The script was killed by SIGKILL (9), often the kernel's out-of-memory "
                    "killer.\n" + self.tails()
                )
            return
        if outcome.exit_code != 0:
            if error_result:
                outcome.failure_reason = Reason.SCRIPT_ERROR
                outcome.error_message = (
                    f"{outcome.result.get('message', '')} (exit code {outcome.exit_code})"
                ).strip()
            else:
                outcome.failure_reason = Reason.EXIT_CODE
                outcome.error_message = (
                    f"脚本执行失败 (返回码: {outcome.exit_code}) — the script exited with code "
                    f"{outcome.exit_code}.\n" + self.tails()
                )
                if outcome.result_source == "stdout" and _is_text_result(outcome.result):
                    outcome.result = None
            return
        if "result_file_error" in outcome.details:
            outcome.failure_reason = Reason.RESULT_INVALID
            outcome.error_message = (
                f"The script wrote SCRIPT_RESULT_FILE, but {outcome.details['result_file_error']}."
            )
            return
        if error_result:
            outcome.failure_reason = Reason.SCRIPT_ERROR
            outcome.error_message = str(
                outcome.result.get("message") or "The script reported an error."
            )
            return
        outcome.succeeded = True


def _is_text_result(result: Any) -> bool:
    return isinstance(result, dict) and result.get("type") == "text" and "content" in result


def _reap_stray_zombies(table: dict[int, ProcEntry]) -> None:
    """Reap orphaned descendants that re-parented to us (we are a subreaper) and exited.

    ``table`` is the process table the run's last scan read: no second pass over /proc. A
    zombie that appeared since is reaped after the next run.
    """
    me = os.getpid()
    servers: set[int] | None = None
    for pid, entry in table.items():
        if entry.ppid != me or entry.state != "Z":
            continue
        if servers is None:  # reaped by their own Popen, which reports how they died
            servers = forkserver.server_pids()
        with _active_lock:
            if pid in _active_roots or pid in servers:
                continue
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue


def run(spec: RunSpec, sink: Sink | None = None) -> Outcome:
    """Run the script described by ``spec`` to its end and report what happened.

    Output goes to ``sink`` as it arrives and is kept bounded (head and tail). Every
    process the script started is ended before this returns, whatever the way out —
    an exception raised into this thread (a worker shutting down) included.
    """
    sink = sink or Sink()
    become_subreaper()
    runner = _Run(spec, sink)
    started_at = datetime.now().astimezone()
    began = time.monotonic()
    try:
        runner.spawn()
    except OSError as exc:
        return Outcome(
            succeeded=False,
            failure_reason=Reason.SPAWN_FAILED,
            error_message=f"Could not start {spec.argv[0]!r}: {exc.strerror or exc}.",
            started_at=started_at,
            completed_at=datetime.now().astimezone(),
            details={"start": runner.start},
        )
    assert runner.proc is not None
    try:
        sink.on_start(runner.proc.pid)
        runner.loop()
    except BaseException:
        runner.cleanup()  # whatever went wrong, the tree does not outlive the run
        if runner.report_fd is not None:
            os.close(runner.report_fd)
            runner.report_fd = None
        raise
    finally:
        for stream in (runner.proc.stdout, runner.proc.stderr):
            if stream is not None:
                stream.close()
        with _active_lock:
            _active_roots.discard(runner.proc.pid)
    return runner.outcome(started_at, time.monotonic() - began)
