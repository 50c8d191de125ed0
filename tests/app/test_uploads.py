"""Files in: uploads stored under generated names and handed to scripts as paths."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import sync
from scriptdeck.executions import services
from scriptdeck.executions.models import Status, TaskExecution, Upload
from scriptdeck.worker.execute import execute

from .conftest import client_for, write_script

FILE_SCHEMA = {
    "type": "object",
    "properties": {"data": {"type": "string", "format": "file"}, "label": {"type": "string"}},
}


def reader_script(scripts_dir) -> Script:
    write_script(
        scripts_dir,
        "reads_file.py",
        """
        import hashlib, json, os
        params = json.loads(os.environ["SCRIPT_PARAMETERS"])
        content = open(params["data"], "rb").read()
        print(json.dumps({"path": params["data"], "label": params.get("label"),
                          "sha256": hashlib.sha256(content).hexdigest()}))
        """,
    )
    sync()
    script = Script.objects.get(name="reads_file")
    script.parameter_schema = FILE_SCHEMA
    script.save()
    return script


def upload(client, name: str, content: bytes):
    return client.post(
        "/api/uploads/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )


def test_an_upload_named_like_a_path_lands_only_under_a_generated_name(
    synced, alice_client, settings
):
    content = b"\x00\x01 secret rows \xff" * 1000
    response = upload(alice_client, "../../x", content)
    assert response.status_code == 201, response.data
    stored = Upload.objects.get(pk=response.data["id"])
    assert response.data["name"] == "x"
    assert response.data["size"] == len(content)
    assert response.data["sha256"] == hashlib.sha256(content).hexdigest()
    assert stored.file.name == f"uploads/{stored.pk.hex}"
    path = Path(stored.file.path).resolve()
    assert path.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert path.read_bytes() == content
    assert not (Path(settings.MEDIA_ROOT).parent / "x").exists()


def test_an_uploaded_file_reaches_the_script_as_a_path_with_the_same_bytes(
    synced, scripts_dir, alice, alice_client, broker
):
    script = reader_script(scripts_dir)
    content = b"a,b\n1,2\n" * 5000
    upload_id = upload(alice_client, "rows.csv", content).data["id"]
    with_label = {"data": upload_id, "label": "q3"}
    response = alice_client.post(
        "/api/executions/", {"script": "reads_file", "parameters": with_label}, format="json"
    )
    assert response.status_code == 202, response.data
    assert execute(response.data["id"]) == "finished"
    execution = TaskExecution.objects.get(pk=response.data["id"])
    assert execution.status == Status.SUCCESS, execution.error_message
    assert execution.result["sha256"] == hashlib.sha256(content).hexdigest()
    assert execution.result["path"].endswith(".csv")
    assert "rows" not in Path(execution.result["path"]).name
    assert execution.parameters == with_label  # what is recorded is the id, not a local path
    assert not Path(execution.result["path"]).exists()  # the run's folder is cleaned up
    del script


def test_someone_elses_upload_or_a_bad_id_is_refused_naming_the_field(
    synced, scripts_dir, alice_client, bob, broker
):
    reader_script(scripts_dir)
    theirs = upload(client_for(bob), "b.txt", b"bob's").data["id"]
    for value in (theirs, "not-an-id"):
        response = alice_client.post(
            "/api/executions/",
            {"script": "reads_file", "parameters": {"data": value}},
            format="json",
        )
        assert response.status_code == 400
        assert "data" in response.data
    assert TaskExecution.objects.count() == 0
    assert alice_client.get(f"/api/uploads/{theirs}/").status_code == 404


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(synced, alice_client, settings):
    settings.SCRIPTDECK_UPLOAD_MAX_BYTES = 1000
    response = upload(alice_client, "big.bin", b"x" * 5000)
    assert response.status_code == 400
    assert "file" in response.data
    assert not Upload.objects.exists()


def test_uploads_need_a_file(synced, alice_client):
    response = alice_client.post("/api/uploads/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.data


def test_the_schema_marks_file_parameters_and_other_scripts_are_unaffected(synced, alice, broker):
    execution = services.submit(
        script=Script.objects.get(name="scan_dev_update"), parameters={"data": "x"}, user=alice
    )
    assert json.dumps(execution.parameters) == '{"data": "x"}'
