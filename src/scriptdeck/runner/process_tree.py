"""Finding and ending every process a script started, grandchildren in new sessions included."""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass, field
from typing import NamedTuple

import psutil

PR_SET_CHILD_SUBREAPER = 36
_subreaper_set = False

# Every process of a run carries this variable (children inherit the environment),
# so a descendant that escaped into a session of its own is still found at the end.
RUN_MARKER_VARIABLE = "SCRIPTDECK_RUN_MARKER"


def become_subreaper() -> bool:
    """Make orphaned descendants of this process re-parent to it, not to init (Linux only).

    A grandchild whose parent exited then stays visible as our child, so it can be
    found, ended and reaped instead of running on unnoticed.
    """
    global _subreaper_set
    if _subreaper_set:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper_set = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _subreaper_set = False
    return _subreaper_set


class ProcEntry(NamedTuple):
    """What one line of ``/proc/PID/stat`` says about a process that the scans need."""

    ppid: int
    state: str
    start: int  # start time in clock ticks since boot: with the pid, names one process


def read_stat(pid: int) -> ProcEntry | None:
    """Parent, state and start time of ``pid`` from ``/proc/PID/stat``; None if it is gone."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 1024)
    except OSError:
        return None
    finally:
        os.close(fd)
    # The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
    fields = data[data.rfind(b")") + 2 :].split(b" ", 20)
    try:
        return ProcEntry(int(fields[1]), fields[0].decode(), int(fields[19]))
    except (IndexError, ValueError):
        return None


def proc_table() -> dict[int, ProcEntry]:
    """{pid: (parent pid, state, start ticks)} for every process, one pass over /proc.

    A third of the CPU of psutil's ``_ppid_map`` (raw ``os.read``, no file objects), which
    matters because every sample of every run scans it, whatever the number of processes on
    the machine.
    """
    table: dict[int, ProcEntry] = {}
    if not _HAVE_PROC:
        for proc in psutil.process_iter(["ppid", "status", "create_time"]):
            info = proc.info
            status = "Z" if info["status"] == psutil.STATUS_ZOMBIE else "R"
            table[proc.pid] = ProcEntry(info["ppid"] or 0, status, int(info["create_time"] * 100))
        return table
    with os.scandir("/proc") as entries:
        for entry in entries:
            name = entry.name
            if not name.isdigit():
                continue
            pid = int(name)
            stat = read_stat(pid)
            if stat is not None:
                table[pid] = stat
    return table


def _ppid_map() -> dict[int, int]:
    """{pid: parent pid} for every process, read once."""
    return {pid: entry.ppid for pid, entry in proc_table().items()}


_HAVE_PROC = os.path.exists("/proc/self/stat")
_HAVE_CHILDREN = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def own_children() -> set[int] | None:
    """The pids of this process's children (every thread's), or None where Linux does not say.

    Read from ``/proc/self/task/*/children``: a few small files, whatever the number of
    processes on the machine.
    """
    if not _HAVE_CHILDREN:
        return None
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    children: set[int] = set()
    for task in tasks:
        try:
            fd = os.open(f"/proc/self/task/{task}/children", os.O_RDONLY)
        except FileNotFoundError:
            continue  # the thread has ended
        except OSError:
            return None
        try:
            data = b""
            while chunk := os.read(fd, 65536):
                data += chunk
        except OSError:
            return None
        finally:
            os.close(fd)
        children.update(int(pid) for pid in data.split())
    return children


def nothing_else_left(expected: set[int]) -> bool:
    """Whether no process but ``expected`` descends from this one: told without a pass over
    /proc, or False when that cannot be told so.

    As a subreaper, every orphan below us re-parents to us: once a run's launcher is reaped,
    whatever the run left running is in the subtree of a child of ours. No child but the
    expected ones (fork servers, other threads' launchers) means the run left nothing, not
    even a zombie.
    """
    if not _subreaper_set:
        return False
    children = own_children()
    return children is not None and children <= expected


# The marker each child of ours carries, by (pid, start ticks): a child of this process that
# is not a run (a fork or exec server, another thread's launcher) is read once, not at every scan.
_marker_of: dict[tuple[int, int], str | None] = {}


@dataclass
class TreeSample:
    rss_bytes: int
    cpu_seconds: float
    processes: int
    read_bytes: int | None = None
    write_bytes: int | None = None


@dataclass
class ProcessTree:
    """The processes of one run: the root and every descendant ever seen."""

    root_pid: int
    marker: str
    known: dict[tuple[int, float], psutil.Process] = field(default_factory=dict)
    # Start ticks of each known pid, to tell it from a later process given the same pid.
    starts: dict[int, int] = field(default_factory=dict)
    # The process table the last scan read (engine: reaping stray zombies without a new pass).
    table: dict[int, ProcEntry] = field(default_factory=dict)
    root_start: int | None = None

    def _remember(self, proc: psutil.Process, start: int) -> None:
        try:
            self.known.setdefault((proc.pid, proc.create_time()), proc)
            self.starts[proc.pid] = start
        except psutil.Error:
            pass

    def scan(self) -> list[psutil.Process]:
        """Refresh the set of live processes of this run and return them.

        One pass over the process table (``/proc/*/stat``, read raw).
        """
        self.table = parents = proc_table()
        children_of: dict[int, list[int]] = {}
        for pid, entry in parents.items():
            children_of.setdefault(entry.ppid, []).append(pid)
        me = os.getpid()
        frontier = [self.root_pid, *self.starts]
        # Orphans re-parented to us (we are a subreaper) that carry this run's marker.
        for pid in children_of.get(me, []):
            if pid != self.root_pid and pid not in self.starts:
                if self._child_carries_marker(pid, parents[pid]):
                    frontier.append(pid)
        seen: set[int] = set()
        while frontier:
            pid = frontier.pop()
            if pid in seen or pid not in parents:
                continue
            seen.add(pid)
            start = self.starts.get(pid, self.root_start if pid == self.root_pid else None)
            if start is not None and start != parents[pid].start:
                continue  # the pid now names another process
            if pid == self.root_pid:
                self.root_start = parents[pid].start
            if pid not in self.starts:
                try:
                    self._remember(psutil.Process(pid), parents[pid].start)
                except psutil.Error:
                    continue
            frontier.extend(children_of.get(pid, []))
        self._sweep_marker_cache(parents)
        return self.alive(parents)

    def _child_carries_marker(self, pid: int, entry: ProcEntry) -> bool:
        if entry.state == "Z":  # no environment left to read; reaped by the engine
            return False
        key = (pid, entry.start)
        if key not in _marker_of:
            try:
                _marker_of[key] = psutil.Process(pid).environ().get(RUN_MARKER_VARIABLE)
            except psutil.Error:
                return False
        return _marker_of[key] == self.marker

    @staticmethod
    def _sweep_marker_cache(table: dict[int, ProcEntry]) -> None:
        for key in [k for k in _marker_of if k[0] not in table or table[k[0]].start != k[1]]:
            _marker_of.pop(key, None)

    def alive(self, table: dict[int, ProcEntry] | None = None) -> list[psutil.Process]:
        """The known processes still running (not zombies), as ``table`` or /proc says now."""
        live = []
        for key, proc in list(self.known.items()):
            pid = proc.pid
            entry = table.get(pid) if table is not None else read_stat(pid)
            if entry is None and not _HAVE_PROC:
                try:
                    if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                        live.append(proc)
                        continue
                except psutil.Error:
                    pass
            elif entry is not None and entry.state != "Z" and entry.start == self.starts.get(pid):
                live.append(proc)
                continue
            self.known.pop(key, None)
            self.starts.pop(pid, None)
        return live

    def sample(self) -> TreeSample:
        rss = 0
        cpu = 0.0
        read = write = 0
        io_seen = False
        # The root is scriptdeck's launcher, not the script: leave it out of the figures.
        procs = [p for p in self.scan() if p.pid != self.root_pid]
        for proc in procs:
            try:
                with proc.oneshot():
                    rss += proc.memory_info().rss
                    times = proc.cpu_times()
                    cpu += times.user + times.system
                    try:
                        io = proc.io_counters()
                        read += io.read_bytes
                        write += io.write_bytes
                        io_seen = True
                    except (psutil.Error, AttributeError):
                        pass
            except psutil.Error:
                continue
        return TreeSample(
            rss_bytes=rss,
            cpu_seconds=cpu,
            processes=len(procs),
            read_bytes=read if io_seen else None,
            write_bytes=write if io_seen else None,
        )

    def _carries_marker(self, proc: psutil.Process) -> bool:
        try:
            return proc.environ().get(RUN_MARKER_VARIABLE) == self.marker
        except psutil.Error:
            return False

    def find_marked(self) -> None:
        """Last sweep: any process on the machine carrying this run's marker belongs to it."""
        for proc in psutil.process_iter(["pid"]):
            if proc.pid == os.getpid():
                continue
            if self._carries_marker(proc):
                entry = read_stat(proc.pid)
                if entry is not None:
                    self._remember(proc, entry.start)

    def signal_all(self, sig: int, include_root: bool = True) -> None:
        """Send ``sig`` to the root's process group and to every known live process."""
        if include_root:
            try:
                os.killpg(self.root_pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        for proc in self.scan():
            if not include_root and proc.pid == self.root_pid:
                continue
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass

    def end_all(self, grace: float, already_terminated: bool = False) -> int:
        """End every remaining process of the run: SIGTERM, ``grace`` seconds, SIGKILL.

        Returns how many processes had to be ended. Our own children among them are
        reaped so none is left a zombie.
        """
        live = self.scan()
        if not _subreaper_set:
            # Orphans went to init, not to us: only the marker finds them. As a subreaper
            # (Linux) every orphan of the run is re-parented to us and scan() saw it, so the
            # pass over every process on the machine (~6 ms a run) is not needed.
            self.find_marked()
            live = self.alive()
        live = [p for p in live if p.pid != self.root_pid]
        count = len(live)
        if not live:
            return 0
        if not already_terminated:
            for proc in live:
                try:
                    proc.terminate()
                except psutil.Error:
                    pass
            # wait_procs reaps those that are our children (psutil waits with waitpid).
            _, live = psutil.wait_procs(live, timeout=grace)
        for proc in live:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(live, timeout=5)
        self.alive()
        return count
