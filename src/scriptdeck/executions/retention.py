"""Retention: the output of old executions goes, their summary rows and result records stay."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import TERMINAL_STATUSES, Artifact, ExecutionEvent, TaskExecution

BATCH = 500
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "": 86400}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``45s``, ``2w``; a bare number is days."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not an age: write it like 90d, 12h, 30m or 2w")
    return timedelta(seconds=float(match.group(1)) * _UNIT[match.group(2)])


@dataclass
class PurgeReport:
    executions: int = 0
    chunks: int = 0
    artifacts: int = 0

    def summary(self) -> str:
        return (
            f"{self.executions} executions: {self.chunks} output chunks and "
            f"{self.artifacts} artifacts removed"
        )


def purge(older_than: timedelta, dry_run: bool = False) -> PurgeReport:
    """Remove stored output, timelines and artifacts of executions that ended before the cutoff.

    Status, times, resource figures, parameters, result and result record are kept.
    """
    cutoff = timezone.now() - older_than
    report = PurgeReport()
    old = TaskExecution.objects.filter(
        status__in=TERMINAL_STATUSES, completed_at__lt=cutoff, output_purged_at__isnull=True
    ).order_by("pk")
    last = 0
    while True:
        ids = list(old.filter(pk__gt=last).values_list("pk", flat=True)[:BATCH])
        if not ids:
            return report
        last = ids[-1]
        chunks = ExecutionEvent.objects.filter(execution_id__in=ids)
        artifacts = Artifact.objects.filter(execution_id__in=ids)
        report.executions += len(ids)
        report.chunks += chunks.count()
        report.artifacts += artifacts.count()
        if dry_run:
            continue
        for artifact in artifacts:
            artifact.file.delete(save=False)
        with transaction.atomic():
            chunks.delete()
            artifacts.delete()
            TaskExecution.objects.filter(pk__in=ids).update(
                stdout="", stderr="", timeline=[], output_purged_at=timezone.now()
            )
