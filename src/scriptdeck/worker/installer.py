"""Running the installer (uv) for an environment, its lines shown on the run as they come."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Any

from scriptdeck.runner import Sink

PREFIX = "[dependencies] "
LOG_LIMIT = 64 * 1024
ERROR_LINES = 15


class DependenciesFailed(Exception):
    """The environment could not be made; the message says why, in the installer's words.

    ``details`` and ``log`` (the lines shown while it was tried) are filled in by
    :func:`prepare`, for the run's record.
    """

    details: dict[str, Any]
    log: str = ""


class BuildCancelled(Exception):
    """The run was cancelled while its environment was being built."""

    details: dict[str, Any]
    log: str = ""


def uv_binary() -> str:
    import uv

    return uv.find_uv_bin()


class Progress:
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

    def line(self, text: str, tick: bool = True) -> None:
        text = f"{PREFIX}{text.rstrip()}\n"
        self.sink.on_output("stderr", text.encode("utf-8", errors="replace"))
        self.recent.append(text[len(PREFIX) :].rstrip("\n"))
        self.kept.append(text)
        self.kept_size += len(text)
        while self.kept_size > LOG_LIMIT and len(self.kept) > 1:
            self.kept_size -= len(self.kept.popleft())
        if tick:
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


def run_uv(argv: list[str], cwd: Path, progress: Progress, deadline: float) -> None:
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
