"""A run's resource limits: what they are, how the script gets them, what hitting one means.

The worker decides how each limit is enforced (a cgroup, see :mod:`.cgroups`, or an rlimit)
and hands the script's process a short description of it in :data:`LIMITS_VARIABLE`. The
process that is about to become the script (the launcher's child, before ``exec``) calls
:func:`apply_in_child`: it moves itself into the run's cgroups, so nothing the script starts
escapes them, and sets the rlimits.

That last part is :mod:`.child_limits`, loaded by path by the launchers, which run in small
interpreters of their own.
"""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass
from typing import Any

LIMITS_VARIABLE = "SCRIPTDECK_RUN_LIMITS"
MiB = 1024 * 1024

MEMORY_LIMIT = "memory_limit"
PROCESS_LIMIT = "process_limit"
CPU_LIMIT = "cpu_limit"
FILE_SIZE_LIMIT = "file_size_limit"
OPEN_FILES_LIMIT = "open_files_limit"


@dataclass(frozen=True)
class Limits:
    """One run's limits; ``None`` (or 0) is no limit."""

    memory_bytes: int | None = None
    processes: int | None = None
    cpu_seconds: int | None = None
    file_size_bytes: int | None = None
    open_files: int | None = None

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative")
            if value == 0:
                object.__setattr__(self, name, None)

    def as_dict(self) -> dict[str, int | None]:
        return asdict(self)


def format_bytes(count: int) -> str:
    """``268435456`` → ``"256 MiB"``; whole GiB as GiB."""
    if count >= 1024 * MiB and count % (1024 * MiB) == 0:
        return f"{count // (1024 * MiB)} GiB"
    if count >= MiB:
        return f"{count / MiB:g} MiB"
    return f"{count} bytes"


def rlimits_for(limits: Limits, covered: set[str], per_user_processes: bool) -> dict[str, int]:
    """The rlimits that enforce what no cgroup ``covered`` (``"memory"``, ``"processes"``).

    Memory falls back to ``RLIMIT_DATA``, not ``RLIMIT_AS``: an interpreter reserves far more
    address space than it uses (thread stacks, arenas), while the data limit counts the private
    memory it really asks for. ``RLIMIT_NPROC`` counts every process of the user, not of the
    run: it is only of use when the run has a user of its own (``per_user_processes``).
    """
    rlimits: dict[str, int] = {}
    if limits.memory_bytes and "memory" not in covered:
        rlimits["RLIMIT_DATA"] = limits.memory_bytes
    if limits.processes and "processes" not in covered and per_user_processes:
        rlimits["RLIMIT_NPROC"] = limits.processes
    if limits.cpu_seconds:
        rlimits["RLIMIT_CPU"] = limits.cpu_seconds
    if limits.file_size_bytes:
        rlimits["RLIMIT_FSIZE"] = limits.file_size_bytes
    if limits.open_files:
        rlimits["RLIMIT_NOFILE"] = limits.open_files
    return rlimits


def encode(cgroup_procs: list[str], rlimits: dict[str, int]) -> str:
    """What :func:`.child_limits.apply_in_child` reads: the ``cgroup.procs`` files to join,
    then the rlimits, one a line (no JSON: the launcher must start fast)."""
    lines = [f"cgroup {procs}" for procs in cgroup_procs]
    lines += [f"{name} {value}" for name, value in sorted(rlimits.items())]
    return "\n".join(lines)


def hit(
    limits: Limits | None,
    *,
    signal_number: int | None,
    exit_code: int | None,
    stderr: str,
    cpu_seconds: float,
    observed: dict[str, Any],
) -> tuple[str, str] | None:
    """The limit a failed run hit, as ``(reason, sentence)``; ``None`` when none is known.

    ``observed`` is what the run's cgroup counted (``oom_kills``, ``pids_refused``) and which
    limits were rlimits (``rlimits``). Output is only looked at for errors that name one limit
    alone (``EFBIG``, ``EMFILE``), and only when that limit was set.
    """
    if limits is None or (signal_number is None and exit_code in (0, None)):
        return None
    rlimits = observed.get("rlimits", {})
    if limits.memory_bytes and (
        observed.get("oom_kills") or ("RLIMIT_DATA" in rlimits and "MemoryError" in stderr[-4096:])
    ):
        return MEMORY_LIMIT, (
            f"The script used more than its memory limit of {format_bytes(limits.memory_bytes)} "
            "and was killed"
            if observed.get("oom_kills")
            else f"The script ran out of its memory limit of {format_bytes(limits.memory_bytes)}"
        )
    if limits.processes and observed.get("pids_refused"):
        return PROCESS_LIMIT, (
            f"The script tried to run more than its limit of {limits.processes} processes at "
            "once, and a fork was refused"
        )
    if limits.cpu_seconds and (
        signal_number == signal.SIGXCPU
        or (signal_number == signal.SIGKILL and cpu_seconds >= limits.cpu_seconds)
    ):
        return CPU_LIMIT, (
            f"The script used more than its CPU time limit of {limits.cpu_seconds} s and was "
            "stopped"
        )
    if limits.file_size_bytes and (
        signal_number == signal.SIGXFSZ or "File too large" in stderr[-4096:]
    ):
        return FILE_SIZE_LIMIT, (
            "The script tried to write a file larger than its limit of "
            f"{format_bytes(limits.file_size_bytes)}"
        )
    if limits.open_files and "Too many open files" in stderr[-4096:]:
        return OPEN_FILES_LIMIT, (
            f"The script tried to keep more than its limit of {limits.open_files} files open"
        )
    return None
