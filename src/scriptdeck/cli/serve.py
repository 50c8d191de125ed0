"""``scriptdeck serve``: migrate, sync, then start and supervise web, worker, sweeper and
scheduler as child processes, stopping them in order."""

from __future__ import annotations

import argparse
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

from .server import setup_django

PR_SET_PDEATHSIG = 1


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
        # The worker drains by itself (see worker/lifecycle.py); this is the fallback.
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
    setup_django()
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
