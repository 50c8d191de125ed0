"""The bundled examples, synced as `make run` syncs them: each one shows a real form."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scriptdeck.catalog.registry import sync

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scripts"

# Where each example's form comes from.
SOURCES = {
    "always_fails": "declared",
    "check_disk": "shell",
    "check_port": "argparse",
    "csv_report": "declared",
    "disk_usage_table": "declared",
    "grep_logs": "click",
    "hello": "sidecar",
    "long_task": "declared",
    "memory_hog": "declared",
    "scan_dev_update": "declared",
    "service_login_check": "declared",
    "text_stats": "inferred",
}


@pytest.fixture
def examples(db, tmp_path, settings, admin_client):
    # A copy, as a fresh clone has it: the sync must not depend on anything left beside them.
    folder = tmp_path / "scripts"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    settings.SCRIPTDECK_SCRIPTS_DIR = folder.resolve()
    sync()
    answer = admin_client.get("/api/scripts/", {"page_size": 200})
    assert answer.status_code == 200
    return {script["name"]: script for script in answer.json()["results"]}


def test_every_example_is_listed_with_where_its_form_comes_from(examples):
    assert {name: script["schema_source"] for name, script in examples.items()} == SOURCES


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_example_has_a_form_that_reads_cleanly(examples, name):
    script = examples[name]

    assert script["parameter_schema"]["properties"], name
    assert script["schema_problems"] == [], name
    assert script["is_active"]


def test_the_argparse_example_maps_each_field_to_its_own_option(examples):
    properties = examples["check_port"]["parameter_schema"]["properties"]

    assert examples["check_port"]["schema_origin"] == (
        "read from argparse in build_parser(), line 13"
    )
    assert examples["check_port"]["parameter_schema"]["required"] == ["host"]
    assert properties["port"]["type"] == "integer"
    assert properties["port"]["default"] == 22
    assert properties["family"]["enum"] == ["any", "ipv4", "ipv6"]
    assert properties["tag"]["type"] == "array"
    assert properties["tag"]["cli"] == {
        "kind": "option",
        "flag": "--tag",
        "repeat": True,
        "metavar": "TAG",
    }
    assert "title" not in properties["tag"]  # the label is the name; TAG is --help's placeholder
    assert properties["verbose"]["cli"] == {"kind": "count", "flag": "--verbose"}
    assert properties["dry_run"]["cli"] == {"kind": "flag", "flag": "--dry-run"}


def test_the_argparse_example_shows_its_command_line_with_the_defaults(examples):
    assert examples["check_port"]["command_line_preview"] == [
        "check_port.py",
        "--host",
        "<host>",
        "--port",
        "22",
        "--timeout",
        "3.0",
        "--family",
        "any",
    ]
