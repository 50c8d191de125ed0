"""Announcing that an execution changed, so live views need not wait for their next poll.

On PostgreSQL a change is a ``NOTIFY scriptdeck_execution, '<id>'`` sent in the transaction
that makes it, so listeners hear of it exactly when it becomes visible (at commit) and
never of a change that was rolled back. The web servers listen (``api/changes.py``) and wake
the SSE feeds and the waiting requests of that execution at once. On other databases
nothing is sent and the listeners poll; the database stays the only source of truth either
way: a notification only says "read again now".
"""

from __future__ import annotations

from django.db import connection

CHANNEL = "scriptdeck_execution"


def announce(execution_id: int) -> None:
    """Say that execution ``execution_id`` changed (at commit of the current transaction)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(execution_id)])
