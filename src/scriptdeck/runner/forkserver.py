"""The fork server's own process: what runs inside ``python forkserver.py``.

:mod:`.forkclient`, the worker's side, says why there is a server and what a run gets from
it. It starts this file by path: ``python forkserver.py SOCKET_FD WORKER_PID PRELOAD_JSON``
for warm starts, ``python -I -S forkserver.py SOCKET_FD WORKER_PID [] exec`` for the exec
server of cold starts. Self-contained, standard library only at import: warm scripts inherit it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
from typing import Any

_HEADER = struct.Struct("!I")
_MAX_MESSAGE = 64 * 1024 * 1024
# What every server imports ahead, besides a script's own preload list.
_ALWAYS_PRELOAD = (
    "runpy",
    "pkgutil",  # runpy.run_path imports it at each call: once here, not in every run
    "traceback",
    "inspect",
    "scriptdeck.sdk",
    "celery_app.script_base",
)
PR_SET_PDEATHSIG = 1
CHILD_LIMITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child_limits.py")


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

    ``exec_only``: the cold starts' server (see ``forkclient.start_exec``), which imports nothing
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
            from importlib.machinery import SourceFileLoader  # cgroups, rlimits: as launcher.py

            limits = type(os)("_scriptdeck_child_limits")
            SourceFileLoader(limits.__name__, CHILD_LIMITS).exec_module(limits)
            limits.enter(report_fd)
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


if __name__ == "__main__":
    _serve(
        int(sys.argv[1]),
        int(sys.argv[2]),
        json.loads(sys.argv[3]),
        exec_only=sys.argv[4:5] == ["exec"],
    )
