"""A run of a script that declares its dependencies: its environment first, then the script.

The metadata is read from the file the worker is about to run, at run time: the file may
have changed since the last sync, and what runs must be what the file says. A file without
the ``# /// script`` marker costs one substring test over bytes the worker reads anyway
(for its sha256) and runs exactly as before, with no installer call.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from scriptdeck.catalog.inline_metadata import read_file
from scriptdeck.executions.models import FailureReason
from scriptdeck.runner import Outcome, RunSpec, Sink, run

from .environments import Environment, prepare
from .installer import PREFIX, BuildCancelled, DependenciesFailed


def environment_for(path: Path, sink: Sink) -> Environment | None:
    """The ready environment of ``path``, or ``None`` for a script that declares none."""
    reading = read_file(path)
    if reading.problems:
        raise DependenciesFailed(
            "The script's inline metadata cannot be used: " + "; ".join(reading.problems)
        )
    if reading.metadata is None or not reading.metadata.declared:
        return None
    return prepare(
        reading.metadata,
        root=Path(settings.SCRIPTDECK_ENVS_DIR),
        base_python=settings.SCRIPTDECK_PYTHON or sys.executable,
        sink=sink,
        timeout=settings.SCRIPTDECK_DEPENDENCIES_TIMEOUT,
        heartbeat_interval=settings.SCRIPTDECK_HEARTBEAT_INTERVAL,
    )


def run_with_dependencies(path: Path, sink: Sink, spec: RunSpec) -> Outcome:
    """Run ``spec`` (the script at ``path``), in the script's own environment if it has one.

    ``details["dependencies"]`` records the environment and the time it took apart from the
    script's own time; the build's lines come first on the run's stderr. A build that fails
    ends the run FAILURE(dependencies_failed) with the installer's last lines, and a cancel
    during the build ends it CANCELLED: the script never starts in either case.
    """
    began = datetime.now(UTC)
    try:
        environment = environment_for(path, sink)
    except DependenciesFailed as exc:
        return _not_started(began, exc, str(exc), FailureReason.DEPENDENCIES_FAILED, sink)
    except BuildCancelled as exc:
        message = "The run was cancelled while its dependencies were being installed."
        outcome = _not_started(began, exc, message, FailureReason.CANCELLED, sink)
        outcome.cancelled = True
        return outcome
    if environment is None:
        return run(spec, sink)
    # Only a .py file declares dependencies, and its argv starts with the interpreter.
    in_environment = replace(spec, argv=[environment.python, *spec.argv[1:]])
    try:
        outcome = run(in_environment, sink)
    finally:
        environment.release()
    outcome.details["dependencies"] = environment.details()
    outcome.stderr = environment.log + outcome.stderr
    outcome.stderr_bytes += len(environment.log.encode("utf-8"))
    return outcome


def _not_started(
    began: datetime, exc: DependenciesFailed | BuildCancelled, message: str, reason: str, sink: Sink
) -> Outcome:
    """The outcome of a run whose script never started: the lines shown so far, and why."""
    last = f"{PREFIX}{message.splitlines()[0]}\n"
    sink.on_output("stderr", last.encode("utf-8"))
    stderr = getattr(exc, "log", "") + last
    return Outcome(
        succeeded=False,
        failure_reason=reason,
        error_message=message,
        started_at=began,
        completed_at=datetime.now(UTC),
        stderr=stderr,
        stderr_bytes=len(stderr.encode("utf-8")),
        details={"dependencies": getattr(exc, "details", {"failed": True})},
    )
