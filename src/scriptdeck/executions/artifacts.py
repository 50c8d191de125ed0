"""Files a script leaves in its ``SCRIPT_OUTPUT_DIR``, kept as the execution's artifacts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files import File

from scriptdeck.catalog.discovery import sha256_of

from .models import Artifact

log = logging.getLogger(__name__)


def collect(
    execution_id: int, folder: Path, on_file: Callable[[], None] | None = None
) -> tuple[list[Artifact], list[str]]:
    """Store every regular file below ``folder`` through Django's storage API.

    Links are skipped (a script could point one anywhere). Returns the artifacts and a
    list of sentences about what was left out (over the count or size limit).
    """
    kept: list[Artifact] = []
    skipped: list[str] = []
    if not folder.is_dir():
        return kept, skipped
    max_files = settings.SCRIPTDECK_ARTIFACT_MAX_FILES
    max_bytes = settings.SCRIPTDECK_ARTIFACT_MAX_BYTES
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if on_file is not None:
            on_file()  # storing may take long: the run stays visibly alive meanwhile
        name = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        if len(kept) >= max_files:
            skipped.append(f"{name}: more than {max_files} files")
            continue
        if total + size > max_bytes:
            skipped.append(f"{name}: the artifacts of one run are limited to {max_bytes} bytes")
            continue
        artifact = Artifact(execution_id=execution_id, name=name, size=size, sha256=sha256_of(path))
        with path.open("rb") as handle:
            artifact.file.save(name, File(handle), save=False)
        artifact.save()
        total += size
        kept.append(artifact)
    if skipped:
        log.warning("execution %s: artifacts left out: %s", execution_id, "; ".join(skipped))
    return kept, skipped
