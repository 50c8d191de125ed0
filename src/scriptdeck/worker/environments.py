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
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from scriptdeck.catalog.inline_metadata import InlineMetadata
from scriptdeck.runner import Sink

from .installer import BuildCancelled, DependenciesFailed, Progress, run_uv, uv_binary

INFO_FILE = "scriptdeck-env.json"  # written last before the rename; its mtime is the last use
BUILD_PREFIX = ".build-"
LOCK_POLL = 0.1


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
    progress = Progress(sink, heartbeat_interval)
    packages = list(metadata.dependencies)
    key = ""
    try:
        base_version = interpreter_version(base_python)
        check_python(metadata, base_python, base_version)
        key = environment_key(metadata, base_version)
        built, fd = _ready(
            metadata, key, root, base_python, base_version, progress, started + timeout
        )
    except (DependenciesFailed, BuildCancelled) as exc:
        exc.details = {
            "packages": packages,
            "environment": key,
            "built": False,
            "seconds": round(time.monotonic() - started, 3),
            "failed": True,
        }
        exc.log = progress.text()
        raise
    final = root / key
    if not built:  # no tick: a cancel seen now is the script's to answer, with the lock held
        text = f"using environment {key[:12]} ({', '.join(packages) or 'no packages'})"
        progress.line(text, tick=False)
    env = Environment(key, final, packages, built, time.monotonic() - started, lock_fd=fd)
    env.log = progress.text()
    return env


def _ready(
    metadata: InlineMetadata,
    key: str,
    root: Path,
    base_python: str,
    base_version: str,
    progress: Progress,
    deadline: float,
) -> tuple[bool, int]:
    """Whether the environment was built now, and the descriptor of its shared lock."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / key
    built = False
    fd = os.open(root / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
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
    return built, fd


def _build_once(
    metadata: InlineMetadata,
    key: str,
    root: Path,
    base_python: str,
    base_version: str,
    progress: Progress,
    deadline: float,
) -> bool:
    """Build the environment unless another run did while this one waited for the lock."""
    fd = os.open(root / f"{key}.build.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        _lock(fd, fcntl.LOCK_EX, progress, deadline)
        if (root / key / INFO_FILE).exists():
            return False
        _build(metadata, key, root, base_python, base_version, progress, deadline)
        return True
    finally:
        os.close(fd)


def _lock(fd: int, kind: int, progress: Progress, deadline: float) -> None:
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
    progress: Progress,
    deadline: float,
) -> None:
    building = root / f"{BUILD_PREFIX}{key}-{os.getpid()}-{secrets.token_hex(4)}"
    uv = uv_binary()
    progress.line(f"building environment {key[:12]} for {', '.join(metadata.dependencies)}")
    try:
        # Relocatable: the folder is renamed once complete, and its entry points must follow.
        run_uv(
            [uv, "venv", "--relocatable", "--python", base_python, str(building)],
            root,
            progress,
            deadline,
        )
        if metadata.dependencies:
            python = str(building / "bin" / "python")
            run_uv(
                [
                    uv,
                    "pip",
                    "install",
                    "--no-config",
                    "--only-binary",
                    ":all:",
                    "--python",
                    python,
                    *metadata.dependencies,
                ],
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


@dataclass
class PruneReport:
    removed: list[str] = field(default_factory=list)
    in_use: list[str] = field(default_factory=list)
    kept: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.removed)} environments removed, {len(self.in_use)} in use kept, "
            f"{self.kept} recently used kept"
        )


def prune(root: Path, unused_for: float, dry_run: bool = False) -> PruneReport:
    """Remove the environments not used for ``unused_for`` seconds, and leftover builds.

    An environment a run holds (its shared lock), or one being built, is never touched.
    """
    report = PruneReport()
    if not root.is_dir():
        return report
    cutoff = time.time() - unused_for
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(BUILD_PREFIX):
            # A build that died half way (its worker killed): no lock holds its key any more.
            key = entry.name[len(BUILD_PREFIX) :].split("-", 1)[0]
            if not dry_run and _holding(root / f"{key}.build.lock", _remove, entry):
                report.removed.append(entry.name)
            continue
        info = entry / INFO_FILE
        if not entry.is_dir() or not info.exists():
            continue
        if info.stat().st_mtime >= cutoff:
            report.kept += 1
        elif dry_run:
            report.removed.append(entry.name)
        elif _holding(root / f"{entry.name}.lock", _remove, entry):
            report.removed.append(entry.name)
        else:
            report.in_use.append(entry.name)
    return report


def _remove(env: Path) -> None:
    # The info file first: a run that looks from now on builds the environment again.
    (env / INFO_FILE).unlink(missing_ok=True)
    shutil.rmtree(env, ignore_errors=True)


def _holding(lock: Path, action: Any, target: Path) -> bool:
    """Do ``action(target)`` under the exclusive lock ``lock``, if it is free right now."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        action(target)
    finally:
        os.close(fd)
    return True
