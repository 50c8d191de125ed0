"""The environment of a script that declares its dependencies (PEP 723), built with uv.

One environment per distinct set: its key is the sha256 of the normalized, sorted
requirements, the ``requires-python`` range and the base interpreter's version, and it lives
in ``<envs>/<key>/``. Scripts with the same set share it and later runs reuse it; a changed
set is a new key, so a new environment. It is built by the worker that runs the script,
before the script starts, with uv (a dependency of this project: its binary comes with the
``uv`` package).

Two runs may need the same missing environment at once: the build holds an exclusive
``flock`` on ``<key>.lock`` and happens in a temporary folder renamed into place when it is
complete, so a half-built environment is never seen under its key. A run holds a shared
lock on it while its script runs, and pruning only takes an environment whose exclusive lock
it gets at once: an environment in use is never removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from scriptdeck.catalog.inline_metadata import InlineMetadata
from scriptdeck.runner import Sink

PREFIX = "[dependencies] "
INFO_FILE = "scriptdeck-env.json"  # written last before the rename; its mtime is the last use
BUILD_PREFIX = ".build-"
LOCK_POLL = 0.1
LOG_LIMIT = 64 * 1024
ERROR_LINES = 15


class DependenciesFailed(Exception):
    """The environment could not be made; the message says why, in the installer's words."""


class BuildCancelled(Exception):
    """The run was cancelled while its environment was being built."""


