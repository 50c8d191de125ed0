"""Artifacts: text is masked like output; links, hard links, FIFOs and devices stay behind."""

from __future__ import annotations

import hashlib
import json

from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import sync
from scriptdeck.executions import services
from scriptdeck.executions.models import Artifact, TaskExecution
from scriptdeck.worker.execute import execute

from .conftest import write_script

SECRET = 'Pa"ss-wörd-artifact-9'

LEAKY = """
import json, os, sys
PARAMETERS = {"password": {"type": "string", "secret": True, "required": True}}
password = json.loads(os.environ["SCRIPT_PARAMETERS"])["password"]
out = os.environ["SCRIPT_OUTPUT_DIR"]
with open(os.path.join(out, "notes.txt"), "w", encoding="utf-8") as handle:
    handle.write("plain: " + password + "\\n" + "x" * 2_000_000 + password + "\\n")
    handle.write("as json: " + json.dumps({"password": password}) + "\\n")
with open(os.path.join(out, "image.bin"), "wb") as handle:
    handle.write(b"\\x00\\xff" + password.encode() + b"\\x00")
os.link(__file__, os.path.join(out, "script-copy.py"))
try:
    os.link("/etc/passwd", os.path.join(out, "passwd"))
except OSError:
    pass
os.symlink("/etc/passwd", os.path.join(out, "passwd-link"))
os.symlink("/etc", os.path.join(out, "etc-link"))
os.mkfifo(os.path.join(out, "pipe"))
print("{}")
"""


def test_text_artifacts_are_masked_and_only_regular_unlinked_files_are_kept(
    synced, scripts_dir, alice, alice_client, broker
):
    write_script(scripts_dir, "leaky.py", LEAKY)
    sync()
    script = Script.objects.get(name="leaky")
    execution = services.submit(script=script, user=alice, parameters={"password": SECRET})
    execute(execution.pk)
    execution = TaskExecution.objects.get(pk=execution.pk)
    assert execution.status == "SUCCESS", execution.error_message

    kept = {a.name: a for a in Artifact.objects.filter(execution=execution)}
    assert sorted(kept) == ["image.bin", "notes.txt"]
    notes = kept["notes.txt"].file.open("rb").read()
    for form in (SECRET, json.dumps(SECRET)[1:-1], json.dumps(SECRET, ensure_ascii=True)[1:-1]):
        assert form.encode() not in notes
    assert notes.startswith("plain: ••••\n".encode())
    assert notes.count("••••".encode()) == 3
    assert kept["notes.txt"].size == len(notes)
    assert kept["notes.txt"].sha256 == hashlib.sha256(notes).hexdigest()
    # A binary file is kept as it is: the console never shows it as text.
    assert kept["image.bin"].file.open("rb").read() == b"\x00\xff" + SECRET.encode() + b"\x00"

    left_out = "\n".join(execution.details["artifacts_left_out"])
    for name in ("script-copy.py", "passwd-link", "etc-link", "pipe"):
        assert name in left_out
    listed = alice_client.get(f"/api/executions/{execution.pk}/artifacts/").data
    assert [a["name"] for a in listed] == ["image.bin", "notes.txt"]
