"""A script's resource limits: its own fields, else the global defaults (SCRIPTDECK_LIMIT_*)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from scriptdeck.runner.limits import Limits, MiB


def _chosen(own: int | None, default: int) -> int:
    # Empty is the default; 0 (in either) is no limit.
    return default if own is None else own


def limits_for(script: Any) -> Limits:
    """The limits a run of ``script`` gets, in the runner's units (bytes, counts, seconds)."""
    return Limits(
        memory_bytes=_chosen(script.memory_limit_mb, settings.SCRIPTDECK_LIMIT_MEMORY_MB) * MiB,
        processes=_chosen(script.process_limit, settings.SCRIPTDECK_LIMIT_PROCESSES),
        cpu_seconds=_chosen(script.cpu_limit_seconds, settings.SCRIPTDECK_LIMIT_CPU_SECONDS),
        file_size_bytes=_chosen(script.file_size_limit_mb, settings.SCRIPTDECK_LIMIT_FILE_SIZE_MB)
        * MiB,
        open_files=_chosen(script.open_files_limit, settings.SCRIPTDECK_LIMIT_OPEN_FILES),
    )
