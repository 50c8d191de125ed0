"""Leases: one sweeper active at a time, however many hosts run one."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
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
