"""Warm starts: the worker's side of the fork servers that fork each run from a ready process.

Why: a cold run pays for the launcher (~12 ms) and then a whole interpreter start plus the
script's imports (~17 ms for ``python -c pass``, far more with ``pandas``). A ``fork()`` of a
small process that already has the interpreter, ``site``, the SDK and the modules a script
declares (``PRELOAD = ["pandas"]``) imported costs about a millisecond.

The contract is the cold one, and the engine's :class:`~scriptdeck.runner.outcome.Outcome` is
built by the same code, because the processes it deals with have the same shape:

* **The server** (``forkserver.py``, what runs inside it) is started by the worker process
  (lazily, on the first warm run of that process) as ``python forkserver.py SOCKET_FD
  WORKER_PID PRELOAD_JSON``: the same interpreter and flags as a cold ``python script.py``,
  and an environment holding only the run environment's *start-up* variables (``PYTHON*``,
  ``LANG``, ``LC_*``, ``HOME``), so ``site``, ``sys.path``, ``sys.flags``, the locale and the
  standard streams come out exactly as they do for a cold script. It imports the standard
  library pieces it needs, the SDK and the preload list, nothing of scriptdeck's server side,
  so a fork of it is small (``ru_maxrss`` of a fork starts at its parent's size: the server
  must not be a fork of a big Celery worker). Servers are kept per (interpreter, start-up
  variables, preload) in each worker process, and never shared with a process forked from it.
* **A run** is one request over a UNIX socket (see ``forkserver.py``); the launcher it forks
  is re-parented to the worker, which is a child subreaper: the engine ``wait4``\\ s it
  exactly like the cold launcher it replaces, through a :class:`WarmProcess`.
* **The script's process** gets what ``exec`` would have given it; each run forks from the
  server, which never runs a script itself, so nothing a script does (globals,
  monkeypatches, ``os.environ``) reaches the next run.

Known differences from a cold start: the hash seed is the server's (shared by its runs);
modules the server imported are already in ``sys.modules``, so a same-named module in the
script's folder does not shadow a preloaded one; ``/proc/PID/environ`` of the launcher and the
script shows the server's start-up environment (their descendants started with ``exec`` carry
the run's, marker included); at exit only the script's own globals are finalised, not every
module's.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
from typing import Any

from .forkserver import _receive, _send
from .outcome import signal_name
from .process_tree import become_subreaper

SERVER_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "forkserver.py")
# Variables read while the interpreter starts: a server is only shared by runs that agree on them.
_STARTUP_PREFIXES = ("PYTHON", "LC_")
_STARTUP_NAMES = ("LANG", "HOME")
_RLIMITS = (
    "RLIMIT_AS",
    "RLIMIT_CORE",
    "RLIMIT_CPU",
    "RLIMIT_DATA",
    "RLIMIT_FSIZE",
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_STACK",
)


class ForkServerError(Exception):
    """The warm start could not happen; the sentence says why, and the run starts cold."""


class WarmProcess:
    """What the engine needs of a ``Popen``: the launcher's pid, the output pipes, the status."""

    def __init__(self, pid: int, stdout_fd: int, stderr_fd: int) -> None:
        self.pid = pid
        self.stdout = open(stdout_fd, "rb", buffering=0)  # closed by the engine
        self.stderr = open(stderr_fd, "rb", buffering=0)
        self.returncode: int | None = None


def startup_environment(env: dict[str, str]) -> dict[str, str]:
    """The part of a run's environment the interpreter reads while it starts."""
    return {
        key: value
        for key, value in env.items()
        if key.startswith(_STARTUP_PREFIXES) or key in _STARTUP_NAMES
    }


