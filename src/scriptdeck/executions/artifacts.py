"""Files a script leaves in its ``SCRIPT_OUTPUT_DIR``, kept as the execution's artifacts."""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File

from scriptdeck.security.masking import Masker

from .models import Artifact

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# Read without following a last link, and without waiting on a FIFO a race put there.
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _is_text(handle: IO[bytes]) -> bool:
    """UTF-8 throughout with no NUL: what the console would show as text."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            if b"\0" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False
    finally:
        handle.seek(0)


def _masked(handle: IO[bytes], masker: Masker) -> IO[bytes]:
    """A temporary copy of text ``handle`` with every secret masked as output is."""
    copy = tempfile.TemporaryFile()
    decoder = codecs.getincrementaldecoder("utf-8")()
    stream = masker.stream()
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        copy.write(stream.feed(decoder.decode(chunk)).encode("utf-8"))
    copy.write((stream.feed(decoder.decode(b"", final=True)) + stream.flush()).encode("utf-8"))
    copy.seek(0)
    return copy


def _measured(handle: IO[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    handle.seek(0)
    return size, digest.hexdigest()


def _open_regular(path: Path) -> tuple[IO[bytes] | None, str]:
    """The file opened for reading, or None and why it is not collected.

    Only a regular file with one name is: a symbolic or hard link could be any file the
    script can read (``/etc/passwd``), a FIFO would block, a device is not a file.
    """
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        if path.is_symlink():
            return None, "a link, not collected"
        return None, f"unreadable ({exc.strerror})"
    handle = os.fdopen(fd, "rb")
    found = os.fstat(handle.fileno())
    if not stat.S_ISREG(found.st_mode):
        handle.close()
        return None, "not a regular file (a FIFO, a socket or a device), not collected"
    if found.st_nlink != 1:
        handle.close()
        return None, "a hard link to another file, not collected"
    return handle, ""


def collect(
    execution_id: int,
    folder: Path,
    on_file: Callable[[], None] | None = None,
    masker: Masker | None = None,
) -> tuple[list[Artifact], list[str]]:
    """Store every regular file below ``folder`` through Django's storage API.

    A text file is stored with ``masker``'s secrets masked, as output is; a binary one as
    it is. Returns the artifacts and a list of sentences about what was left out (links,
    special files, over the count or size limit).
    """
    kept: list[Artifact] = []
    skipped: list[str] = []
    if folder.is_symlink() or not folder.is_dir():
        return kept, skipped
    max_files = settings.SCRIPTDECK_ARTIFACT_MAX_FILES
    max_bytes = settings.SCRIPTDECK_ARTIFACT_MAX_BYTES
    total = 0
    # rglob does not descend into a linked folder; a link to one is listed and left out.
    for path in sorted(folder.rglob("*")):
        if stat.S_ISDIR(path.lstat().st_mode):
            continue
        name = path.relative_to(folder).as_posix()
        if len(kept) >= max_files:
            skipped.append(f"{name}: more than {max_files} files")
            continue
        handle, why = _open_regular(path)
        if handle is None:
            skipped.append(f"{name}: {why}")
            continue
        if on_file is not None:
            on_file()  # storing may take long: the run stays visibly alive meanwhile
        with handle:
            source = _masked(handle, masker) if masker and _is_text(handle) else handle
            with source:
                size, sha256 = _measured(source)
                if total + size > max_bytes:
                    skipped.append(
                        f"{name}: the artifacts of one run are limited to {max_bytes} bytes"
                    )
                    continue
                artifact = Artifact(execution_id=execution_id, name=name, size=size, sha256=sha256)
                artifact.file.save(name, File(source), save=False)
        artifact.save()
        total += size
        kept.append(artifact)
    if skipped:
        log.warning("execution %s: artifacts left out: %s", execution_id, "; ".join(skipped))
    return kept, skipped
