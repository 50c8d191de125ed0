"""Run one script's process tree: spawn → stream → limit → measure → parse.

No Django, no Celery: a worker hands in a :class:`RunSpec` and a :class:`Sink`, and
gets an :class:`Outcome` back. Starting the launcher is :mod:`.spawn`'s; what the end means
(the launcher's report, the result, the verdict) is :mod:`.outcome`'s.
"""

from __future__ import annotations

import fcntl
import os
import selectors
import signal
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from . import cgroups, forkclient
from .capture import HeadTailBuffer
from .child_limits import LIMITS_VARIABLE
from .outcome import Outcome, Reason, apply_launcher_report, judge, read_report, read_result
from .process_tree import (
    RUN_MARKER_VARIABLE,
    ProcEntry,
    ProcessTree,
    TreeSample,
    become_subreaper,
    nothing_else_left,
)
from .spawn import HowStarted, Process, spawn
from .spec import RunSpec

# Reads of up to 1 MiB from pipes enlarged to 1 MiB (Linux's default pipe-max-size): a
# script writing fast costs 16 times fewer reads, loop turns and output chunks.
READ_SIZE = 1024 * 1024
PIPE_SIZE = 1024 * 1024
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
        """Called every ``heartbeat_interval`` while the run lasts, cleanup included."""

    def on_tick(self) -> None:
        """Called at least every 0.2 s while the run lasts (flush batches here)."""

    def cancel_requested(self) -> bool:
        """Polled at every tick; True starts the cancel sequence (SIGINT, SIGTERM, SIGKILL)."""
        return False


def _enlarge_pipe(fd: int) -> None:
    """Give the pipe PIPE_SIZE bytes of buffer where the system allows it (Linux)."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    try:
        fcntl.fcntl(fd, set_size, PIPE_SIZE)
    except OSError:  # above /proc/sys/fs/pipe-max-size, or the user's pipe quota: keep 64 KiB
        pass


class _Run:
    def __init__(self, spec: RunSpec, sink: Sink) -> None:
        self.spec = spec
        self.sink = sink
        self.out = HeadTailBuffer(spec.output_limit)
        self.err = HeadTailBuffer(spec.output_limit)
        self.marker = uuid.uuid4().hex
        self.proc: Process | None = None
        self.how = HowStarted()
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
        self.cgroup: cgroups.RunCgroup | None = None
        self.limits_seen: dict[str, Any] = {}

    # -- the process -----------------------------------------------------------------

    def spawn(self) -> None:
        env = dict(self.spec.env)
        env[RUN_MARKER_VARIABLE] = self.marker
        if self.spec.limits is not None:
            self.cgroup, env[LIMITS_VARIABLE], self.limits_seen = cgroups.prepare(
                self.marker, self.spec.limits
            )
        try:
            self.proc, self.report_fd = spawn(self.spec, env, self.how)
        except BaseException:
            self.close_cgroup()
            raise
        with _active_lock:
            _active_roots.add(self.proc.pid)
        self.tree = ProcessTree(self.proc.pid, self.marker)

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
        if nothing_else_left(expected | forkclient.server_pids()):
            return 0  # the common case, told without reading every process's /proc entry
        left = self.tree.end_all(self.spec.cleanup_grace, already_terminated=self.soft_fired)
        self.leftovers += left
        _reap_stray_zombies(self.tree.table)
        return left

    def close_cgroup(self) -> None:
        """Read what the run's cgroup counted, then kill what is left in it and remove it."""
        if self.cgroup is not None:
            self.limits_seen.update(self.cgroup.close())

    # -- the outcome ------------------------------------------------------------------

    def outcome(self, started_at: datetime, wall: float) -> Outcome:
        assert self.proc is not None
        ru = self.rusage
        status = self.status or 0
        exit_code = os.waitstatus_to_exitcode(status) if ru is not None else None
        if exit_code is not None and self.spec.sandbox is not None:
            exit_code = self.spec.sandbox.exit_code(exit_code)
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
        outcome.details["start"] = self.how.start
        outcome.details["launcher"] = self.how.launcher
        if self.limits_seen:
            outcome.details["limits"] = self.limits_seen
            outcome.cgroup_peak_bytes = self.limits_seen.get("memory_peak_bytes", 0)
        if self.how.preload_failed:  # the script imported them itself, if it could
            outcome.details["preload_failed"] = self.how.preload_failed
        fd, self.report_fd = self.report_fd, None
        apply_launcher_report(outcome, read_report(fd) if fd is not None else "")
        if outcome.failure_reason == Reason.SPAWN_FAILED:
            return outcome
        read_result(outcome, self.spec, stdout_complete=not self.out.truncated)
        judge(outcome, self.spec, self.out, self.err, self.cancel_signals, self.hard_fired)
        if not outcome.succeeded and isinstance(outcome.result, dict):
            outcome.result.setdefault("status", "error")  # never a failed run that says success
        return outcome


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
            servers = forkclient.server_pids()
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
            details={"start": runner.how.start},
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
        runner.close_cgroup()  # after the tree's own ending: what escaped it is killed here
    return runner.outcome(started_at, time.monotonic() - began)