class ForkServer:
    """One server process, owned by the worker process that started it."""

    def __init__(
        self,
        python: str,
        preload: tuple[str, ...],
        env: dict[str, str],
        timeout: float = 60.0,
        exec_only: bool = False,
    ) -> None:
        self.python = python
        self.preload = preload
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self.preload_failed: dict[str, str] = {}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = subprocess.Popen(
                [
                    python,
                    # The exec server: isolated, no site (its runs exec their own program).
                    *(["-I", "-S"] if exec_only else []),
                    SERVER_FILE,
                    str(theirs.fileno()),
                    str(os.getpid()),
                    json.dumps(list(preload)),
                    *(["exec"] if exec_only else []),
                ],
                cwd="/",
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
                pass_fds=(theirs.fileno(),),
            )
        except OSError as exc:
            ours.close()
            raise ForkServerError(f"cannot start the fork server: {exc.strerror or exc}") from exc
        finally:
            theirs.close()
        self.sock = ours
        try:
            self.sock.settimeout(timeout)
            hello, _ = _receive(self.sock)
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            raise ForkServerError(f"the fork server did not start: {self._why(exc)}") from exc
        self.preload_failed = dict(hello.get("preload_failed") or {})

    def spawn(self, request: dict[str, Any], fds: list[int], timeout: float = 30.0) -> int:
        """Ask for one run; the launcher's pid, already a child of this process."""
        with self.lock:
            try:
                self.sock.settimeout(timeout)
                _send(self.sock, request, fds)
                reply, _ = _receive(self.sock)
            except (OSError, EOFError, ValueError) as exc:
                raise ForkServerError(self._why(exc)) from exc
        if "pid" not in reply:
            raise ForkServerError(f"the fork server could not fork: {reply.get('error')}")
        return int(reply["pid"])

    def _why(self, exc: BaseException) -> str:
        status = None
        try:
            status = self.proc.wait(timeout=0.5)
        except Exception:
            pass
        if status is not None and status < 0:
            return f"the fork server was killed by {signal_name(-status)}"
        if status is not None:
            return f"the fork server exited with code {status}"
        if isinstance(exc, TimeoutError):
            return "the fork server did not answer in time"
        return f"the fork server failed: {exc}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Stop the server (its runs are not its children: they go on)."""
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except Exception:
                pass


MAX_SERVERS = 4
_servers: dict[tuple[Any, ...], ForkServer] = {}
_servers_lock = threading.Lock()


def _registry_lock() -> threading.Lock:
    return _servers_lock


def _close_inherited(server: ForkServer) -> None:
    try:
        fd = server.sock.detach()
        if fd >= 0:
            os.close(fd)
    except OSError:
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _reset_after_fork())


def _reset_after_fork() -> None:
    global _servers_lock
    for server in list(_servers.values()):
        _close_inherited(server)
    _servers.clear()
    _servers_lock = threading.Lock()  # a lock held by another thread at the fork stays held


def server_for(
    python: str, preload: tuple[str, ...], env: dict[str, str], exec_only: bool = False
) -> ForkServer:
    """This process's server for that interpreter, start-up environment and preload list
    (``exec_only``: the one exec server of this process, see :func:`start_exec`)."""
    startup = {} if exec_only else startup_environment(env)
    key: tuple[Any, ...] = (
        ("exec",) if exec_only else (python, tuple(sorted(startup.items())), preload)
    )
    with _registry_lock():
        server = _servers.get(key)
        if server is not None and (server.owner != os.getpid() or not server.alive()):
            _discard(key)
            server = None
        if server is None:
            while len(_servers) >= MAX_SERVERS:
                _discard(next(iter(_servers)))
            server = ForkServer(python, preload, startup, exec_only=exec_only)
        else:
            del _servers[key]  # re-inserted last: the least recently used goes first
        _servers[key] = server
        return server


def _discard(key: tuple[Any, ...]) -> None:
    server = _servers.pop(key, None)
    if server is not None:
        server.close()


def server_pids() -> set[int]:
    """The pids of this process's servers (children of ours that are not runs)."""
    return {server.proc.pid for server in list(_servers.values())}


def shutdown() -> None:
    """Stop every server of this process (tests; a worker process that exits)."""
    with _registry_lock():
        for key in list(_servers):
            _discard(key)


