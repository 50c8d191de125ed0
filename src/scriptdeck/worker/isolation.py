"""The worker's side of isolation: its own process hardened, and each run's sandbox set up.

The runner's :mod:`~scriptdeck.runner.sandbox` says how a run is wrapped; here the worker
decides which sandbox is in force (``SCRIPTDECK_SANDBOX``, ``SCRIPTDECK_RUN_AS``), makes its
own process unreadable to scripts, and hands each run's folder to the run's user.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
from pathlib import Path
from typing import Any

from django.conf import settings

from scriptdeck.runner import RunSpec
from scriptdeck.runner.sandbox import Sandbox, build

from . import homeaccess

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
# The server's secrets: read into settings at start, then out of the process's environment,
# so nothing that inherits or dumps it later carries them.
SECRET_VARIABLES = (
    "SECRET_KEY",
    "SCRIPTDECK_ENCRYPTION_KEY",
    "SCRIPTDECK_ADMIN_PASSWORD",
    "DATABASE_URL",
    "SCRIPTDECK_EMAIL_PASSWORD",
    "CELERY_BROKER_URL",
)


def sandbox() -> Sandbox:
    """The sandbox of this worker's runs (raises ``SandboxUnavailable`` with how to fix it)."""
    return _sandbox(
        settings.SCRIPTDECK_SANDBOX,
        settings.SCRIPTDECK_RUN_AS,
        str(settings.SCRIPTDECK_HOME),
        str(settings.SCRIPTDECK_ENVS_DIR),
    )


@functools.cache
def _sandbox(mode: str, run_as: str, home: str, envs: str) -> Sandbox:
    # Once per set of settings: finding bwrap starts it once to see that it works here.
    return build(mode, run_as, hidden=(home,), readable=(envs,))


def harden() -> Sandbox:
    """At worker start: no dumps or ``/proc`` reads of this process, the home sealed, no
    secrets left in the environment, and the sandbox checked (a missing user stops here)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("could not make the worker process non-dumpable")
    for name in SECRET_VARIABLES:
        os.environ.pop(name, None)
    current = sandbox()
    if _passes_through_home(current):
        homeaccess.check_reachable(Path(settings.SCRIPTDECK_HOME))
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)  # sealed before any upload
    _seal(current)
    if not current.active:
        log.warning(
            "scripts run WITHOUT a sandbox (SCRIPTDECK_SANDBOX=%s, user %s, no usable bwrap): "
            "they can read what this server's user can read",
            settings.SCRIPTDECK_SANDBOX,
            os.geteuid(),
        )
    else:
        log.info("scripts run sandboxed: %s", current.describe())
    return current


def describe() -> dict[str, Any]:
    """What isolation runs get here, for ``/healthz`` (no worker process is needed to say)."""
    try:
        return {"mode": settings.SCRIPTDECK_SANDBOX, **sandbox().describe()}
    except Exception as exc:  # a missing user: the workers refuse to start, and say so
        return {"mode": settings.SCRIPTDECK_SANDBOX, "error": str(exc)}


def prepare(spec: RunSpec, run_dir: Path, network: bool) -> dict[str, Any] | None:
    """Put ``spec`` in the sandbox, its run folder owned by the run's user; what is in force."""
    current = sandbox()
    if not current.active:
        return None
    spec.sandbox = current
    spec.run_dir = str(run_dir)
    spec.network = network
    # The server's HOME is not the script's: a private /tmp in bwrap, else its own folder.
    spec.env["HOME"] = "/tmp" if current.bwrap else str(run_dir)
    if current.user is not None:
        _seal(current)  # whatever appeared in the home since the last run is closed first
        homeaccess.hand_over(run_dir, current.user.uid, current.user.gid)
    return current.describe(network)


def _passes_through_home(current: Sandbox) -> bool:
    """Whether runs reach their folder through the real home (another user, no bwrap)."""
    return current.user is not None and current.bwrap is None


def _seal(current: Sandbox) -> None:
    homeaccess.seal(
        Path(settings.SCRIPTDECK_HOME),
        Path(settings.SCRIPTDECK_RUNS_DIR),
        Path(settings.SCRIPTDECK_ENVS_DIR),
        traversable=_passes_through_home(current),
    )


def network_refusal(network: bool) -> str | None:
    """Why a run that must not reach the network cannot start here; ``None`` when it can.

    Only bubblewrap's network namespace cuts a run off: without it the run would have the
    network, so it is not started at all.
    """
    if network or sandbox().bwrap is not None:
        return None
    return (
        "This script is set to run without the network (network: false), but this worker "
        "cannot cut a run off from it: that needs bubblewrap (make sandbox-deps) and "
        "SCRIPTDECK_SANDBOX=auto. The script was not started."
    )
