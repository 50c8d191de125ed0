"""Two registrations of the same new files at once (the folder's watch and a "Sync now"):
both succeed and each file is registered once. PostgreSQL only: SQLite serializes its
write transactions by itself (`make test-postgres` runs this file)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from scriptdeck.catalog import registry
from scriptdeck.catalog.models import Script

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the race is PostgreSQL's (make test-postgres)"
)


@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_register_each_new_file_once(scripts_dir):
    for number in range(150):
        (scripts_dir / f"new_{number:03}.py").write_text(f'"""Number {number}."""\nprint(1)\n')
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def sync() -> None:
        try:
            start.wait(timeout=10)
            registry.sync()
        except BaseException as exc:  # noqa: BLE001  (reported by the test below)
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sync) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert Script.objects.filter(path__startswith="new_").count() == 150