def check_preload(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Module names only (``a.b.c``): anything else is refused before it reaches a server."""
    clean = []
    for name in names:
        if not isinstance(name, str) or not all(part.isidentifier() for part in name.split(".")):
            raise ForkServerError(f"{name!r} is not a module name to preload")
        if name not in clean:
            clean.append(name)
    return tuple(clean)


def current_rlimits() -> dict[str, list[int]]:
    """This process's limits, which a cold script would inherit: the warm one gets them too."""
    limits = {}
    for name in _RLIMITS:
        if hasattr(resource, name):
            limits[name] = list(resource.getrlimit(getattr(resource, name)))
    return limits


def current_umask() -> int:
    """This process's umask, read without changing it (``os.umask`` would, for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def same_interpreter(python: str) -> bool:
    """Whether ``python`` is this worker's interpreter, or a virtual environment's made from the
    same version of it (a script's own dependencies): a server runs this module's code, so
    only such an interpreter gets one of its own (one server per interpreter)."""
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        return True
    config = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(python))), "pyvenv.cfg")
    try:
        with open(config, encoding="utf-8") as handle:
            lines = [line.partition("=") for line in handle]
    except OSError:
        return False
    values = {key.strip(): value.strip() for key, _, value in lines}
    return values.get("version_info", "").split(".")[:3] == [str(n) for n in sys.version_info[:3]]


def start(
    argv: list[str], cwd: str, env: dict[str, str], preload: tuple[str, ...] | list[str] = ()
) -> tuple[WarmProcess, int, ForkServer]:
    """Start ``argv`` (``[python, file.py, ...]``) warm: its process, report fd, and server.

    Raises :class:`ForkServerError` when it cannot (the caller starts it cold), and
    ``OSError`` for what would stop a cold start too (a missing cwd), with the same error.
    """
    if not sys.platform.startswith("linux"):
        raise ForkServerError("warm starts need Linux")
    if len(argv) < 2 or not argv[1].endswith(".py"):
        raise ForkServerError("only a Python script file can start warm")
    if not same_interpreter(argv[0]):
        raise ForkServerError(f"{argv[0]} is not this worker's interpreter ({sys.executable})")
    if not become_subreaper():
        raise ForkServerError("this process cannot be a child subreaper")
    if not os.path.isdir(cwd):
        raise FileNotFoundError(2, os.strerror(2), cwd)  # what Popen raises for a missing cwd
    server = server_for(argv[0], check_preload(preload), env)
    return _start_through(server, {"argv": list(argv), "cwd": cwd, "env": env})


def start_exec(
    argv: list[str], cwd: str, env: dict[str, str]
) -> tuple[WarmProcess, int, ForkServer]:
    """Start ``argv`` cold through this process's exec server: same as ``launcher.py``.

    A cold start pays for a new interpreter for the script; started with ``Popen``, it paid
    for a second one, the launcher's (``python -I -S launcher.py``, ~18 ms here). The exec
    server is that launcher, started once per worker process: each run forks a launcher from
    it (re-parented to the worker, as for a warm run), which forks the script's process,
    which execs the program with the run's environment. The script's ``ru_maxrss``
    starts at the server's small size, as it did at the launcher's.

    Raises :class:`ForkServerError` when it cannot (the caller starts the launcher itself),
    and ``OSError`` for a missing cwd, as ``Popen`` does.
    """
    if not sys.platform.startswith("linux"):
        raise ForkServerError("an exec server needs Linux")
    if not become_subreaper():
        raise ForkServerError("this process cannot be a child subreaper")
    if not os.path.isdir(cwd):
        raise FileNotFoundError(2, os.strerror(2), cwd)
    server = server_for(sys.executable, (), env, exec_only=True)
    return _start_through(server, {"argv": list(argv), "cwd": cwd, "env": env, "exec": True})


def _start_through(
    server: ForkServer, request: dict[str, Any]
) -> tuple[WarmProcess, int, ForkServer]:
    """Send one run to ``server``: its process (the launcher), the report fd, the server."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    report_r, report_w = os.pipe()
    request = {**request, "umask": current_umask(), "rlimits": current_rlimits()}
    try:
        pid = server.spawn(request, [out_w, err_w, report_w])
    except BaseException:
        for fd in (out_r, err_r, report_r):
            os.close(fd)
        with _registry_lock():
            for key, known in list(_servers.items()):
                if known is server:
                    _discard(key)
        raise
    finally:
        for fd in (out_w, err_w, report_w):
            os.close(fd)
    return WarmProcess(pid, out_r, err_r), report_r, server
