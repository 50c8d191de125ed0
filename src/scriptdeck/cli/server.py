"""The server's own processes: worker, web, sweeper, scheduler; and sync, purge, manage.

Django is set up inside each command, so the client commands never load it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptdeck.settings")
    # Children started by `serve` must agree on the home folder whatever their cwd.
    if "SCRIPTDECK_HOME" in os.environ:
        os.environ["SCRIPTDECK_HOME"] = os.path.abspath(os.environ["SCRIPTDECK_HOME"])
    import django

    django.setup()


# --- sync / manage ------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    setup_django()
    from django.conf import settings

    from scriptdeck.catalog.registry import sync

    root = settings.SCRIPTDECK_SCRIPTS_DIR
    if not root.is_dir():
        print(
            f"scriptdeck: the scripts folder {root} does not exist; "
            "set SCRIPTDECK_SCRIPTS_DIR to your scripts folder",
            file=sys.stderr,
        )
        return 2
    report = sync()
    print(f"synced {root}: {report.summary()}")
    for label, names in (("added", report.added), ("updated", report.updated)):
        for name in names:
            print(f"  {label}: {name}")
    for name in report.deactivated:
        print(f"  deactivated (file gone): {name}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    setup_django()
    from scriptdeck.executions.retention import parse_age, purge

    try:
        age = parse_age(args.older_than)
    except ValueError as exc:
        print(f"scriptdeck: --older-than: {exc}", file=sys.stderr)
        return 2

    report = purge(age, dry_run=args.dry_run)
    print(("would purge " if args.dry_run else "purged ") + report.summary())
    # Scripts' environments (their declared dependencies) not used for as long go too.
    from django.conf import settings

    from scriptdeck.worker.environments import prune

    pruned = prune(settings.SCRIPTDECK_ENVS_DIR, age.total_seconds(), dry_run=args.dry_run)
    print(("would remove " if args.dry_run else "environments: ") + pruned.summary())
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["scriptdeck manage", *args.rest])
    return 0


# --- worker / web / sweeper (the processes `serve` supervises) -------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    os.environ["SCRIPTDECK_SHUTDOWN_GRACE"] = str(args.shutdown_grace)
    # Celery's Django fixup runs Django's system checks at worker start, which import the
    # URLconf and with it every API view, DRF's and drf-spectacular's modules: about 22 MB
    # in every worker process that never serves a request. `serve` and `migrate` run them.
    os.environ.setdefault("CELERY_SKIP_CHECKS", "1")
    setup_django()
    from scriptdeck.celery import app

    hostname = args.hostname or f"scriptdeck-{os.getpid()}@{socket.gethostname()}"
    argv = [
        "worker",
        f"--loglevel={args.loglevel}",
        f"--queues={args.queues}",
        f"--concurrency={args.concurrency}",
        "--pool=prefork",
        f"--hostname={hostname}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    app.worker_main(argv)
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    os.environ.setdefault("SCRIPTDECK_DB_POOL", "true")  # before the settings: see asgi.py
    setup_django()
    import logging

    import uvicorn

    from scriptdeck.automation.webhooks import RedactWebhookKeys

    logging.getLogger("uvicorn.access").addFilter(RedactWebhookKeys())
    uvicorn.run(
        "scriptdeck.asgi:application",
        host=args.host,
        port=args.port,
        lifespan="off",
        log_level=args.loglevel.lower(),
        timeout_graceful_shutdown=5,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the application decides
        # whom to believe (SCRIPTDECK_TRUSTED_PROXIES).
        proxy_headers=False,
    )
    return 0


def cmd_sweeper(args: argparse.Namespace) -> int:
    setup_django()
    import logging

    from django.conf import settings

    from scriptdeck.executions import leases, uploads
    from scriptdeck.executions.retention import purge
    from scriptdeck.worker.sweeper import sweep

    log = logging.getLogger("scriptdeck.sweeper")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    interval = args.interval or settings.SCRIPTDECK_SWEEP_INTERVAL
    lease_seconds = interval * 3
    next_purge = next_expiry = 0.0
    # The folder is watched by the one active sweeper: one process per installation, not
    # one per web process or worker slot. It syncs while this sweeper's lease is fresh.
    active_until = 0.0
    watcher: threading.Thread | None = None

    def sweep_once() -> None:
        nonlocal next_purge, next_expiry, active_until, watcher
        active_until = time.monotonic() + lease_seconds
        if watcher is None and not args.once and settings.SCRIPTDECK_RESCAN_SECONDS > 0:
            watcher = start_folder_watch(stop, lambda: time.monotonic() < active_until)
        report = sweep()
        if settings.SCRIPTDECK_RETENTION_DAYS > 0 and time.monotonic() >= next_purge:
            next_purge = time.monotonic() + 3600
            purged = purge(timedelta(days=settings.SCRIPTDECK_RETENTION_DAYS))
            if purged.executions:
                log.info("retention: purged %s", purged.summary())
        expiry = settings.SCRIPTDECK_UPLOAD_EXPIRY_HOURS
        if expiry > 0 and time.monotonic() >= next_expiry:
            next_expiry = time.monotonic() + min(3600, expiry * 3600 / 4)
            expired = uploads.expire(timedelta(hours=expiry))
            if expired:
                log.info("uploads: %s older than %g h and unused deleted", expired, expiry)
        if report:
            log.info(
                "sweep: dispatched %s, still pending %s, worker lost %s",
                report.dispatched,
                report.still_pending,
                report.lost,
            )

    # One sweeper sweeps at a time; the others stand by and take over when its lease
    # lapses (it stopped renewing for three intervals).
    leases.run_leased(
        "sweeper",
        f"{socket.gethostname()}:{os.getpid()}",
        work=sweep_once,
        stop=stop,
        interval=interval,
        lease_seconds=lease_seconds,
        log=log,
        failure="sweep failed",
        once=args.once,
    )
    if watcher is not None:
        watcher.join(timeout=10)
    return 0


def start_folder_watch(stop: threading.Event, may_sync: Callable[[], bool]) -> threading.Thread:
    """The scripts folder's watch, in a thread of its own until ``stop`` is set."""
    from django.conf import settings

    from scriptdeck.catalog.watch import FolderWatch

    watch = FolderWatch(
        settings.SCRIPTDECK_SCRIPTS_DIR, settings.SCRIPTDECK_RESCAN_SECONDS, may_sync=may_sync
    )
    thread = threading.Thread(target=watch.run, args=(stop,), name="folder-watch")
    thread.start()
    return thread


def cmd_scheduler(args: argparse.Namespace) -> int:
    setup_django()
    from django.conf import settings

    from scriptdeck.automation.scheduler import serve

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    interval = args.interval or settings.SCRIPTDECK_SCHEDULER_INTERVAL
    serve(stop, interval, f"{socket.gethostname()}:{os.getpid()}", once=args.once)
    return 0
