"""Worker hooks: the worker records itself in the workers table while it runs."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_ready,
    worker_shutdown,
    worker_shutting_down,
)

log = logging.getLogger(__name__)
REGISTRY_INTERVAL = 10.0
_stop = threading.Event()


def _beat(hostname: str, queues: list[str], concurrency: int) -> None:
    from scriptdeck.executions import workers

    starting = True
    while True:
        try:
            workers.seen(hostname, queues, concurrency, os.getpid(), starting)
            starting = False
        except Exception:
            log.warning("could not record worker %s as alive", hostname, exc_info=True)
        if _stop.wait(REGISTRY_INTERVAL):
            return


@task_prerun.connect
def _before_task(**_: Any) -> None:
    # Celery's Django fixup closes every connection around every task unless
    # CELERY_DB_REUSE_MAX is set (settings.py sets it): a new PostgreSQL connection per
    # run, a backend forked for it and torn down after. Here a task gets what a Django
    # request gets instead: the connection is kept for CONN_MAX_AGE, closed if it broke,
    # and health-checked (CONN_HEALTH_CHECKS) at its first use in the task.
    from django.db import close_old_connections

    close_old_connections()


@task_postrun.connect
def _after_task(state: str | None = None, **_: Any) -> None:
    from django.db import close_old_connections, connections

    if state == "SUCCESS":
        close_old_connections()
    else:
        # A task that raised may have been interrupted inside a query (a time limit's
        # signal): such a connection can look usable and is not. Never keep it.
        connections.close_all()


@worker_init.connect
def _on_worker_init(**_: Any) -> None:
    # Before the pool forks and before any script starts: the pool inherits it all.
    from scriptdeck.runner.sandbox import SandboxUnavailable

    from .isolation import harden

    try:
        harden()
    except SandboxUnavailable as exc:
        log.critical("the worker cannot isolate scripts: %s", exc)
        raise SystemExit(1) from None


@worker_ready.connect
def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    hostname = getattr(sender, "hostname", None) or "worker"
    controller = getattr(sender, "controller", None)
    concurrency = int(getattr(controller, "concurrency", 1) or 1)
    queues = sorted(sender.app.amqp.queues.consume_from) if sender is not None else []
    threading.Thread(
        target=_beat, args=(hostname, queues, concurrency), name="worker-registry", daemon=True
    ).start()


@worker_shutdown.connect
def _on_worker_shutdown(sender: Any = None, **_: Any) -> None:
    from scriptdeck.executions import workers

    _stop.set()
    hostname = getattr(sender, "hostname", None)
    if hostname:
        try:
            workers.stopped(hostname)
        except Exception:
            log.warning("could not record worker %s as stopped", hostname, exc_info=True)


@worker_shutting_down.connect
def _on_worker_shutting_down(sig: str = "", how: str = "", **_: Any) -> None:
    """Draining: the worker takes no new work and lets running scripts finish, for
    ``SCRIPTDECK_SHUTDOWN_GRACE`` seconds. Then a cold shutdown ends what still runs,
    and each of those runs is recorded as ``worker_shutdown`` (re-run by policy)."""
    if how != "Warm":
        return
    from django.conf import settings

    grace = float(getattr(settings, "SCRIPTDECK_SHUTDOWN_GRACE", 10.0))
    log.info("draining: running scripts get %s s to finish", grace)

    def escalate() -> None:
        log.warning("drain grace of %s s is over: stopping the scripts still running", grace)
        os.kill(os.getpid(), signal.SIGQUIT)

    timer = threading.Timer(grace, escalate)
    timer.daemon = True
    timer.start()
