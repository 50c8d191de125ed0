"""What to run and how: the command for a script file, its environment, its limits."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .limits import Limits
from .sandbox import Sandbox

ENVIRONMENT_ALLOWLIST = ("PATH", "HOME", "LANG", "TZ")
ENVIRONMENT_PREFIX_ALLOWLIST = ("LC_",)
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
DEFAULT_OUTPUT_LIMIT = 10 * 1024 * 1024
# Started in place of a script that defines main(...): it runs the file, then calls main.
ENTRY_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sdk", "entry.py"
)


class UnsupportedScript(ValueError):
    """The file is not something the runner knows how to start."""


def command_for(path: str | Path, python: str | None = None, entrypoint: bool = False) -> list[str]:
    """The argv that runs ``path``: Python for ``.py``, bash for ``.sh``, else its shebang.

    ``entrypoint`` (a ``.py`` file with a ``main(...)`` and no ``__main__`` block) starts
    :data:`ENTRY_FILE`, which runs the file and then calls ``main(**parameters)``.
    Raises :class:`UnsupportedScript` with a sentence saying why, before anything is queued.
    """
    file = Path(path)
    if file.suffix == ".py":
        if entrypoint:
            return [python or sys.executable, ENTRY_FILE, str(file)]
        return [python or sys.executable, str(file)]
    if file.suffix == ".sh":
        return ["bash", str(file)]
    try:
        mode = file.stat().st_mode
        with file.open("rb") as handle:
            first = handle.read(2)
    except OSError as exc:
        raise UnsupportedScript(f"cannot read {file.name}: {exc.strerror}") from exc
    if first == b"#!" and mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        return [str(file)]
    raise UnsupportedScript(
        f"unsupported script type {file.suffix or '(no extension)'!r}: use .py, .sh, "
        "or an executable file that starts with a #! line"
    )


def build_environment(
    *,
    parameters: Mapping[str, Any],
    page_context: str,
    script_name: str,
    execution_id: str,
    result_file: str,
    pythonpath: str,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The script's environment, built from scratch: never the server's own variables.

    Only the allowlist (PATH, HOME, LANG, LC_*, TZ) is taken from ``base``; then the
    source's four variables, the result file, and the SDK on PYTHONPATH.
    """
    base = os.environ if base is None else base
    env: dict[str, str] = {}
    for key, value in base.items():
        if key in ENVIRONMENT_ALLOWLIST or key.startswith(ENVIRONMENT_PREFIX_ALLOWLIST):
            env[key] = value
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONPATH": pythonpath,
            "SCRIPT_PARAMETERS": json.dumps(dict(parameters), ensure_ascii=False),
            "PAGE_CONTEXT": page_context or "",
            "SCRIPT_NAME": script_name,
            "EXECUTION_ID": str(execution_id),
            "SCRIPT_RESULT_FILE": result_file,
        }
    )
    if extra:
        env.update(extra)
    return env


@dataclass
class RunSpec:
    """One run of one script. Times in seconds; ``None`` means no limit."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    script_name: str
    result_file: str | None = None
    soft_time_limit: float | None = 540.0
    time_limit: float | None = 600.0
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    sample_interval: float = 0.5
    heartbeat_interval: float = 5.0
    # After the script's own process ended, how long descendants may keep its pipes open.
    linger: float = 0.5
    # SIGTERM → SIGKILL grace for processes left behind, and the steps of a cancel.
    cleanup_grace: float = 1.0
    cancel_steps: tuple[float, float] = (1.0, 1.0)
    # Fork a Python script from this process's warm server (runner/forkserver.py) instead of
    # starting a new interpreter; any trouble starts it cold and the outcome says why.
    warm_start: bool = False
    # Modules that server imports ahead (the script's ``PRELOAD``); only used warm.
    preload: tuple[str, ...] = ()
    # A cold start forks its launcher from this process's exec server (runner/forkserver.py)
    # instead of starting one more interpreter for it; any trouble starts the launcher with
    # ``Popen`` (``launcher.py``) and the outcome's ``details["launcher"]`` says why.
    exec_server: bool = True
    # Memory, processes, CPU, file size, open files (runner/limits.py); None: none at all.
    limits: Limits | None = None
    # Isolation (runner/sandbox.py): another user, namespaces of its own. ``run_dir`` is the
    # one folder such a run may write (with a private /tmp); ``network`` False cuts it off.
    sandbox: Sandbox | None = None
    run_dir: str | None = None
    network: bool = True
