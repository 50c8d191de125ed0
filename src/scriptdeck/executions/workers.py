"""The registry of workers: who serves which queues, and who was seen lately."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from scriptdeck import __version__

from .models import Worker

LIVE_WITHIN_SECONDS = 30.0


def seen(hostname: str, queues: list[str], concurrency: int, pid: int, starting: bool) -> None:
    now = timezone.now()
    defaults = {
        "queues": sorted(queues),
        "concurrency": concurrency,
        "version": __version__,
        "pid": pid,
        "last_seen_at": now,
        "stopped_at": None,
    }
    if starting:
        defaults["started_at"] = now
    Worker.objects.update_or_create(
        hostname=hostname, defaults=defaults, create_defaults={**defaults, "started_at": now}
    )


def stopped(hostname: str) -> None:
    Worker.objects.filter(hostname=hostname).update(stopped_at=timezone.now())


def live(within: float = LIVE_WITHIN_SECONDS) -> list[Worker]:
    cutoff = timezone.now() - timedelta(seconds=within)
    return list(Worker.objects.filter(stopped_at__isnull=True, last_seen_at__gte=cutoff))
