"""Warm starts: a per-worker fork server that forks each Python script from a ready interpreter.

Why: a cold run pays for the launcher (~12 ms) and then a whole interpreter start plus the
script's imports (~17 ms for ``python -c pass``, far more with ``pandas``). A ``fork()`` of a
small process that already has the interpreter, ``site``, the SDK and the modules a script
declares (``PRELOAD = ["pandas"]``) imported costs about a millisecond.

The contract is the cold one, and the engine's :class:`~scriptdeck.runner.engine.Outcome` is
built by the same code, because the processes it deals with have the same shape:

* **The server** is started by the worker process (lazily, on the first warm run of that
  process) as ``python forkserver.py SOCKET_FD WORKER_PID PRELOAD_JSON``: the same interpreter
  and flags as a cold ``python script.py``, and an environment holding only the run
  environment's *start-up* variables (``PYTHON*``, ``LANG``, ``LC_*``, ``HOME``), so ``site``,
  ``sys.path``, ``sys.flags``, the locale and the standard streams come out exactly as they do
  for a cold script. It imports the standard library pieces it needs, the SDK and the preload
  list, nothing of scriptdeck's server side, so a fork of it is small (``ru_maxrss`` of a fork
  starts at its parent's size: the server must not be a fork of a big Celery worker).
  Servers are kept per (interpreter, start-up variables, preload) in each worker process, and
  never shared with a process forked from it.
* **A run** is one request over a UNIX socket: the argv, cwd, env, umask and rlimits as JSON,
  and the write ends of the run's stdout, stderr and report pipes as ``SCM_RIGHTS``. The server
  forks an intermediate that forks the *launcher* and exits at once, so the launcher is
  re-parented to the worker, which is a child subreaper: the engine ``wait4``\\ s it exactly
  like the cold launcher it replaces. The launcher does what ``launcher.py`` does (a session
  of its own, ``PR_SET_PDEATHSIG`` towards the worker, forks the script, reports the script's
  own ``wait4`` rusage on the report pipe, leaves with its status), except that the script is
  a fork running ``runpy.run_path(script, run_name="__main__")`` instead of an ``exec``.
* **The script's process** gets what ``exec`` would have given it: only descriptors 0, 1, 2
  (stdin ``/dev/null``), the run's cwd, ``os.environ`` rebuilt from the spec, ``sys.argv``,
  ``sys.path[0]`` the script's folder, Python's default signal dispositions, and at the end
  CPython's exit rules (``SystemExit`` codes, a traceback and 1, death by SIGINT after an
  uncaught ``KeyboardInterrupt``, non-daemon threads joined, ``atexit`` run, streams flushed).
  Each run forks from the server, which never runs a script itself, so nothing a script does
  (globals, monkeypatches, ``os.environ``) reaches the next run.

Known differences from a cold start: the hash seed is the server's (shared by its runs);
modules the server imported are already in ``sys.modules``, so a same-named module in the
script's folder does not shadow a preloaded one; ``/proc/PID/environ`` of the launcher and the
script shows the server's start-up environment (their descendants started with ``exec`` carry
the run's, marker included); at exit only the script's own globals are finalised, not every
module's.

Standard library only, at import: the server runs this file, and what it imports every script
inherits. The worker-side helpers import what they need when called.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
from typing import Any

SERVER_FILE = os.path.abspath(__file__)
_HEADER = struct.Struct("!I")
_MAX_MESSAGE = 64 * 1024 * 1024
# Variables read while the interpreter starts: a server is only shared by runs that agree on them.
_STARTUP_PREFIXES = ("PYTHON", "LC_")
_STARTUP_NAMES = ("LANG", "HOME")
# What every server imports ahead, besides a script's own preload list.
_ALWAYS_PRELOAD = (
    "runpy",
    "pkgutil",  # runpy.run_path imports it at each call: once here, not in every run
    "traceback",
    "inspect",
    "scriptdeck.sdk",
    "celery_app.script_base",
)
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
PR_SET_PDEATHSIG = 1


# --- framing, used by both sides --------------------------------------------------------------


def _send(sock: socket.socket, payload: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(payload).encode("utf-8")
    header = _HEADER.pack(len(data))
    if fds:
        socket.send_fds(sock, [header], fds)
    else:
        sock.sendall(header)
    sock.sendall(data)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("the other end closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    fds: list[int] = []
    if max_fds:
        header, fds, _, _ = socket.recv_fds(sock, _HEADER.size, max_fds)
    else:
        header = sock.recv(_HEADER.size)
    if not header:
        raise EOFError("the other end closed the connection")
    if len(header) < _HEADER.size:
        header += _receive_exactly(sock, _HEADER.size - len(header))
    (size,) = _HEADER.unpack(header)
    if size > _MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes is too large")
    return json.loads(_receive_exactly(sock, size).decode("utf-8")), list(fds)


# --- the server (runs in its own small interpreter) ----------------------------------------


def _prctl_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _serve(sock_fd: int, worker: int, preload: list[str], exec_only: bool = False) -> None:
    """The server's loop: one request, one forked run, one reply; until the worker goes.

    ``exec_only``: the cold starts' server (see :func:`start_exec`), which imports nothing
    ahead: its runs ``exec`` their program, so only its own small size reaches them.
    """
    _prctl_pdeathsig(signal.SIGKILL)
    if os.getppid() != worker:
        os._exit(0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # not ours: the worker's group may get them
    startup_path = list(sys.path)
    sock = socket.socket(fileno=sock_fd)
    failed: dict[str, str] = {}
    for name in () if exec_only else (*_ALWAYS_PRELOAD, *preload):
        try:
            __import__(name)
        except BaseException as exc:  # a preload that fails is imported again by the script
            failed[name] = f"{type(exc).__name__}: {exc}"
    sys.path[:] = startup_path  # whatever a preloaded module did to it, runs start from this
    import gc

    gc.collect()
    gc.freeze()  # keep the imported objects out of the children's collections (fewer COW copies)
    _send(sock, {"ready": True, "pid": os.getpid(), "preload_failed": failed})
    while True:
        try:
            request, fds = _receive(sock, max_fds=3)
        except (EOFError, ConnectionError):
            os._exit(0)
        try:
            if len(fds) != 3:
                reply: dict[str, Any] = {"error": f"expected 3 descriptors, got {len(fds)}"}
            else:
                reply = {"pid": _fork_launcher(sock, request, fds, worker, startup_path)}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                os.close(fd)
        try:
            _send(sock, reply)
        except OSError:
            os._exit(0)


def _fork_launcher(
    sock: socket.socket,
    request: dict[str, Any],
    fds: list[int],
    worker: int,
    startup_path: list[str],
) -> int:
    """Fork the launcher through an intermediate that exits, so it re-parents to the worker."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read_end)
            launcher = os.fork()
            if launcher == 0:
                os.close(write_end)
                _launch(sock, request, fds, worker, startup_path)
            os.write(write_end, str(launcher).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 64)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(middle, 0)  # once reaped, the launcher's parent is the worker
    if not chunks:
        raise RuntimeError("the intermediate process could not fork the launcher")
    return int(b"".join(chunks))


