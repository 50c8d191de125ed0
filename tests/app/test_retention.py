"""Retention: old executions lose their output, timelines and artifacts; their rows stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import sync
from scriptdeck.executions import services
from scriptdeck.executions.models import (
    Artifact,
    ExecutionEvent,
    ResultRecord,
    Status,
    TaskExecution,
)
from scriptdeck.executions.retention import parse_age, purge
from scriptdeck.worker.execute import execute

from .conftest import write_script


def run_reporting_script(scripts_dir, alice):
    write_script(
        scripts_dir,
        "writes.py",
        """
        import os, time
        print("some output", flush=True)
        open(os.path.join(os.environ["SCRIPT_OUTPUT_DIR"], "out.txt"), "w").write("data")
        time.sleep(0.6)
        open(os.environ["SCRIPT_RESULT_FILE"], "w").write('{"message": "kept"}')
        """,
    )
    sync()
    execution = services.submit(script=Script.objects.get(name="writes"), user=alice)
    execute(execution.pk)
    return TaskExecution.objects.get(pk=execution.pk)


def test_purge_removes_old_output_and_keeps_the_summary_and_result_record(
    synced, scripts_dir, alice, broker
):
    old = run_reporting_script(scripts_dir, alice)
    recent = run_reporting_script(scripts_dir, alice)
    assert old.status == Status.SUCCESS and old.timeline
    artifact_path = Path(Artifact.objects.get(execution=old).file.path)
    assert artifact_path.exists()
    TaskExecution.objects.filter(pk=old.pk).update(completed_at=timezone.now() - timedelta(days=91))

    counted = purge(timedelta(days=90), dry_run=True)
    assert (counted.executions, counted.artifacts) == (1, 1)
    assert ExecutionEvent.objects.filter(execution=old).exists()

    report = purge(timedelta(days=90))
    assert (report.executions, report.artifacts) == (1, 1)
    assert report.chunks >= 1
    old.refresh_from_db()
    assert old.output_purged_at is not None
    assert (old.stdout, old.timeline) == ("", [])
    assert old.status == Status.SUCCESS and old.execution_time and old.memory_usage
    assert old.result["message"] == "kept"
    assert ResultRecord.objects.filter(execution=old).exists()
    assert not ExecutionEvent.objects.filter(execution=old).exists()
    assert not Artifact.objects.filter(execution=old).exists()
    assert not artifact_path.exists()
    recent.refresh_from_db()
    assert recent.output_purged_at is None and "some output" in recent.stdout
    assert purge(timedelta(days=90)).executions == 0  # already purged


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("2w", 1209600), ("7", 604800)],
)
def test_ages_are_read_in_days_hours_minutes_and_weeks(text, seconds):
    assert parse_age(text).total_seconds() == seconds


def test_a_bad_age_says_how_to_write_one():
    with pytest.raises(ValueError, match="write it like 90d"):
        parse_age("ninety days")


def test_the_admin_shows_how_much_space_each_scripts_history_takes(
    synced, scripts_dir, alice, admin_user, broker, client
):
    run_reporting_script(scripts_dir, alice)
    client.force_login(admin_user)
    page = client.get("/admin/catalog/script/?o=8")
    assert page.status_code == 200
    text = page.content.decode()
    assert "history size" in text.lower()
    script = Script.objects.get(name="writes")
    from django.contrib import admin as django_admin

    from scriptdeck.catalog.admin import ScriptAdmin

    annotated = ScriptAdmin(Script, django_admin.site).get_queryset(page.wsgi_request)
    size = annotated.get(pk=script.pk).history_bytes
    stored = len("some output\n") * 2 + len("data")  # the row's stdout, its chunk, the artifact
    assert size == stored
