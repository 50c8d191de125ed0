"""One cgroup per run, where the worker may make them: memory and process limits, peak memory.

cgroup v2 is used when this process's own cgroup delegates the ``memory`` and ``pids``
controllers to its children; else v1's ``memory`` and ``pids`` hierarchies, each where it is
mounted and writable. Runs go under a ``scriptdeck`` parent beside (below) the worker's own
cgroup, so whatever limits the worker is under still hold. Where neither works, the limits
are rlimits (:func:`.limits.rlimits_for`) and :func:`backend` says why.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .limits import Limits, encode, rlimits_for

PARENT = "scriptdeck"
_backend: tuple[str, dict[str, Path]] | None = None


def _own_paths() -> dict[str, str]:
    """This process's cgroup per hierarchy: ``{"memory": "/a/b", "": "/c"}`` ("" is v2)."""
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _mounts() -> dict[str, Path]:
    """Mount points: ``"memory"``/``"pids"`` for v1 hierarchies, ``""`` for v2."""
    mounts: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        if tail[0] == "cgroup2":
            mounts.setdefault("", Path(fields[4]))
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                if option in ("memory", "pids"):
                    mounts.setdefault(option, Path(fields[4]))
    return mounts


def _writable_parent(base: Path) -> Path | None:
    parent = base / PARENT
    try:
        parent.mkdir(exist_ok=True)
    except OSError:
        return None
    return parent if os.access(parent, os.W_OK) else None


def _detect() -> tuple[str, dict[str, Path]]:
    """``("v2", {"": parent})``, ``("v1", {"memory": parent, "pids": parent})`` or why not."""
    try:
        own, mounts = _own_paths(), _mounts()
    except OSError as exc:
        return f"rlimits (cannot read this process's cgroups: {exc.strerror})", {}
    if "" in mounts and "" in own:
        base = mounts[""] / own[""].lstrip("/")
        try:
            delegated = (base / "cgroup.subtree_control").read_text().split()
        except OSError:
            delegated = []
        if {"memory", "pids"} <= set(delegated):
            parent = _writable_parent(base)
            if parent is not None:
                try:
                    (parent / "cgroup.subtree_control").write_text("+memory +pids")
                    return "cgroup v2", {"": parent}
                except OSError:
                    pass
    found = {}
    for name in ("memory", "pids"):
        if name in mounts and name in own:
            parent = _writable_parent(mounts[name] / own[name].lstrip("/"))
            if parent is not None:
                found[name] = parent
    if found:
        return "cgroup v1 (" + ", ".join(sorted(found)) + ")", found
    return "rlimits (no cgroup this worker may create)", {}


def backend() -> tuple[str, dict[str, Path]]:
    """How this process's runs are limited, and the parent cgroups; read once per process."""
    global _backend
    if _backend is None:
        _backend = _detect()
    return _backend


@dataclass
class RunCgroup:
    """The cgroups of one run: made before it starts, read and removed after it ends."""

    version: str
    dirs: dict[str, Path] = field(default_factory=dict)
    closed: dict[str, Any] | None = None

    @property
    def covers(self) -> set[str]:
        if self.version == "v2":
            return {"memory", "processes"}
        return {"processes" if name == "pids" else name for name in self.dirs}

    @property
    def procs_files(self) -> list[str]:
        return [str(path / "cgroup.procs") for path in self.dirs.values()]

    def _file(self, controller: str, v2_name: str, v1_name: str) -> Path | None:
        if self.version == "v2":
            return self.dirs[""] / v2_name
        return self.dirs[controller] / v1_name if controller in self.dirs else None

    def _read(self, controller: str, v2_name: str, v1_name: str) -> str:
        path = self._file(controller, v2_name, v1_name)
        try:
            return path.read_text() if path is not None else ""
        except OSError:
            return ""

    def stats(self) -> dict[str, Any]:
        """What the cgroups counted: ``memory_peak_bytes``, ``oom_kills``, ``pids_refused``."""
        found: dict[str, Any] = {}
        peak = self._read("memory", "memory.peak", "memory.max_usage_in_bytes").strip()
        if peak.isdigit():
            found["memory_peak_bytes"] = int(peak)
        events = _keyed(self._read("memory", "memory.events", "memory.oom_control"))
        found["oom_kills"] = events.get("oom_kill", 0)
        found["pids_refused"] = _keyed(self._read("pids", "pids.events", "pids.events")).get(
            "max", 0
        )
        return found

    def close(self) -> dict[str, Any]:
        """Read the counts, kill whatever is still inside, remove the cgroups; once."""
        if self.closed is None:
            self.closed = self.stats()
            for path in self.dirs.values():
                _empty(path, self.version)
                _remove(path)
        return self.closed


def create(name: str, limits: Limits) -> tuple[RunCgroup | None, str]:
    """A run's cgroups with ``limits`` written in, or ``None``; and how limits are enforced."""
    how, parents = backend()
    if not parents or not (limits.memory_bytes or limits.processes):
        return None, how
    version = "v2" if "" in parents else "v1"
    run = RunCgroup(version)
    try:
        for controller, parent in parents.items():
            path = parent / f"run-{name}"
            path.mkdir()
            run.dirs[controller] = path
        if limits.memory_bytes:
            memory = run._file("memory", "memory.max", "memory.limit_in_bytes")
            if memory is not None:
                memory.write_text(str(limits.memory_bytes))
            if version == "v2":
                (run.dirs[""] / "memory.swap.max").write_text("0")
        if limits.processes:
            pids = run._file("pids", "pids.max", "pids.max")
            if pids is not None:
                pids.write_text(str(limits.processes))
    except OSError as exc:
        run.close()
        return None, f"rlimits (the run's cgroup could not be made: {exc.strerror})"
    return run, how


def _keyed(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            found[key] = int(value)
    return found


def _empty(path: Path, version: str) -> None:
    """Kill every process in the cgroup, and reap those that re-parented to this one."""
    if version == "v2":
        try:
            (path / "cgroup.kill").write_text("1")
        except OSError:
            pass
    me = os.getpid()
    for _ in range(100):  # each pass kills what the last one saw fork
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
        for pid in pids:
            _reap_if_ours(pid, me)


def _reap_if_ours(pid: int, me: int) -> None:
    # An orphan of the run re-parented to this worker (a subreaper): a zombie until we reap it.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return
    fields = stat.rpartition(")")[2].split()
    if len(fields) > 1 and int(fields[1]) == me:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _remove(path: Path) -> None:
    # The kernel takes a moment to let go of a cgroup whose last process has just exited.
    deadline = time.monotonic() + 2.0
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)


def prepare(name: str, limits: Limits) -> tuple[RunCgroup | None, str, dict[str, Any]]:
    """The run's cgroup (or ``None``), the text for ``LIMITS_VARIABLE``, and what is in force.

    ``RLIMIT_NPROC`` counts every process of a user: only a worker that is root uses it, for
    scripts it runs as a user of their own (root itself is not held to it). A worker that is
    not root would count its own processes against each script's limit.
    """
    run, how = create(name, limits)
    rlimits = rlimits_for(limits, run.covers if run else set(), os.geteuid() == 0)
    in_force = {"enforced_by": how, **limits.as_dict(), "rlimits": sorted(rlimits)}
    return run, encode(run.procs_files if run else [], rlimits), in_force
