"""``scriptdeck``: serve, worker, sweeper, sync, manage; and run, ls, logs, cancel, login.

Every option also reads an environment variable, named in ``--help``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

PR_SET_PDEATHSIG = 1


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptdeck.settings")
    # Children started by `serve` must agree on the home folder whatever their cwd.
    if "SCRIPTDECK_HOME" in os.environ:
        os.environ["SCRIPTDECK_HOME"] = os.path.abspath(os.environ["SCRIPTDECK_HOME"])
    import django

    django.setup()


def _default_concurrency() -> int:
    return max(2, os.cpu_count() or 1)


# --- sync / manage ------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    _setup_django()
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
    _setup_django()
    from scriptdeck.executions.retention import parse_age, purge

    try:
        age = parse_age(args.older_than)
    except ValueError as exc:
        print(f"scriptdeck: --older-than: {exc}", file=sys.stderr)
        return 2

    report = purge(age, dry_run=args.dry_run)
    print(("would purge " if args.dry_run else "purged ") + report.summary())
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _setup_django()
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
    _setup_django()
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
    _setup_django()
    import logging

    import uvicorn

    from scriptdeck.automation.webhooks import RedactHookKeys

    logging.getLogger("uvicorn.access").addFilter(RedactHookKeys())
    uvicorn.run(
        "scriptdeck.asgi:application",
        host=args.host,
        port=args.port,
        lifespan="off",
        log_level=args.loglevel.lower(),
        timeout_graceful_shutdown=5,
    )
    return 0


def cmd_sweeper(args: argparse.Namespace) -> int:
    _setup_django()
    import logging

    from django.conf import settings
    from django.db import close_old_connections

    from scriptdeck.executions import leases
    from scriptdeck.executions.retention import purge
    from scriptdeck.executions.services import sweep

    log = logging.getLogger("scriptdeck.sweeper")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    interval = args.interval or settings.SCRIPTDECK_SWEEP_INTERVAL
    me = f"{socket.gethostname()}:{os.getpid()}"
    active = None
    next_purge = 0.0
    while True:
        close_old_connections()
        try:
            # One sweeper sweeps at a time; the others stand by and take over when its
            # lease lapses (it stopped renewing for three intervals).
            holding = leases.acquire("sweeper", me, interval * 3)
            if holding != active:
                active = holding
                log.info("sweeper %s is %s", me, "active" if holding else "standing by")
            if not holding:
                if args.once or stop.wait(interval):
                    return 0
                continue
            report = sweep()
            if settings.SCRIPTDECK_RETENTION_DAYS > 0 and time.monotonic() >= next_purge:
                next_purge = time.monotonic() + 3600
                purged = purge(timedelta(days=settings.SCRIPTDECK_RETENTION_DAYS))
                if purged.executions:
                    log.info("retention: purged %s", purged.summary())
            if report:
                log.info(
                    "sweep: dispatched %s, still pending %s, worker lost %s",
                    report.dispatched,
                    report.still_pending,
                    report.lost,
                )
        except Exception:
            log.exception("sweep failed; trying again in %s s", interval)
        if args.once or stop.wait(interval):
            try:
                leases.release("sweeper", me)
            except Exception:
                log.warning("could not release the sweeper lease; it lapses by itself")
            return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    _setup_django()
    from django.conf import settings

    from scriptdeck.automation.scheduler import serve

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    interval = args.interval or settings.SCRIPTDECK_SCHEDULER_INTERVAL
    serve(stop, interval, f"{socket.gethostname()}:{os.getpid()}", once=args.once)
    return 0


# --- serve ---------------------------------------------------------------------------------


def ensure_admin() -> None:
    """Create the first admin when there is none: from the environment, or print a password once."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return
    username = os.environ.get("SCRIPTDECK_ADMIN_USER") or "admin"
    password = os.environ.get("SCRIPTDECK_ADMIN_PASSWORD") or ""
    generated = not password
    if generated:
        password = secrets.token_urlsafe(12)
    if user_model.objects.filter(username=username).exists():
        return
    user_model.objects.create_superuser(username=username, email="", password=password)
    if generated:
        print(
            f"\n  Created the first admin: user {username!r}, password {password!r}\n"
            "  (shown once; set SCRIPTDECK_ADMIN_USER/SCRIPTDECK_ADMIN_PASSWORD to choose them)\n",
            flush=True,
        )
    else:
        print(f"Created the first admin {username!r} from SCRIPTDECK_ADMIN_USER.", flush=True)


