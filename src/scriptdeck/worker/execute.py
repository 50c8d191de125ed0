"""What a worker does with one execution: claim it, run it through the runner, record it."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

from django.conf import settings

from scriptdeck.catalog.argv import build_argv, shown_argv
from scriptdeck.catalog.discovery import sha256_of
from scriptdeck.catalog.paths import PathRefused, confine
from scriptdeck.catalog.schema import secret_fields
from scriptdeck.compat import sdk_pythonpath
from scriptdeck.executions import artifacts, services, uploads
from scriptdeck.executions.models import FailureReason, TaskExecution
from scriptdeck.runner import (
    Outcome,
    RunSpec,
    UnsupportedScript,
    build_environment,
    command_for,
)
from scriptdeck.security.crypto import decrypt_json, decrypt_text
from scriptdeck.security.masking import Masker

from . import isolation
from .dependencies import run_with_dependencies
from .limits import limits_for
from .live import LiveSink
from .persistence import persist

log = logging.getLogger(__name__)


LAST_BATCH_WITH_END = 256 * 1024

# Exceptions raised into a run from outside (a queue's own time limit, say) and how
# the execution is then explained: {exception type: (failure reason, sentence)}.
Interruptions = dict[type[BaseException], tuple[str, str]]


def worker_identity(hostname: str | None = None) -> str:
    return hostname or socket.gethostname()


def secrets_of(execution: TaskExecution) -> tuple[dict[str, Any], dict[str, str], Masker]:
    """The secret parameters, the script's variables, and a masker for every secret value."""
    script = execution.script
    secret_values = decrypt_json(execution.secret_parameters) if execution.secret_parameters else {}
    variables: dict[str, str] = {}
    hidden: list[str] = [str(v) for v in secret_values.values()]
    for variable in script.variables.all() if script is not None else []:
        value = decrypt_text(variable.value_encrypted)
        variables[variable.name] = value
        if variable.is_secret:
            hidden.append(value)
    return secret_values, variables, Masker(hidden)


def build_spec(
    execution: TaskExecution,
    path: Path,
    run_dir: Path,
    secret_values: dict[str, Any] | None = None,
    variables: dict[str, str] | None = None,
) -> tuple[RunSpec, list[str]]:
    """The run's spec, and its command line as people may see it (secrets masked)."""
    script = execution.script
    assert script is not None
    result_file = run_dir / "result.json"
    output_dir = run_dir / "output"
    output_dir.mkdir(exist_ok=True)
    schema = script.effective_schema
    given = {**(execution.parameters or {}), **(secret_values or {})}
    parameters = uploads.materialize(schema, given, run_dir / "inputs")
    env = build_environment(
        parameters=parameters,
        page_context=execution.page_context,
        script_name=execution.script_name,
        execution_id=str(execution.pk),
        result_file=str(result_file),
        pythonpath=sdk_pythonpath(),
        extra={**(variables or {}), "SCRIPT_OUTPUT_DIR": str(output_dir)},
    )
    program = command_for(path, settings.SCRIPTDECK_PYTHON or None, entrypoint=script.entrypoint)
    template = script.argv or None
    secrets = secret_fields(schema) | set(secret_values or {})
    shown = [script.path, *shown_argv(schema, parameters, template, secrets)]
    spec = RunSpec(
        argv=program + build_argv(schema, parameters, template),
        cwd=str(path.parent),
        env=env,
        script_name=execution.script_name,
        result_file=str(result_file),
        soft_time_limit=float(script.soft_time_limit),
        time_limit=float(max(script.time_limit, script.soft_time_limit)),
        output_limit=settings.SCRIPTDECK_OUTPUT_LIMIT,
        heartbeat_interval=settings.SCRIPTDECK_HEARTBEAT_INTERVAL,
        warm_start=starts_warm(script, path),
        exec_server=settings.SCRIPTDECK_EXEC_SERVER,
        preload=tuple(script.preload or ()),
        limits=limits_for(script),
    )
    return spec, shown


def starts_warm(script: Any, path: Path) -> bool:
    """Whether this run forks from the worker's warm server (see runner/forkserver.py).

    The script's own ``warm_start``, else ``SCRIPTDECK_WARM_START``; only for ``.py`` files run
    by this very interpreter, since a server can only fork the interpreter it is.
    """
    wanted = script.warm_start if script.warm_start is not None else settings.SCRIPTDECK_WARM_START
    python = settings.SCRIPTDECK_PYTHON
    same_python = not python or os.path.abspath(python) == os.path.abspath(sys.executable)
    return bool(wanted) and path.suffix == ".py" and same_python


def record_start(execution_id: int, outcome: Outcome) -> None:
    """Say how the run started: in the worker's log, and in a failure's message on a fallback.

    ``finish`` stores ``outcome.details`` (how the run started among them) with the row; a
    warm start that fell back to a cold one is also named in the error message of a run that
    failed, where whoever reads why it failed sees it first.
    """
    start = outcome.details.get("start", "cold")
    if start.startswith("cold (warm start failed"):
        log.warning("execution %s started %s", execution_id, start)
        if not outcome.succeeded:
            outcome.error_message = f"{outcome.error_message}\n(Started {start}.)".lstrip("\n")
    else:
        log.info("execution %s started %s", execution_id, start)


