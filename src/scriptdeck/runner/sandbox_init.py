"""The first process of a run's PID namespace: ``sandbox_init.py UID GID GROUPS -- ARGV``.

bwrap's own init reports the script's end to bwrap and is never waited for, so the script's
rusage would be lost to the launcher. This one is waited for (``bwrap --as-pid-1``): it
becomes the run's user (``-`` for UID keeps the one it has), forks the script, reaps every
process that re-parents to it, and leaves with the script's status when the script ends;
the kernel then kills whatever is left in the namespace. Its rusage, which the launcher
reads, covers the script and everything it reaped.

Standard library only; it must start fast.
"""

import os
import signal
import sys

# As a namespace's init, it gets only the signals it handles; the script is in the same
# process group and gets the group's signals itself.
HANDLED = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _drop(uid: str, gid: str, groups: str) -> None:
    if uid == "-":
        return
    os.setgroups([int(g) for g in groups.split(",") if g])
    os.setgid(int(gid))
    os.setuid(int(uid))


def main() -> None:
    uid, gid, groups, separator, *argv = sys.argv[1:]
    assert separator == "--" and argv
    for name in HANDLED:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    try:
        _drop(uid, gid, groups)
    except OSError as exc:
        sys.stderr.write(f"scriptdeck sandbox: cannot become user {uid}: {exc.strerror}\n")
        os._exit(127)
    script = os.fork()
    if script == 0:
        for name in (*HANDLED, "SIGPIPE", "SIGXFSZ"):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        os.environ.pop("PWD", None)  # bwrap's, for --chdir: not the run's environment
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            sys.stderr.write(f"scriptdeck sandbox: cannot run {argv[0]!r}: {exc.strerror}\n")
            os._exit(127)
    while True:
        try:
            pid, status = os.wait()
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
        if pid == script:
            break
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))  # an init cannot die by its own signal
    os._exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
