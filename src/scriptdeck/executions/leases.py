"""Leases: one sweeper (or scheduler) active at a time, however many hosts run one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Lease


def acquire(name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease ``name`` for ``seconds``; False while another holds it.

    A conditional UPDATE (held by us, or expired) decides; two contenders never both win.
    """
    now = timezone.now()
    expires = now + timedelta(seconds=seconds)
    taken = Lease.objects.filter(Q(holder=holder) | Q(expires_at__lt=now), name=name).update(
        holder=holder, expires_at=expires
    )
    if taken:
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires_at=expires)
    except IntegrityError:
        return False  # someone else holds it
    return True


def release(name: str, holder: str) -> None:
    Lease.objects.filter(name=name, holder=holder).delete()


def run_leased(
    name: str,
    holder: str,
    *,
    work: Callable[[], object],
    stop: threading.Event,
    interval: float,
    lease_seconds: float,
    log: logging.Logger,
    failure: str,
    once: bool = False,
) -> None:
    """Call ``work`` every ``interval`` seconds while ``holder`` holds the lease ``name``;
    stand by while another holder does. Return when ``stop`` is set (or after one pass
    with ``once``), releasing the lease.

    A failed pass, the lease's own queries included, is logged as ``failure`` and tried
    again after the interval: a database that is down for a while stops nothing. The
    lease is released at the end whether or not this holder was active when it ended, as
    a pass that failed may still have taken it.
    """
    active: bool | None = None
    while True:
        # A connection broken while waiting is replaced, not reused.
        close_old_connections()
        try:
            holding = acquire(name, holder, lease_seconds)
            if holding != active:
                active = holding
                log.info("%s %s is %s", name, holder, "active" if holding else "standing by")
            if holding:
                work()
        except Exception:
            log.exception("%s; trying again in %s s", failure, interval)
        if once or stop.wait(interval):
            try:
                release(name, holder)
            except Exception:
                log.warning("could not release the %s lease; it lapses by itself", name)
            return
