"""``scriptdeck``: serve, worker, sweeper, sync, manage; and run, ls, logs, cancel, login.

Every option also reads an environment variable, named in ``--help``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from .serve import cmd_serve
from .server import (
    cmd_manage,
    cmd_purge,
    cmd_scheduler,
    cmd_sweeper,
    cmd_sync,
    cmd_web,
    cmd_worker,
)


def _default_concurrency() -> int:
    return max(2, os.cpu_count() or 1)


# --- the client commands (scriptdeck/client/: httpx only, no Django) ----------------------


def _client(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler of a client command, imported when it runs: no Django, no database."""

    def handler(args: argparse.Namespace) -> int:
        from scriptdeck.client import commands

        return getattr(commands, name)(args)

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
        "purge",
        help="remove old executions' output, timelines and artifacts (rows stay), and the "
        "scripts' dependency environments not used for as long",
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
