"""Isolation of one run: another identity, and namespaces of its own where bubblewrap is.

A :class:`Sandbox` turns a run's argv into one that starts it isolated. No code runs in the
launcher for that: the launcher's child ``exec``\\ s the wrapped command, so the cold paths
(exec server, launcher process) need nothing more, and whatever the launcher's child did
before its ``exec`` (limits) still holds for the script.

- ``bwrap`` (Debian's ``bubblewrap``): mount, PID and IPC namespaces (and network ones when the
  script says ``network: false``); ``/`` read-only, the hidden paths under an empty tmpfs, the
  run's directory writable, a private ``/tmp``, a ``/proc`` of the run's own PID namespace.
  The run's first process in there is ``sandbox_init.py``: when the script ends, the init
  ends, and the kernel kills whatever is left in the namespace (double ``setsid`` included).
- ``user``: as root, the run ends as that user. In bwrap, the namespace's init
  (``sandbox_init.py``) sets groups, gid and uid before it forks the script (bwrap sets no
  new privileges); without bwrap, ``setpriv`` does, with no capabilities left, just before
  the script's own ``exec``.

Standard library only, like the rest of the runner.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

# bwrap's own process must outlive the SIGTERM of a soft limit (sent to the whole group):
# if it died, the namespace would go with it before the script could clean up. The script
# gets every default back just before it starts.
_SIGNALS = "TERM,INT,HUP"
INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_init.py")


class SandboxUnavailable(RuntimeError):
    """The isolation asked for cannot be had on this machine; the sentence says how to fix it."""


@dataclass(frozen=True)
class RunAs:
    """The identity a run ends with."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...] = ()

    @classmethod
    def lookup(cls, name: str) -> RunAs:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise SandboxUnavailable(
                f"the user {name!r} that runs scripts does not exist: create it with "
                f"`useradd --system --no-create-home --shell /usr/sbin/nologin {name}`, "
                "or name another one in SCRIPTDECK_RUN_AS"
            ) from None
        if entry.pw_uid == 0:
            raise SandboxUnavailable(f"the user {name!r} that runs scripts is root")
        groups = sorted({g.gr_gid for g in grp.getgrall() if name in g.gr_mem} | {entry.pw_gid})
        return cls(name, entry.pw_uid, entry.pw_gid, tuple(groups))


