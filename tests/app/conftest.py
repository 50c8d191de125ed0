"""Django with a database: API, compat routes, confinement, the worker's side in-process."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from scriptdeck.celery import app as celery_app

SOURCE_STYLE = """
\"\"\"扫描设备更新: a script written for the source.\"\"\"
from celery_app.script_base import ScriptBase, create_simple_script


def main_logic(script: ScriptBase):
    target = script.get_parameter('target', 'all')
    return script.success_result("扫描完成", {
        'script_name': script.script_name,
        'execution_context': script.page_context,
        'processed_parameters': script.parameters,
        'target': target,
    })


if __name__ == '__main__':
    create_simple_script('scan_dev_update', main_logic)
"""


@pytest.fixture(autouse=True)
def _unsandboxed(settings):
    # These scripts write beside themselves and report their own pids; sandboxed runs are
    # the runner's suite's (its sandboxed mode) and tests/system/test_sandbox.py's.
    settings.SCRIPTDECK_SANDBOX = "off"


@pytest.fixture
def scripts_dir(tmp_path, settings) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "scan_dev_update.py").write_text(SOURCE_STYLE)
    (folder / "fails.py").write_text(
        "# Exits with 2.\nimport sys\nprint('boom', file=sys.stderr)\nsys.exit(2)\n"
    )
    (folder / "ops").mkdir()
    (folder / "ops" / "hello.sh").write_text(
        '#!/usr/bin/env bash\n# Says hello.\nprintf \'{"hello": "%s"}\' "$SCRIPT_NAME"\n'
    )
    (folder / "notes.txt").write_text("not a script")
    settings.SCRIPTDECK_SCRIPTS_DIR = folder.resolve()
    settings.SCRIPTDECK_RUNS_DIR = tmp_path / "runs"
    return folder


def write_script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture
def synced(db, scripts_dir):
    from scriptdeck.catalog.registry import sync

    sync()
    return scripts_dir


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("admin", "", "admin-pass-1")


@pytest.fixture
def runners(db):
    """A group that may run every script: what most tests' users need."""
    from django.contrib.auth.models import Group

    from scriptdeck.access.models import Level, ScriptGrant

    group = Group.objects.create(name="runners")
    ScriptGrant.objects.create(script=None, group=group, level=Level.RUN)
    return group


@pytest.fixture
def alice(db, runners):
    user = get_user_model().objects.create_user("alice", "", "alice-pass-1")
    user.groups.add(runners)
    return user


@pytest.fixture
def bob(db, runners):
    user = get_user_model().objects.create_user("bob", "", "bob-pass-1")
    user.groups.add(runners)
    return user


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def admin_client(admin_user) -> APIClient:
    return client_for(admin_user)


@pytest.fixture
def alice_client(alice) -> APIClient:
    return client_for(alice)


class SentMessages(list):
    """What would have reached the broker: the broker is the one edge replaced here."""

    def __call__(self, name, args=None, kwargs=None, **options):
        self.append({"name": name, "args": args, **options})


@pytest.fixture
def broker(monkeypatch) -> SentMessages:
    sent = SentMessages()
    monkeypatch.setattr(celery_app, "send_task", sent)
    return sent


@pytest.fixture
def refused_broker(monkeypatch):
    """A real broker URL on which nothing listens: every publish is refused."""
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    yield
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
