"""Announcing that an execution changed, so live views need not wait for their next poll.

On PostgreSQL a change is a ``NOTIFY scriptdeck_execution, '<id>'`` sent in the transaction
that makes it, so listeners hear of it exactly when it becomes visible (at commit) and
never of a change that was rolled back. The web servers listen (``api/listener.py``) and wake
the SSE feeds and the waiting requests of that execution at once. On other databases
nothing is sent and the listeners poll; the database stays the only source of truth either
way: a notification only says "read again now".
"""

from __future__ import annotations

from django.db import connection

CHANNEL = "scriptdeck_execution"


ENDED = "end"


def announce(execution_id: int, ended: bool = False) -> None:
    """Say that execution ``execution_id`` changed (at commit of the current transaction).

    The payload is the id, followed by `` end`` when the change ends the run: a hint that
    lets a listener waiting for the end ignore the other changes (a start, a batch of
    output) without reading the row.
    """
    if connection.vendor != "postgresql":
        return
    payload = f"{execution_id} {ENDED}" if ended else str(execution_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])
