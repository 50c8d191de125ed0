"""What a run's end means: the launcher's report, the result, and the verdict.

The engine hands in what it saw (exit status, rusage, output, signals sent); these turn it
into an :class:`Outcome`'s figures, result and failure reason, the same for every way the
script was started.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scriptdeck import legacy

from . import limits
from .capture import HeadTailBuffer
from .result import (
    NonFiniteResult,
    ResultFileError,
    parse_stdout,
    read_result_file,
    reports_error,
    with_defaults,
)
from .spec import RunSpec


class Reason:
    EXIT_CODE = "exit_code"
    SIGNAL = "signal"
    TIMEOUT = "timeout"
    SCRIPT_ERROR = "script_error"
    SPAWN_FAILED = "spawn_failed"
    RESULT_INVALID = "result_invalid"
    CANCELLED = "cancelled"
    MEMORY_LIMIT = limits.MEMORY_LIMIT
    PROCESS_LIMIT = limits.PROCESS_LIMIT
    CPU_LIMIT = limits.CPU_LIMIT
    FILE_SIZE_LIMIT = limits.FILE_SIZE_LIMIT
    OPEN_FILES_LIMIT = limits.OPEN_FILES_LIMIT


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
    cgroup_peak_bytes: int = 0  # the run's cgroup's own count, where it had one
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
        """Peak memory of the script: the largest of wait4's figure, the sampled tree sum and
        the run's cgroup's peak (which also counts processes too short-lived to be sampled)."""
        return max(self.maxrss_bytes, self.tree_peak_rss_bytes, self.cgroup_peak_bytes)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def read_report(fd: int) -> str:
    """All the launcher wrote on the report pipe ``fd``, which is closed."""
    chunks = []
    os.set_blocking(fd, False)
    try:
        while True:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def apply_launcher_report(outcome: Outcome, report: str) -> None:
    """The script's own rusage, as its launcher measured it.

    Without a report (the launcher was killed with the group) peak memory comes from
    the samples alone, and CPU from our wait4 of the launcher.
    """
    outcome.maxrss_bytes = 0
    for line in report.splitlines():
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


def read_result(outcome: Outcome, spec: RunSpec, stdout_complete: bool) -> None:
    """The result file if the script wrote one, else stdout; cut output is never parsed."""
    try:
        written, value = read_result_file(spec.result_file)
    except ResultFileError as exc:
        outcome.details["result_file_error"] = str(exc)
        written, value = False, None
    if written:
        outcome.result, outcome.result_source = value, "file"
    else:
        try:
            parsed = parse_stdout(outcome.stdout, outcome.stderr, complete=stdout_complete)
        except NonFiniteResult as exc:
            outcome.details["result_stdout_error"] = str(exc)
            parsed = None
        outcome.result, outcome.result_source = parsed, "stdout"
    clean_exit = outcome.exit_code == 0 and not outcome.signal and not outcome.cancelled
    outcome.result = with_defaults(
        outcome.result,
        spec.script_name,
        outcome.completed_at,
        status="success" if clean_exit else None,
    )


def _tails(out: HeadTailBuffer, err: HeadTailBuffer) -> str:
    return f"STDERR (last lines):\n{err.last_lines()}\nSTDOUT (last lines):\n{out.last_lines()}"


def judge(
    outcome: Outcome,
    spec: RunSpec,
    out: HeadTailBuffer,
    err: HeadTailBuffer,
    cancel_signals: list[str],
    hard_fired: bool,
) -> None:
    """Set ``succeeded``, or the failure reason and message, from what the run did."""
    if outcome.cancelled:
        outcome.failure_reason = Reason.CANCELLED
        signals = ", then ".join(cancel_signals)
        outcome.details["cancel_signals"] = list(cancel_signals)
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
            f"{legacy.TIMEOUT_MESSAGE} — timed out: exceeded the soft time limit of "
            f"{spec.soft_time_limit:g} s; SIGTERM was sent to its process group"
        )
        if hard_fired:
            message += f", then SIGKILL at the hard limit of {spec.time_limit:g} s"
        outcome.failure_reason = Reason.TIMEOUT
        outcome.error_message = message + ".\n" + _tails(out, err)
        return
    hit = limits.hit(
        spec.limits,
        signal_number=outcome.signal,
        exit_code=outcome.exit_code,
        stderr=outcome.stderr,
        cpu_seconds=outcome.cpu_user + outcome.cpu_system,
        observed=outcome.details.get("limits", {}),
    )
    if hit is not None:
        outcome.failure_reason = hit[0]
        outcome.error_message = f"{hit[1]}.\n" + _tails(out, err)
        return
    error_result = reports_error(outcome.result)
    if outcome.signal is not None:
        name = signal_name(outcome.signal)
        outcome.failure_reason = Reason.SIGNAL
        outcome.error_message = f"The script was killed by {name} ({outcome.signal}).\n" + (
            _tails(out, err)
        )
        if outcome.signal == signal.SIGKILL:
            outcome.error_message = (
                "The script was killed by SIGKILL (9), often the kernel's out-of-memory "
                "killer.\n" + _tails(out, err)
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
                legacy.EXIT_CODE_MESSAGE.format(code=outcome.exit_code)
                + f" — the script exited with code {outcome.exit_code}.\n"
                + _tails(out, err)
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
    if "result_stdout_error" in outcome.details:
        outcome.failure_reason = Reason.RESULT_INVALID
        outcome.error_message = (
            f"The script's output is JSON, but {outcome.details['result_stdout_error']}."
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
