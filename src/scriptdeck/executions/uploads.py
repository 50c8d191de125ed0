"""Files sent for ``file`` parameters: stored under generated names, handed to scripts as paths."""

from __future__ import annotations

import hashlib
import re
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Sum
from django.utils import timezone

from scriptdeck.catalog.parameters import file_parameters
from scriptdeck.refusals import Refusal
from scriptdeck.security.crypto import DecryptError, decrypt_json

from .models import Status, TaskExecution, Upload

SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


class UploadRefused(Refusal, ValueError):
    """A file, or a file parameter, refused (400, naming the field)."""

    default_code = "upload_refused"


def check_declared_size(declared: int) -> None:
    """Refuse an upload whose declared size is over the limit, before its body is read (the
    multipart envelope may add up to 1 MiB)."""
    limit = settings.SCRIPTDECK_UPLOAD_MAX_BYTES
    if declared > limit + 1024 * 1024:
        raise UploadRefused(
            "file", f"the file is larger than the {limit} bytes allowed", code="upload_too_large"
        )


def check_quota(user: Any, size: int) -> None:
    """Refuse an upload past the user's quota: files kept, and their bytes together."""
    if getattr(user, "is_staff", False):
        return
    mine = Upload.objects.filter(user_id=user.pk)
    count = settings.SCRIPTDECK_QUOTA_UPLOADS
    if mine.count() >= count:
        raise UploadRefused(
            "file", f"you keep {count} uploads already (SCRIPTDECK_QUOTA_UPLOADS)", code="quota"
        )
    total = settings.SCRIPTDECK_QUOTA_UPLOAD_BYTES
    kept = mine.aggregate(total=Sum("size"))["total"] or 0
    if kept + size > total:
        raise UploadRefused(
            "file",
            f"your uploads would pass {total} bytes together (SCRIPTDECK_QUOTA_UPLOAD_BYTES)",
            code="quota",
        )


def store(user: Any, incoming: UploadedFile) -> Upload:
    """Keep an uploaded file (Django has streamed it to a temporary file already)."""
    limit = settings.SCRIPTDECK_UPLOAD_MAX_BYTES
    if incoming.size is not None and incoming.size > limit:
        raise UploadRefused("file", f"the file is larger than the {limit} bytes allowed")
    check_quota(user, incoming.size or 0)
    digest = hashlib.sha256()
    for chunk in incoming.chunks():
        digest.update(chunk)
    incoming.seek(0)
    name = Path(str(incoming.name or "upload").replace("\\", "/")).name[:255] or "upload"
    upload = Upload(user=user, name=name, size=incoming.size or 0, sha256=digest.hexdigest())
    upload.file.save(name, incoming, save=False)
    upload.save()
    return upload


def check_parameters(schema: dict[str, Any], parameters: dict[str, Any], user: Any) -> None:
    """Every ``file`` parameter given must name an upload of this user (or any, for staff)."""
    for name in file_parameters(schema):
        if name not in parameters or parameters[name] in (None, ""):
            continue
        try:
            upload_id = uuid.UUID(str(parameters[name]))
        except ValueError:
            raise UploadRefused(name, "must be the id of an upload (POST /api/uploads/)") from None
        uploads = Upload.objects.filter(pk=upload_id)
        if not getattr(user, "is_staff", False):
            uploads = uploads.filter(user_id=getattr(user, "pk", None))
        if not uploads.exists():
            raise UploadRefused(name, f"no upload {upload_id} of yours")


def materialize(schema: dict[str, Any], parameters: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The parameters the script receives: each upload id replaced by a local file's path."""
    names = file_parameters(schema)
    if not names:
        return parameters
    given = dict(parameters)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if given.get(name) in (None, ""):
            continue
        upload = Upload.objects.get(pk=uuid.UUID(str(given[name])))
        suffix = Path(upload.name).suffix
        target = folder / f"{upload.pk.hex}{suffix if SAFE_SUFFIX.match(suffix) else ''}"
        with upload.file.open("rb") as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        given[name] = str(target)
    return given


def named_by_active_runs() -> set[uuid.UUID]:
    """The upload ids a pending or running execution may still hand to its script: any
    parameter value, secret ones included, that reads as an id."""
    named: set[uuid.UUID] = set()
    active = TaskExecution.objects.filter(status__in=(Status.PENDING, Status.STARTED))
    for parameters, hidden in active.values_list("parameters", "secret_parameters").iterator():
        values = list((parameters or {}).values()) if isinstance(parameters, dict) else []
        try:
            secrets = decrypt_json(hidden) if hidden else {}
        except DecryptError:
            secrets = {}  # that run cannot start: its secrets are unreadable
        values += list(secrets.values()) if isinstance(secrets, dict) else []
        for value in values:
            try:
                named.add(uuid.UUID(str(value)))
            except ValueError:
                continue
    return named


def expire(max_age: timedelta) -> int:
    """Delete uploads older than ``max_age`` that no pending or running execution names:
    the stored file through the storage, then the row. How many went."""
    old = Upload.objects.filter(created_at__lt=timezone.now() - max_age)
    if not old.exists():
        return 0
    kept = named_by_active_runs()
    deleted = 0
    for upload in old.exclude(pk__in=kept).iterator():
        upload.file.delete(save=False)
        upload.delete()
        deleted += 1
    return deleted