@dataclass
class Environment:
    """A ready environment, locked (shared) for this run until :meth:`release`."""

    key: str
    path: Path
    packages: list[str]
    built: bool
    seconds: float
    log: str = ""
    lock_fd: int | None = field(default=None, repr=False)

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def details(self) -> dict[str, Any]:
        return {
            "packages": self.packages,
            "environment": self.key,
            "built": self.built,
            "seconds": round(self.seconds, 3),
        }

    def release(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # closing the descriptor drops its lock
            self.lock_fd = None


@cache
def interpreter_version(python: str) -> str:
    """``cpython-3.11.7`` for that interpreter (asked once per worker process)."""
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        return f"{sys.implementation.name}-{platform.python_version()}"
    try:
        answer = subprocess.run(
            [
                python,
                "-I",
                "-S",
                "-c",
                "import sys,platform;print(sys.implementation.name+'-'+platform.python_version())",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DependenciesFailed(f"The interpreter {python} cannot be started: {exc}") from exc
    return answer.stdout.strip()


def environment_key(metadata: InlineMetadata, base_version: str) -> str:
    """The key of the environment for that set on that interpreter (64 hex digits)."""
    identity = {
        "dependencies": sorted(metadata.dependencies),
        "requires_python": metadata.requires_python,
        "python": base_version,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def check_python(metadata: InlineMetadata, python: str, base_version: str) -> None:
    """Refuse a ``requires-python`` range the base interpreter is outside of, in a sentence."""
    if not metadata.requires_python:
        return
    version = base_version.rpartition("-")[2]
    if not SpecifierSet(metadata.requires_python).contains(version, prereleases=True):
        raise DependenciesFailed(
            f"The script requires Python {metadata.requires_python} (its requires-python), "
            f"but the worker's interpreter {python} is Python {version}."
        )


def uv_binary() -> str:
    import uv

    return uv.find_uv_bin()


def prepare(
    metadata: InlineMetadata,
    *,
    root: Path,
    base_python: str,
    sink: Sink,
    timeout: float,
    heartbeat_interval: float = 5.0,
) -> Environment:
    """The environment for ``metadata``: found, or built now with its progress on ``sink``.

    Raises :class:`DependenciesFailed` (with the installer's last lines) or
    :class:`BuildCancelled`; every failure leaves no half-built environment under its key.
    """
    started = time.monotonic()
    base_version = interpreter_version(base_python)
    check_python(metadata, base_python, base_version)
    key = environment_key(metadata, base_version)
    root.mkdir(parents=True, exist_ok=True)
    final = root / key
    progress = _Progress(sink, heartbeat_interval)
    deadline = started + timeout
    built = False
    fd = os.open(root / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        # Pruning may remove the environment between the look and the lock: look again.
        for _ in range(3):
            if not (final / INFO_FILE).exists():
                built = (
                    _build_once(metadata, key, root, base_python, base_version, progress, deadline)
                    or built
                )
            _lock(fd, fcntl.LOCK_SH, progress, deadline)
            if (final / INFO_FILE).exists():
                break
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            raise DependenciesFailed(f"The environment {key} kept disappearing while in use.")
        os.utime(final / INFO_FILE)  # the last use, which pruning goes by
    except BaseException:
        os.close(fd)
        raise
    packages = list(metadata.dependencies)
    if not built:
        progress.line(f"using environment {key[:12]} ({', '.join(packages) or 'no packages'})")
    env = Environment(key, final, packages, built, time.monotonic() - started, lock_fd=fd)
    env.log = progress.text()
    return env


def _build_once(
    metadata: InlineMetadata,
    key: str,
    root: Path,
    base_python: str,
    base_version: str,
    progress: _Progress,
    deadline: float,
) -> bool:
    """Build the environment unless another run did while this one waited for the lock."""
    fd = os.open(root / f"{key}.build.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _lock(fd, fcntl.LOCK_EX, progress, deadline)
        if (root / key / INFO_FILE).exists():
            return False
        _build(metadata, key, root, base_python, base_version, progress, deadline)
        return True
    finally:
        os.close(fd)


class _Progress:
    """The build's lines: on the run's live stderr as they come, kept (bounded) for the record.

    It also keeps the run's row alive (heartbeats), flushes output and watches for a cancel,
    since no script is running yet to do it.
    """

    def __init__(self, sink: Sink, heartbeat_interval: float) -> None:
        self.sink = sink
        self.heartbeat_interval = heartbeat_interval
        self.next_heartbeat = time.monotonic() + heartbeat_interval
        self.kept: deque[str] = deque()
        self.kept_size = 0
        self.recent: deque[str] = deque(maxlen=ERROR_LINES)

    def line(self, text: str) -> None:
        text = f"{PREFIX}{text.rstrip()}\n"
        self.sink.on_output("stderr", text.encode("utf-8", errors="replace"))
        self.recent.append(text[len(PREFIX) :].rstrip("\n"))
        self.kept.append(text)
        self.kept_size += len(text)
        while self.kept_size > LOG_LIMIT and len(self.kept) > 1:
            self.kept_size -= len(self.kept.popleft())
        self.tick()

    def tick(self) -> None:
        self.sink.on_tick()
        now = time.monotonic()
        if now >= self.next_heartbeat:
            self.next_heartbeat = now + self.heartbeat_interval
            self.sink.on_heartbeat()
        if self.sink.cancel_requested():
            raise BuildCancelled()

    def text(self) -> str:
        return "".join(self.kept)


def _lock(fd: int, kind: int, progress: _Progress, deadline: float) -> None:
    said = False
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not said:
            progress.line("waiting for the environment (another run is building it)")
            said = True
        if time.monotonic() >= deadline:
            raise DependenciesFailed(
                "Another run was still building the same environment when this run's "
                "dependency time limit (SCRIPTDECK_DEPENDENCIES_TIMEOUT) ran out."
            )
        progress.tick()
        time.sleep(LOCK_POLL)


def _build(
    metadata: InlineMetadata,
    key: str,
    root: Path,
    base_python: str,
    base_version: str,
    progress: _Progress,
    deadline: float,
) -> None:
    building = root / f"{BUILD_PREFIX}{key}-{os.getpid()}-{secrets.token_hex(4)}"
    uv = uv_binary()
    progress.line(f"building environment {key[:12]} for {', '.join(metadata.dependencies)}")
    try:
        # Relocatable: the folder is renamed once complete, and its entry points must follow.
        _run(
            [uv, "venv", "--relocatable", "--python", base_python, str(building)],
            root,
            progress,
            deadline,
        )
        if metadata.dependencies:
            python = str(building / "bin" / "python")
            _run(
                [uv, "pip", "install", "--python", python, *metadata.dependencies],
                root,
                progress,
                deadline,
            )
        info = {
            "packages": list(metadata.dependencies),
            "requires_python": metadata.requires_python,
            "base_python": base_python,
            "python": base_version,
            "built_at": datetime.now(UTC).isoformat(),
        }
        (building / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        os.rename(building, root / key)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _run(argv: list[str], cwd: Path, progress: _Progress, deadline: float) -> None:
    """Run one uv command, its output line by line on ``progress``; raise on any failure."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update({"UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1", "UV_NO_PROGRESS": "1"})
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise DependenciesFailed(f"The installer (uv) cannot be started: {exc}") from exc
    assert proc.stdout is not None
    progress.recent.clear()  # a failure quotes this command's own last lines
    pending = b""
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while True:
                if time.monotonic() >= deadline:
                    raise DependenciesFailed(
                        "Installing the script's dependencies took longer than "
                        "SCRIPTDECK_DEPENDENCIES_TIMEOUT allows; the last lines were:\n"
                        + "\n".join(progress.recent)
                    )
                if selector.select(timeout=0.25):
                    data = os.read(proc.stdout.fileno(), 65536)
                    if not data:
                        break
                    *lines, pending = (pending + data).split(b"\n")
                    for line in lines:
                        progress.line(line.decode("utf-8", errors="replace"))
                else:
                    progress.tick()
            if pending:
                progress.line(pending.decode("utf-8", errors="replace"))
        code = proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    if code != 0:
        raise DependenciesFailed(
            f"Installing the script's dependencies failed (uv exited with {code}):\n"
            + "\n".join(progress.recent)
        )
