"""What the bench reads from the stack's processes: who is who, their CPU, their memory."""

from __future__ import annotations

import threading
from typing import Any

import psutil
from stack import Server

__all__ = ["Sampler", "cpu_seconds", "process_roles"]


def process_roles(server: Server) -> dict[str, psutil.Process]:
    """The serve process's children by role (``web``, ``worker``, ``sweeper``, ``scheduler``)."""
    roles: dict[str, psutil.Process] = {}
    for child in psutil.Process(server.process.pid).children():
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue
        for role in ("web", "worker", "sweeper", "scheduler"):
            if role in argv[1:5]:
                roles.setdefault(role, child)
    return roles


def _cpu(proc: psutil.Process, own: bool = True, reaped: bool = True) -> float:
    """CPU seconds of ``proc`` itself and/or of the children it has reaped."""
    try:
        t = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return (t.user + t.system if own else 0.0) + (
        t.children_user + t.children_system if reaped else 0.0
    )


def cpu_seconds(
    server: Server, broker_pid: int | None, postgres_pids: set[int]
) -> dict[str, float]:
    """CPU seconds used so far by each part of the stack. Differences of two readings give
    what a scenario cost (a process that starts and ends in between is missed, unless its
    parent reaped it).

    The worker is split: its consumer (Celery's main process), its pool processes (a run's
    bookkeeping: claim, runner loop, sampling, records), its fork servers (exec and warm),
    and what the pool processes reaped: the launchers and the scripts under them. Then the
    other roles of ``serve`` (sweeper, scheduler), the PostgreSQL processes given (see
    :meth:`stack.Postgres.pids`), the broker, and this client.
    """
    keys = (
        "web",
        "worker consumer",
        "worker pool",
        "fork servers",
        "launchers + scripts",
        "other roles",
        "postgresql",
        "broker",
        "client",
    )
    totals = dict.fromkeys(keys, 0.0)
    for role, proc in process_roles(server).items():
        try:
            children = proc.children(recursive=True)
        except psutil.Error:
            continue
        if role != "worker":
            key = "web" if role == "web" else "other roles"
            totals[key] += sum(_cpu(p) for p in [proc, *children])
            continue
        totals["worker consumer"] += _cpu(proc)
        for child in children:
            try:
                server_process = "forkserver.py" in " ".join(child.cmdline())
            except psutil.Error:
                continue
            if server_process:  # a server's children are the intermediates it reaps
                totals["fork servers"] += _cpu(child)
            elif child.ppid() == proc.pid:  # a pool process; launchers are re-parented to it
                totals["worker pool"] += _cpu(child, reaped=False)
                totals["launchers + scripts"] += _cpu(child, own=False)
    for pid in postgres_pids:
        try:
            totals["postgresql"] += _cpu(psutil.Process(pid))
        except psutil.Error:
            continue
    if broker_pid is not None:
        try:
            totals["broker"] = _cpu(psutil.Process(broker_pid))
        except psutil.Error:
            pass
    totals["client"] = _cpu(psutil.Process())
    return totals


class Sampler:
    """Samples processes' RSS (and nothing else) every ``interval`` seconds in a thread."""

    def __init__(self, pick: Any, interval: float = 0.1) -> None:
        self.pick = pick
        self.interval = interval
        self.peak_single = 0
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for proc in self.pick():
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
