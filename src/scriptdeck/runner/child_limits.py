"""The script's side of its limits, in the process about to become the script.

``launcher.py`` and ``forkserver.py`` load this file by path in their small
interpreters, so it imports nothing but ``os`` and ``resource``: each cold start pays for it.
What it reads is :func:`.limits.encode`'s text.
"""

import os
import resource

LIMITS_VARIABLE = "SCRIPTDECK_RUN_LIMITS"


class LimitError(RuntimeError):
    """The script's process could not be put under its limits: it must not start."""


def apply_in_child(raw: str) -> None:
    """Join the run's cgroups, then set its rlimits; before ``exec`` and any change of user.

    The process writes its own pid into each ``cgroup.procs`` before the script exists, so no
    process of the script is ever outside them. Raises :class:`LimitError` with a sentence:
    a script is never started without the limits it was given.
    """
    pid = str(os.getpid()).encode()
    for line in raw.splitlines():
        kind, _, value = line.partition(" ")
        if kind == "cgroup":
            try:
                fd = os.open(value, os.O_WRONLY)
                try:
                    os.write(fd, pid)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise LimitError(f"cannot join the run's cgroup {value}: {exc.strerror}") from None
        elif kind.startswith("RLIMIT_"):
            _set(kind, int(value))


def _set(name: str, value: int) -> None:
    number = getattr(resource, name)
    _, hard = resource.getrlimit(number)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)  # only ever lowered: raising one needs a privilege
    # CPU: SIGXCPU at the limit, and SIGKILL a second later for a script that catches it.
    ceiling = value + 1 if name == "RLIMIT_CPU" else value
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    try:
        resource.setrlimit(number, (value, ceiling))
    except (OSError, ValueError) as exc:
        raise LimitError(f"cannot set {name} to {value}: {exc}") from None


def enter(report_fd: int) -> None:
    """Put this process under the run's limits (``LIMITS_VARIABLE``, taken out of the
    environment), or write why not on the launcher's report pipe and leave with 127."""
    raw = os.environ.pop(LIMITS_VARIABLE, "")
    try:
        apply_in_child(raw)
    except LimitError as exc:
        os.write(report_fd, f"E {exc}\n".encode())
        os._exit(127)
