"""Upload expiry: unused uploads older than SCRIPTDECK_UPLOAD_EXPIRY_HOURS are deleted."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from scriptdeck import config
from scriptdeck.cli.server import cmd_sweeper
from scriptdeck.executions import leases, uploads
from scriptdeck.executions.models import Status, TaskExecution, Upload

from .test_uploads import reader_script, upload


def aged(upload_id: str, hours: float) -> Path:
    """Make the upload ``hours`` old; the path of its stored file."""
    Upload.objects.filter(pk=upload_id).update(created_at=timezone.now() - timedelta(hours=hours))
    path = Path(Upload.objects.get(pk=upload_id).file.path)
    assert path.exists()
    return path


def submit(client, upload_id: str):
    return client.post(
        "/api/executions/", {"script": "reads_file", "parameters": {"data": upload_id}}, "json"
    )


def test_old_unused_uploads_go_with_their_files_recent_and_pending_ones_stay(
    synced, scripts_dir, alice_client, broker
):
    reader_script(scripts_dir)
    old, recent, pending, finished = (
        upload(alice_client, f"{n}.csv", n.encode()).data["id"]
        for n in ("old", "recent", "pending", "finished")
    )
    assert submit(alice_client, pending).status_code == 202
    assert submit(alice_client, finished).status_code == 202
    TaskExecution.objects.filter(parameters__data=finished).update(status=Status.FAILURE)
    files = {pk: aged(pk, 200) for pk in (old, pending, finished)}
    files[recent] = aged(recent, 100)

    assert uploads.expire(timedelta(hours=168)) == 2
    assert set(Upload.objects.values_list("pk", flat=True).iterator()) == {
        Upload.objects.get(pk=recent).pk,
        Upload.objects.get(pk=pending).pk,
    }
    assert not files[old].exists() and not files[finished].exists()
    assert files[recent].exists() and files[pending].exists()

    refused = submit(alice_client, old)
    assert refused.status_code == 400
    assert "data" in refused.data
    assert submit(alice_client, recent).status_code == 202


def test_the_sweepers_pass_expires_uploads_unless_expiry_is_0(
    synced, alice_client, broker, settings, monkeypatch
):
    # One pass, without the lease's own connection handling.
    monkeypatch.setattr(leases, "run_leased", lambda name, holder, work, **_: work())
    first = upload(alice_client, "a.bin", b"a").data["id"]
    path = aged(first, 3)
    settings.SCRIPTDECK_UPLOAD_EXPIRY_HOURS = 0
    cmd_sweeper(argparse.Namespace(interval=None, once=True))
    assert Upload.objects.filter(pk=first).exists() and path.exists()
    settings.SCRIPTDECK_UPLOAD_EXPIRY_HOURS = 2
    cmd_sweeper(argparse.Namespace(interval=None, once=True))
    assert not Upload.objects.filter(pk=first).exists() and not path.exists()


@pytest.mark.parametrize("raw", ["-1", "soon", "nan"])
def test_a_bad_expiry_is_refused_naming_the_setting(monkeypatch, raw):
    monkeypatch.setenv("SCRIPTDECK_UPLOAD_EXPIRY_HOURS", raw)
    with pytest.raises(config.ConfigurationError, match="SCRIPTDECK_UPLOAD_EXPIRY_HOURS"):
        config.env_hours("SCRIPTDECK_UPLOAD_EXPIRY_HOURS", 168)