@dataclass(frozen=True)
class Sandbox:
    """How runs are isolated. ``None`` for ``user`` and ``bwrap`` means that part is off."""

    user: RunAs | None = None
    bwrap: str | None = None
    # Paths the script must not see (the server's home): an empty tmpfs goes over each.
    hidden: tuple[str, ...] = ()
    # Paths under a hidden one that runs still read (the scripts' virtual environments).
    readable: tuple[str, ...] = ()
    setpriv: str = "setpriv"
    python: str = sys.executable
    env: str = "env"

    @property
    def active(self) -> bool:
        return self.user is not None or self.bwrap is not None

    def namespaces(self, network: bool) -> list[str]:
        if self.bwrap is None:
            return []
        return ["mount", "pid", "ipc"] + ([] if network else ["network"])

    def describe(self, network: bool = True) -> dict[str, Any]:
        """What is in force, as ``details.sandbox`` and ``/healthz`` show it."""
        return {
            "user": self.user.name if self.user else None,
            "namespaces": self.namespaces(network),
            "network": network or self.bwrap is None,
        }

    def exit_code(self, code: int) -> int:
        """The script's exit code as ``os.waitstatus_to_exitcode`` gives it (negative: a signal).

        bwrap's init leaves with 128 + N when the script was killed by signal N; a script that
        exits with such a code itself reads the same, and is taken for killed.
        """
        if self.bwrap is not None and 128 < code < 128 + signal.NSIG:
            return -(code - 128)
        return code

    def wrap(self, argv: list[str], run_dir: str, cwd: str, network: bool = True) -> list[str]:
        """The command that runs ``argv`` isolated, with ``run_dir`` its only writable folder."""
        if self.bwrap is None:
            assert self.user is not None
            return [
                self.setpriv,
                f"--reuid={self.user.uid}",
                f"--regid={self.user.gid}",
                "--groups=" + ",".join(str(g) for g in self.user.groups),
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
                "--",
                *argv,
            ]
        command = [self.env, f"--ignore-signal={_SIGNALS}", "--", self.bwrap]
        command += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        command += self._mounts(run_dir, cwd)
        command += ["--unshare-pid", "--unshare-ipc", "--die-with-parent", "--as-pid-1"]
        if not network:
            command += ["--unshare-net"]
        user = self.user
        identity = [str(user.uid), str(user.gid), ",".join(map(str, user.groups))] if user else []
        command += ["--", self.python, "-I", "-S", INIT, *(identity or ["-", "-", ""]), "--"]
        return command + argv

    def _mounts(self, run_dir: str, cwd: str) -> list[str]:
        """Empty tmpfs over /tmp and the hidden folders; what a run reads under them bound
        back read-only; ``run_dir`` bound writable."""
        hidden = ["/tmp", *(p for p in self.hidden if os.path.isdir(p))]
        needed = [p for p in (*self.readable, cwd) if os.path.isdir(p)]
        if self.user is not None:
            # A folder the run's user could not walk through (root's home holding the
            # interpreter, say) is hidden too, and what the run needs under it bound back.
            for path in needed:
                blocked = _closed_ancestor(path)
                if blocked and not _under(blocked, hidden):
                    hidden.append(blocked)
        args = ["--perms", "1777", "--tmpfs", "/tmp"]
        for path in hidden[1:]:
            args += ["--tmpfs", path]
        for path in needed:
            if _under(path, hidden):
                args += [*_parents(path), "--ro-bind", path, path]
        args += [*_parents(run_dir), "--bind", run_dir, run_dir]
        return [*args, "--chdir", cwd]


def _under(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _closed_ancestor(path: str) -> str | None:
    """The topmost folder above ``path`` that others may not traverse, if there is one."""
    parent = os.path.dirname(path)
    closed = None
    while parent != "/":
        try:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                closed = parent
        except OSError:
            return closed
        parent = os.path.dirname(parent)
    return closed


def _interpreter_paths() -> tuple[str, ...]:
    """Where this Python lives: cold Python scripts run with it."""
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths |= {os.path.realpath(p) for p in paths}
    return tuple(sorted(paths))


def _parents(path: str) -> list[str]:
    """Make ``path``'s folders traversable where bwrap creates them (in a tmpfs): it would
    give them the mode 0700 of root's, which the run's user could not walk through."""
    folders = []
    parent = os.path.dirname(os.path.abspath(path))
    while parent != "/":
        folders.append(parent)
        parent = os.path.dirname(parent)
    return [arg for folder in reversed(folders) for arg in ("--perms", "0755", "--dir", folder)]


def find_bwrap() -> str | None:
    """bwrap's path if it is installed and can make namespaces here (a container may forbid it)."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    try:
        probe = subprocess.run(
            [path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-ipc", "--", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if probe.returncode == 0 else None


def build(
    mode: str, run_as: str, hidden: tuple[str, ...] = (), readable: tuple[str, ...] = ()
) -> Sandbox:
    """The sandbox for ``mode``: ``auto`` (the user when root, bwrap when it works), ``user``
    (the user when root, never bwrap), or ``off``.

    Raises :class:`SandboxUnavailable` when root has no user to run scripts as.
    """
    if mode == "off":
        return Sandbox()
    user = RunAs.lookup(run_as) if os.geteuid() == 0 else None
    tools = {name: shutil.which(name) or name for name in ("setpriv", "env")}
    if user is not None and not shutil.which("setpriv"):
        raise SandboxUnavailable("setpriv (util-linux) is needed to run scripts as another user")
    return Sandbox(
        user=user,
        bwrap=find_bwrap() if mode == "auto" else None,
        hidden=tuple(os.path.abspath(p) for p in hidden),
        readable=tuple(os.path.abspath(p) for p in readable) + _interpreter_paths(),
        setpriv=tools["setpriv"],
        env=tools["env"],
    )
