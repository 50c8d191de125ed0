"""Declared dependencies in the catalog and the worker: problems shown at sync, runs explained."""

from __future__ import annotations

import sys

from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import sync
from scriptdeck.executions.models import EventKind, ExecutionEvent, Status, TaskExecution
from scriptdeck.worker.execute import execute

from .conftest import write_script


def test_sync_lists_a_block_that_cannot_be_used_among_the_problems(db, scripts_dir):
    write_script(scripts_dir, "broken.py", '# /// script\n# dependencies = ["six"\n# ///\n')
    write_script(scripts_dir, "fine.py", '# /// script\n# dependencies = ["six"]\n# ///\n')
    sync()
    broken = Script.objects.get(name="broken")
    assert broken.schema_problems == [
        "broken.py: the '# /// script' block of line 1 is not valid TOML: "
        "Unclosed array (at end of document)"
    ]
    assert Script.objects.get(name="fine").schema_problems == []


def test_a_run_whose_requires_python_is_unmet_ends_dependencies_failed(
    db, scripts_dir, settings, tmp_path, alice_client, broker, django_capture_on_commit_callbacks
):
    settings.SCRIPTDECK_ENVS_DIR = tmp_path / "envs"
    write_script(
        scripts_dir,
        "needs_future.py",
        '# /// script\n# requires-python = ">=9"\n# dependencies = ["six"]\n# ///\nprint("ran")\n',
    )
    sync()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/api/executions/", {"script": "needs_future"}, format="json")
    assert response.status_code == 202, response.data
    assert execute(response.data["id"], hostname="test-worker") == "finished"
    run = TaskExecution.objects.get(pk=response.data["id"])
    assert (run.status, run.failure_reason) == (Status.FAILURE, "dependencies_failed")
    version = sys.version.split()[0]
    assert run.error_message == (
        "The script requires Python >=9 (its requires-python), but the worker's interpreter "
        f"{sys.executable} is Python {version}."
    )
    assert run.details["dependencies"]["packages"] == ["six"]
    assert run.details["dependencies"]["built"] is False
    assert run.execution_time == 0  # the script never started
    assert "ran" not in run.stdout
    stored = ExecutionEvent.objects.filter(execution=run, kind=EventKind.STDERR).order_by("seq")
    live = "".join(event.text for event in stored)
    assert live == run.stderr == f"[dependencies] {run.error_message}\n"
    assert not (tmp_path / "envs").exists() or not any((tmp_path / "envs").iterdir())
