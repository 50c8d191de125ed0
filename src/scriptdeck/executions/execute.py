"""What a worker does with one execution: claim it, run it through the runner, record it."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import traceback
from pathlib import Path

from django.conf import settings

from scriptdeck.catalog.discovery import sha256_of
from scriptdeck.catalog.paths import PathRefused, confine
from scriptdeck.compat import sdk_pythonpath
from scriptdeck.runner import RunSpec, UnsupportedScript, build_environment, command_for, run

from . import artifacts, services, uploads
from .live import LiveSink
from .models import FailureReason, TaskExecution
from .persistence import persist

log = logging.getLogger(__name__)


# Exceptions raised into a run from outside (a queue's own time limit, say) and how
# the execution is then explained: {exception type: (failure reason, sentence)}.
Interruptions = dict[type[BaseException], tuple[str, str]]


def worker_identity(hostname: str | None = None) -> str:
    return hostname or socket.gethostname()


def build_spec(execution: TaskExecution, path: Path, run_dir: Path) -> RunSpec:
    script = execution.script
    assert script is not None
    result_file = run_dir / "result.json"
    output_dir = run_dir / "output"
    output_dir.mkdir(exist_ok=True)
    parameters = uploads.materialize(
        script.parameter_schema, execution.parameters or {}, run_dir / "inputs"
    )
    env = build_environment(
        parameters=parameters,
        page_context=execution.page_context,
        script_name=execution.script_name,
        execution_id=str(execution.pk),
        result_file=str(result_file),
        pythonpath=sdk_pythonpath(),
        extra={"SCRIPT_OUTPUT_DIR": str(output_dir)},
    )
    return RunSpec(
        argv=command_for(path, settings.SCRIPTDECK_PYTHON or None),
        cwd=str(path.parent),
        env=env,
        script_name=execution.script_name,
        result_file=str(result_file),
        soft_time_limit=float(script.soft_time_limit),
        time_limit=float(max(script.time_limit, script.soft_time_limit)),
        output_limit=settings.SCRIPTDECK_OUTPUT_LIMIT,
        heartbeat_interval=settings.SCRIPTDECK_HEARTBEAT_INTERVAL,
    )


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
    run_dir = Path(settings.SCRIPTDECK_RUNS_DIR) / str(execution.task_id)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        digest = sha256_of(path)
        sink = LiveSink(execution_id, settings.SCRIPTDECK_OUTPUT_LIMIT)
        try:
            outcome = run(build_spec(execution, path, run_dir), sink)
        finally:
            sink.close(within=settings.SCRIPTDECK_DB_RETRY_SECONDS)
        _, left_out = artifacts.collect(
            execution_id, run_dir / "output", on_file=lambda: sink.on_heartbeat()
        )
        if left_out:
            outcome.details["artifacts_left_out"] = left_out
        finished = persist(
            lambda: services.finish(execution_id, outcome, digest, timeline=sink.timeline),
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
        services.fail(
            execution_id,
            FailureReason.INTERNAL_ERROR,
            f"scriptdeck failed while running the script: {exc!r}\n{traceback.format_exc(limit=5)}",
        )
        raise
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
