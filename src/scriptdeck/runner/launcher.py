"""A small parent for the script, so its peak memory is measured exactly.

Run as ``python -I -S launcher.py REPORT_FD PARENT_PID ARGV...``. Linux charges a process that
was forked from a large one (a Celery worker) with its parent's memory in
``ru_maxrss``. This launcher starts small, forks the script from itself, waits for
it with ``wait4`` and writes the script's own rusage to REPORT_FD, then leaves with
the script's exit status (or dies by the same signal).

Standard library only; it must start fast.
"""

import os
import signal
import sys

FORWARDED_DEFAULTS = ("SIGPIPE", "SIGXFSZ")


PR_SET_PDEATHSIG = 1
CHILD_LIMITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child_limits.py")


def _ignore(signum, frame):  # noqa: ANN001, ANN202
    # The whole process group gets the signal; the script decides what to do with it.
    return None


def _orphaned(signum, frame):  # noqa: ANN001, ANN202
    # The worker thread that started us is gone (killed outright): take the script down
    # with us rather than leave it running with nobody to record it. (The kernel tells
    # us when the spawning *thread* exits: run() blocks that thread until the end.)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def _die_with_parent(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGUSR2, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        _orphaned(signal.SIGUSR2, None)


def _limit_child(report_fd: int) -> None:
    # The run's cgroups and rlimits, before it is the script. By path, under a private name:
    # this small interpreter has no package on its path.
    if "SCRIPTDECK_RUN_LIMITS" in os.environ:
        from importlib.machinery import SourceFileLoader

        module = type(os)("_scriptdeck_child_limits")
        SourceFileLoader(module.__name__, CHILD_LIMITS).exec_module(module)
        module.enter(report_fd)


def main() -> None:
    report_fd = int(sys.argv[1])
    parent = int(sys.argv[2])
    argv = sys.argv[3:]
    # Python itself ignores SIGPIPE/SIGXFSZ; an exec'd program must get the defaults back.
    for name in FORWARDED_DEFAULTS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    # Handlers (not SIG_IGN) are reset to the default by exec, so the script gets the defaults.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _ignore)
    signal.signal(signal.SIGUSR2, _orphaned)
    _die_with_parent(parent)
    try:
        pid = os.fork()
    except OSError as exc:
        sys.stderr.write(f"scriptdeck launcher: cannot fork: {exc}\n")
        os._exit(127)
    if pid == 0:
        # The report pipe closes on a successful exec; on failure it says why.
        os.set_inheritable(report_fd, False)
        _limit_child(report_fd)
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(report_fd, f"E cannot run {argv[0]!r}: {exc.strerror}\n".encode())
            os._exit(127)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    os.write(
        report_fd,
        f"{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime} {pid}\n".encode(),
    )
    os.close(report_fd)
    sys.stdout.flush()
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP cannot be handled, and need not be reset
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


if __name__ == "__main__":
    main()