def mask_outcome(outcome: Outcome, masker: Masker) -> Outcome:
    """The outcome with every secret value masked: what is stored never holds one."""
    if not masker:
        return outcome
    outcome.result = masker.mask_value(outcome.result)
    outcome.stdout = masker.mask(outcome.stdout)
    outcome.stderr = masker.mask(outcome.stderr)
    outcome.error_message = masker.mask(outcome.error_message)
    outcome.details = masker.mask_value(outcome.details)
    return outcome


def execute(
    execution_id: int, hostname: str | None = None, interruptions: Interruptions | None = None
) -> str:
    """Run execution ``execution_id`` if it is still PENDING; return what became of it.

    Idempotent: a second delivery of the same message finds the row already claimed.
    """
    execution = services.start(execution_id, worker_identity(hostname), os.getpid())
    if execution is None:
        log.info("execution %s is not PENDING any more; nothing to do", execution_id)
        return "skipped"
    execution_id = execution.pk  # a limited script's message may start an older run
    if execution.script is None:
        services.fail(execution_id, FailureReason.SCRIPT_MISSING, "The script was deleted.")
        return "failed"
    try:
        path = confine(execution.script_path)
        command_for(path)
    except PathRefused as exc:
        services.fail(
            execution_id, FailureReason.SCRIPT_MISSING, f"The script file is not available: {exc}."
        )
        return "failed"
    except UnsupportedScript as exc:
        services.fail(execution_id, FailureReason.UNSUPPORTED_TYPE, str(exc))
        return "failed"
    refusal = isolation.network_refusal(execution.script.network)
    if refusal is not None:
        services.fail(execution_id, FailureReason.SPAWN_FAILED, refusal)
        return "failed"
    run_dir = Path(settings.SCRIPTDECK_RUNS_DIR) / str(execution.task_id)
    masker: Masker | None = None
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        digest = sha256_of(path)
        secret_values, variables, masker = secrets_of(execution)
        spec, shown = build_spec(execution, path, run_dir, secret_values, variables)
        sandboxed = isolation.prepare(spec, run_dir, network=execution.script.network)
        sink = LiveSink(execution_id, settings.SCRIPTDECK_OUTPUT_LIMIT, masker)
        try:
            outcome = run_with_dependencies(path, sink, spec)
            outcome.details["command_line"] = shown
            outcome.details["sandbox"] = sandboxed
            outcome = mask_outcome(outcome, masker)
            record_start(execution_id, outcome)
            _, left_out = artifacts.collect(
                execution_id, run_dir / "output", on_file=lambda: sink.on_heartbeat(), masker=masker
            )
        except BaseException:
            sink.close(within=settings.SCRIPTDECK_DB_RETRY_SECONDS)  # what it printed stays
            raise
        if left_out:
            outcome.details["artifacts_left_out"] = left_out
        # A small last batch of output goes in with the end (one transaction, not two), its
        # samples not at all, since the timeline replaces them. A big one (a tail window of
        # megabytes) is written first, so the end does not hold it in memory too.
        sink.end_streams()
        last = sink.batch(with_samples=False)
        if sum(event.raw_bytes for event in last) > LAST_BATCH_WITH_END:
            sink.flush_within(settings.SCRIPTDECK_DB_RETRY_SECONDS)
            last = []
        finished = persist(
            lambda: services.finish(
                execution_id,
                outcome,
                digest,
                timeline=sink.timeline,
                execution=execution,
                samples_stored=sink.samples_written,
                events=last,
                stale=sink.to_delete,
            ),
            f"recording the outcome of execution {execution_id}",
            within=settings.SCRIPTDECK_DB_RETRY_SECONDS,
        )
        if not finished:
            log.warning(
                "execution %s had already ended (cancelled before start, or declared lost) "
                "when its run finished; its outcome was %s",
                execution_id,
                outcome.failure_reason or "success",
            )
        return "finished"
    except (SystemExit, KeyboardInterrupt):
        # The worker process was told to stop (billiard turns SIGTERM into SystemExit);
        # the runner has already ended the script's tree on the way out.
        services.fail(
            execution_id,
            FailureReason.WORKER_SHUTDOWN,
            "The worker was stopped while the script ran; its process tree was ended.",
        )
        raise
    except BaseException as exc:
        for kind, (reason, message) in (interruptions or {}).items():
            if isinstance(exc, kind):
                services.fail(execution_id, reason, message)
                raise
        message = (
            f"scriptdeck failed while running the script: {exc!r}\n{traceback.format_exc(limit=5)}"
        )
        # An exception may carry a parameter's value in its text: a secret never reaches the row.
        services.fail(
            execution_id, FailureReason.INTERNAL_ERROR, masker.mask(message) if masker else message
        )
        raise
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