def _child_setup() -> None:
    # Own process group: Ctrl-C reaches the supervisor only, which stops children in order.
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        # If the supervisor is killed outright, its children do not outlive it.
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Supervisor:
    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop = threading.Event()
        self.stopped_by_signal = False

    def spawn(self, name: str, argv: list[str]) -> None:
        command = [sys.executable, "-m", "scriptdeck.cli", *argv]
        self.children[name] = subprocess.Popen(command, preexec_fn=_child_setup)  # noqa: PLW1509

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopped_by_signal = True
        self.stop.set()

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        failed = None
        while not self.stop.wait(0.2):
            for name, child in self.children.items():
                if child.poll() is not None:
                    failed = name
                    print(
                        f"scriptdeck: the {name} process exited with {child.returncode}; "
                        "stopping the others",
                        file=sys.stderr,
                    )
                    self.stop.set()
                    break
        self.shutdown()
        return 0 if failed is None else 1

    def shutdown(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        # The worker drains by itself (see executions/lifecycle.py); this is the fallback.
        deadline = time.monotonic() + self.grace + 5
        worker = self.children.get("worker")
        while time.monotonic() < deadline and any(c.poll() is None for c in self.children.values()):
            time.sleep(0.1)
        if worker is not None and worker.poll() is None:
            # Scripts still running: a cold shutdown ends them and records why.
            worker.send_signal(signal.SIGQUIT)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        for child in self.children.values():
            if child.poll() is None:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.wait()


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from scriptdeck.catalog.registry import sync

    call_command("migrate", interactive=False, verbosity=0)
    ensure_admin()
    if settings.SCRIPTDECK_SCRIPTS_DIR.is_dir():
        print(f"scripts in {settings.SCRIPTDECK_SCRIPTS_DIR}: {sync().summary()}", flush=True)
    else:
        print(
            f"scriptdeck: the scripts folder {settings.SCRIPTDECK_SCRIPTS_DIR} does not exist "
            "(set SCRIPTDECK_SCRIPTS_DIR)",
            file=sys.stderr,
        )
    os.environ["SCRIPTDECK_SHUTDOWN_GRACE"] = str(args.shutdown_grace)  # the worker drains so
    supervisor = Supervisor(grace=args.shutdown_grace)
    supervisor.spawn(
        "web", ["web", "--host", args.host, "--port", str(args.port), "--loglevel", args.loglevel]
    )
    if not args.no_worker:
        supervisor.spawn(
            "worker",
            [
                "worker",
                "--queues",
                args.queues,
                "--concurrency",
                str(args.concurrency),
                "--loglevel",
                args.loglevel,
            ],
        )
    if not args.no_sweeper:
        supervisor.spawn("sweeper", ["sweeper"])
    if not args.no_scheduler:
        supervisor.spawn("scheduler", ["scheduler"])
    print(f"scriptdeck is serving on http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    return supervisor.run()


# --- the client commands (scriptdeck/client.py: httpx only, no Django) ---------------------


def _client(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler of a client command, imported when it runs: no Django, no database."""

    def handler(args: argparse.Namespace) -> int:
        from scriptdeck import client

        return getattr(client, name)(args)

    return handler


# --- argument parsing ------------------------------------------------------------------------


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scriptdeck", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def web_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--host", default=_env("SCRIPTDECK_HOST", "127.0.0.1"), help="[SCRIPTDECK_HOST]"
        )
        p.add_argument(
            "--port",
            type=int,
            default=int(_env("SCRIPTDECK_PORT", "8000")),
            help="[SCRIPTDECK_PORT]",
        )

    def worker_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--queues",
            default=_env("SCRIPTDECK_QUEUES", "default"),
            help="comma-separated queues to serve [SCRIPTDECK_QUEUES]",
        )
        p.add_argument(
            "--concurrency",
            type=int,
            default=int(_env("SCRIPTDECK_CONCURRENCY", str(_default_concurrency()))),
            help="scripts run at once [SCRIPTDECK_CONCURRENCY]",
        )
        p.add_argument(
            "--shutdown-grace",
            type=float,
            default=float(_env("SCRIPTDECK_SHUTDOWN_GRACE", "10")),
            help="on SIGTERM, seconds running scripts get to finish before they are ended "
            "and recorded as worker_shutdown [SCRIPTDECK_SHUTDOWN_GRACE]",
        )

    def log_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--loglevel",
            default=_env("SCRIPTDECK_LOG_LEVEL", "INFO"),
            help="[SCRIPTDECK_LOG_LEVEL]",
        )

    serve = sub.add_parser(
        "serve", help="migrate, sync, then run the web server, a worker, a sweeper, a scheduler"
    )
    web_options(serve)
    worker_options(serve)
    log_option(serve)
    serve.add_argument("--no-worker", action="store_true", help="serve the web alone")
    serve.add_argument("--no-sweeper", action="store_true", help="run no sweeper here")
    serve.add_argument(
        "--no-scheduler", action="store_true", help="run no scheduler (schedules, notifications)"
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a Celery worker alone (for other machines)")
    worker_options(worker)
    log_option(worker)
    worker.add_argument(
        "--hostname",
        default=os.environ.get("SCRIPTDECK_WORKER_NAME"),
        help="worker name [SCRIPTDECK_WORKER_NAME]",
    )
    worker.set_defaults(func=cmd_worker)

    web = sub.add_parser("web", help="run the web server alone")
    web_options(web)
    log_option(web)
    web.set_defaults(func=cmd_web)

    sweeper = sub.add_parser("sweeper", help="dispatch stranded executions, end lost runs")
    sweeper.add_argument("--once", action="store_true", help="sweep once and exit")
    sweeper.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between sweeps [SCRIPTDECK_SWEEP_INTERVAL]",
    )
    sweeper.set_defaults(func=cmd_sweeper)

    scheduler = sub.add_parser(
        "scheduler", help="fire schedules and send notifications (one active at a time)"
    )
    scheduler.add_argument("--once", action="store_true", help="one pass, then exit")
    scheduler.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between passes [SCRIPTDECK_SCHEDULER_INTERVAL]",
    )
    scheduler.set_defaults(func=cmd_scheduler)

    sync = sub.add_parser("sync", help="register the scripts in SCRIPTDECK_SCRIPTS_DIR")
    sync.set_defaults(func=cmd_sync)

    purge = sub.add_parser(
        "purge", help="remove old executions' output, timelines and artifacts (rows stay)"
    )
    purge.add_argument("--older-than", required=True, help="an age such as 90d, 12h or 2w")
    purge.add_argument("--dry-run", action="store_true", help="count, remove nothing")
    purge.set_defaults(func=cmd_purge)

    manage = sub.add_parser("manage", help="a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)

    def connection_options(p: argparse.ArgumentParser, token: bool = True) -> None:
        p.add_argument(
            "--url",
            help="the server [SCRIPTDECK_URL, else the config file, else http://127.0.0.1:8000]",
        )
        if token:
            p.add_argument("--token", help="an API token [SCRIPTDECK_TOKEN, else the config file]")

    run = sub.add_parser("run", help="run a script on a server, follow its output, exit as it did")
    run.add_argument("script", help="the script's name or id")
    run.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a parameter; VALUE is JSON when it parses, else text; @FILE reads a file",
    )
    run.add_argument("--page-context", default="", help="the page context the script receives")
    run.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow the output to the end (default); --no-follow prints the id and exits",
    )
    run.add_argument("--json", action="store_true", help="print only the final record, as JSON")
    run.add_argument("--timeout", type=float, help="stop waiting after this many seconds")
    connection_options(run)
    run.set_defaults(func=_client("cmd_run"))

    ls = sub.add_parser("ls", help="list the scripts you may see on a server")
    ls.add_argument("--json", action="store_true", help="print the server's records as JSON")
    connection_options(ls)
    ls.set_defaults(func=_client("cmd_ls"))

    logs = sub.add_parser("logs", help="print an execution's output")
    logs.add_argument("id", type=int, help="the execution's id")
    logs.add_argument("--follow", action="store_true", help="keep printing until it ends")
    logs.add_argument("--json", action="store_true", help="print the chunks as one JSON")
    logs.add_argument("--timeout", type=float, help="with --follow: stop waiting after S s")
    connection_options(logs)
    logs.set_defaults(func=_client("cmd_logs"))

    cancel = sub.add_parser("cancel", help="cancel an execution")
    cancel.add_argument("id", type=int, help="the execution's id")
    connection_options(cancel)
    cancel.set_defaults(func=_client("cmd_cancel"))

    status = sub.add_parser("status", help="show an execution's record")
    status.add_argument("id", type=int, help="the execution's id")
    status.add_argument("--json", action="store_true", help="the whole record, as JSON")
    connection_options(status)
    status.set_defaults(func=_client("cmd_status"))

    login = sub.add_parser("login", help="get an API token and save it for the client commands")
    login.add_argument("--username", help="asked when not given")
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    connection_options(login, token=False)
    login.set_defaults(func=_client("cmd_login"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from scriptdeck.config import ConfigurationError

    try:
        return int(args.func(args) or 0)
    except ConfigurationError as exc:
        print(f"scriptdeck: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
