"""``/healthz``: does the database answer, does the broker answer, which workers are alive."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from scriptdeck.celery import app
from scriptdeck.executions import workers
from scriptdeck.worker import isolation


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"error: {exc}"
    return "ok"


def _broker() -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:
        return f"error: {exc}"
    return "ok"


def healthz(request: HttpRequest) -> JsonResponse:
    database, broker = _database(), _broker()
    live = []
    if database == "ok":
        live = [
            {
                "hostname": w.hostname,
                "queues": w.queues,
                "concurrency": w.concurrency,
                "version": w.version,
                "last_seen_at": w.last_seen_at.isoformat(),
            }
            for w in workers.live()
        ]
    healthy = database == "ok" and broker == "ok"
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": database,
        "broker": broker,
        "workers": live,
        "sandbox": isolation.describe(),
    }
    return JsonResponse(body, status=200 if healthy else 503)
