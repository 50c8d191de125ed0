"""Finding and ending every process a script started, grandchildren in new sessions included."""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass, field

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


def _ppid_map() -> dict[int, int]:
    """{pid: parent pid} for every process, read once."""
    ppid_map = getattr(psutil, "_ppid_map", None)
    if ppid_map is not None:
        try:
            return dict(ppid_map())
        except Exception:  # a private helper: fall back to the public, slower way
            pass
    parents = {}
    for proc in psutil.process_iter(["ppid"]):
        parents[proc.pid] = proc.info["ppid"] or 0
    return parents


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

    def _remember(self, proc: psutil.Process) -> None:
        try:
            self.known.setdefault((proc.pid, proc.create_time()), proc)
        except psutil.Error:
            pass

    def scan(self) -> list[psutil.Process]:
        """Refresh the set of live processes of this run and return them.

        One pass over the process table: each sample costs about a millisecond.
        """
        parents = _ppid_map()
        children_of: dict[int, list[int]] = {}
        for pid, parent in parents.items():
            children_of.setdefault(parent, []).append(pid)
        me = os.getpid()
        known_pids = {pid for pid, _ in self.known}
        frontier = [self.root_pid, *known_pids]
        # Orphans re-parented to us (we are a subreaper) that carry this run's marker.
        for pid in children_of.get(me, []):
            if pid != self.root_pid and pid not in known_pids:
                try:
                    proc = psutil.Process(pid)
                except psutil.Error:
                    continue
                if self._carries_marker(proc):
                    frontier.append(pid)
        seen: set[int] = set()
        while frontier:
            pid = frontier.pop()
            if pid in seen or pid not in parents:
                continue
            seen.add(pid)
            if pid not in known_pids:
                try:
                    self._remember(psutil.Process(pid))
                except psutil.Error:
                    continue
            frontier.extend(children_of.get(pid, []))
        return self.alive()

    def alive(self) -> list[psutil.Process]:
        live = []
        for key, proc in list(self.known.items()):
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    live.append(proc)
                    continue
            except psutil.Error:
                pass
            self.known.pop(key, None)
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
                self._remember(proc)

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
        self.scan()
        if not _subreaper_set:
            # Orphans went to init, not to us: only the marker finds them. As a subreaper
            # (Linux) every orphan of the run is re-parented to us and scan() saw it, so the
            # pass over every process on the machine (~6 ms a run) is not needed.
            self.find_marked()
        live = [p for p in self.alive() if p.pid != self.root_pid]
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