def _ignore(signum: int, frame: object) -> None:
    return None


def _orphaned(signum: int, frame: object) -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


def _launch(
    sock: socket.socket,
    request: dict[str, Any],
    fds: list[int],
    worker: int,
    startup_path: list[str],
) -> None:
    """The launcher: ``launcher.py``'s job, for a script that is a fork instead of an exec."""
    out_fd, err_fd, report_fd = fds
    try:
        os.setsid()
        sock.detach()  # its descriptor is closed below; the object must never close a reused one
        import time

        deadline = time.monotonic() + 10
        while os.getppid() != worker:
            if time.monotonic() > deadline:
                raise RuntimeError("the launcher was not re-parented to the worker")
            time.sleep(0.0002)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _ignore)
        signal.signal(signal.SIGUSR2, _orphaned)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if _prctl_pdeathsig(signal.SIGUSR2) and os.getppid() != worker:
            _orphaned(signal.SIGUSR2, None)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.closerange(3, report_fd)
        os.closerange(report_fd + 1, _max_fd())
        os.umask(int(request["umask"]))
        _apply_rlimits(request.get("rlimits", {}))
        try:
            os.chdir(request["cwd"])
        except OSError as exc:
            os.write(
                report_fd, f"E cannot change into {request['cwd']!r}: {exc.strerror}\n".encode()
            )
            os._exit(127)
        os.environ.clear()
        os.environ.update(request["env"])
    except BaseException as exc:
        try:
            os.write(report_fd, f"E the warm launcher failed: {exc}\n".encode())
        finally:
            os._exit(127)
    try:
        pid = os.fork()
    except OSError as exc:
        os.write(2, f"scriptdeck launcher: cannot fork: {exc}\n".encode())
        os._exit(127)
    if pid == 0:
        try:
            if request.get("exec"):
                _exec_program(request["argv"], report_fd)
            os.close(report_fd)
            _run_script(request["argv"], startup_path)
        finally:
            os._exit(1)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    os.write(report_fd, f"{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime} {pid}\n".encode())
    os.close(report_fd)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _exec_program(argv: list[str], report_fd: int) -> None:
    """A cold start's script process: ``exec`` the program, as ``launcher.py`` does."""
    # The report pipe closes on a successful exec; on failure it says why.
    os.set_inheritable(report_fd, False)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    # Ignored signals stay ignored across exec (Python ignores SIGPIPE and SIGXFSZ, the
    # server SIGINT/SIGTERM/SIGHUP): the program gets every default back, as from a shell.
    for name in ("SIGPIPE", "SIGXFSZ", "SIGINT", "SIGTERM", "SIGHUP", "SIGUSR2", "SIGCHLD"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvpe(argv[0], argv, os.environ)
    except OSError as exc:
        os.write(report_fd, f"E cannot run {argv[0]!r}: {exc.strerror}\n".encode())
        os._exit(127)


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        return 65536


def _apply_rlimits(limits: dict[str, list[int]]) -> None:
    import resource

    for name, (soft, hard) in limits.items():
        try:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        except (OSError, ValueError, AttributeError):
            pass  # a hard limit above ours cannot be raised: the server's own one stays


def _run_script(argv: list[str], startup_path: list[str]) -> None:
    """The script's process: what ``exec(python, script)`` would give it, then CPython's exit."""
    import atexit
    import time

    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR2, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for name in ("SIGPIPE", "SIGXFSZ"):  # as Python itself sets them at start-up
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    time.tzset()
    atexit._clear()
    path = argv[1]
    sys.argv = list(argv[1:])
    sys.orig_argv = list(argv)
    sys.path[:] = [os.path.dirname(os.path.realpath(path)), *startup_path[1:]]
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__
    code, interrupted = _execute(path)
    _finish(code, interrupted)


def _execute(path: str) -> tuple[int, bool]:
    """Run ``path`` as ``__main__``; the exit code and whether a KeyboardInterrupt ended it."""
    import runpy

    namespace: dict[str, Any] | None = None
    try:
        namespace = runpy.run_path(path, run_name="__main__")
        return 0, False
    except SystemExit as exc:
        return _exit_code(exc.code), False
    except BaseException as exc:
        _print_uncaught(exc, runpy.run_path.__code__.co_filename)
        return 1, isinstance(exc, KeyboardInterrupt)
    finally:
        if namespace is not None:
            _NAMESPACES.append(namespace)


_NAMESPACES: list[dict[str, Any]] = []


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code if -(2**31) <= code < 2**31 else -1
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _print_uncaught(exc: BaseException, runpy_file: str) -> None:
    # The traceback starts at the script, as in a cold run: runpy's and our frames are left out.
    ours = {runpy_file, _execute.__code__.co_filename}
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    exc.__traceback__ = tb
    try:
        sys.excepthook(type(exc), exc, tb)
    except Exception:
        import traceback

        traceback.print_exception(type(exc), exc, tb)


def _finish(code: int, interrupted: bool) -> None:
    """What ``Py_FinalizeEx`` does that a script can notice, then leave without the server's."""
    import atexit
    import gc

    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()  # type: ignore[attr-defined]
        except BaseException:
            pass
    atexit._run_exitfuncs()
    for namespace in _NAMESPACES:
        namespace.clear()  # the script's globals are finalised: unclosed files get flushed
    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            if code == 0:
                code = 120
    if interrupted:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


# --- the worker's side -------------------------------------------------------------------------


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
        import subprocess
        import threading

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
            return f"the fork server was killed by {_signal_name(-status)}"
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


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


MAX_SERVERS = 4
_servers: dict[tuple[Any, ...], ForkServer] = {}
_servers_lock: Any = None


def _registry_lock() -> Any:
    global _servers_lock
    if _servers_lock is None:
        import threading

        _servers_lock = threading.Lock()
    return _servers_lock


def _close_inherited(server: ForkServer) -> None:
    try:
        fd = server.sock.detach()
        if fd >= 0:
            os.close(fd)
    except OSError:
        pass


if hasattr(os, "register_at_fork") and __name__ != "__main__":
    os.register_at_fork(after_in_child=lambda: _reset_after_fork())


def _reset_after_fork() -> None:
    global _servers_lock
    for server in list(_servers.values()):
        _close_inherited(server)
    _servers.clear()
    _servers_lock = None


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
    import resource

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


def start(
    argv: list[str], cwd: str, env: dict[str, str], preload: tuple[str, ...] | list[str] = ()
) -> tuple[WarmProcess, int, ForkServer]:
    """Start ``argv`` (``[python, file.py, ...]``) warm: its process, report fd, and server.

    Raises :class:`ForkServerError` when it cannot (the caller starts it cold), and
    ``OSError`` for what would stop a cold start too (a missing cwd), with the same error.
    """
    from .process_tree import become_subreaper

    if not sys.platform.startswith("linux"):
        raise ForkServerError("warm starts need Linux")
    if len(argv) < 2 or not argv[1].endswith(".py"):
        raise ForkServerError("only a Python script file can start warm")
    if os.path.abspath(argv[0]) != os.path.abspath(sys.executable):
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
    from .process_tree import become_subreaper

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


if __name__ == "__main__":
    _serve(
        int(sys.argv[1]),
        int(sys.argv[2]),
        json.loads(sys.argv[3]),
        exec_only=sys.argv[4:5] == ["exec"],
    )
