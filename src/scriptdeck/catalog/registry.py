"""Registering the scripts folder, and finding the script a request names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from scriptdeck.refusals import NotFound

from .discovery import describe, is_script, iter_script_files, sha256_of
from .inline_metadata import read_file as read_inline_metadata
from .models import Script
from .paths import NoSuchScriptFile, PathRefused, confine, relative_name, scripts_root
from .schema import read_script


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.deactivated)} deactivated, {self.unchanged} unchanged"
        )


def _signature_fields(path: Path) -> dict[str, object]:
    """What the file says about its parameters, read without running it."""
    signature = read_script(path)
    return {
        "declared_schema": signature.schema or {},
        "schema_source": signature.source,
        "schema_origin": signature.origin,
        # The worker reads the dependencies again when it runs the file; a block it
        # could not use is said here, at sync, where the script's manager looks.
        "schema_problems": signature.problems + read_inline_metadata(path).problems,
        "entrypoint": signature.entrypoint,
        "preload": signature.preload,
    }


def _apply_file(script: Script | None, path: Path, root: Path) -> tuple[Script, str]:
    name, rel = relative_name(path, root)
    digest = sha256_of(path)
    size = path.stat().st_size
    signature = _signature_fields(path)
    if script is None:
        if Script.objects.filter(name=name).exists():
            name = rel  # foo.py and foo.sh side by side: the second keeps its extension
        script = Script.objects.create(
            name=name, path=rel, description=describe(path), sha256=digest, size=size, **signature
        )
        return script, "added"
    # A sidecar file can change while the script stays the same: compare what was read too.
    changed = (
        script.sha256 != digest
        or not script.is_active
        or script.missing_since is not None
        or any(getattr(script, key) != value for key, value in signature.items())
    )
    if not changed:
        return script, "unchanged"
    script.sha256, script.size = digest, size
    for key, value in signature.items():
        setattr(script, key, value)
    script.description = describe(path)
    # A file that comes back is active again; a deactivation by hand sticks while it stays.
    if script.missing_since is not None:
        script.is_active = True
    script.missing_since = None
    script.save()
    return script, "updated"


# Any number: the key of the one PostgreSQL advisory lock that registrations take.
REGISTRATION_LOCK = 0x5C12D0C


def _one_registration_at_a_time() -> None:
    # Two registrations at once (the folder's watch and a "Sync now", or a staff caller
    # naming a new file) would both insert the new file's row, and the second would fail on
    # the unique path. The row lock cannot help: the row does not exist yet. SQLite
    # serializes its write transactions already.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REGISTRATION_LOCK])


@transaction.atomic
def sync(root: Path | None = None) -> SyncReport:
    """Register new files, refresh changed ones, deactivate those whose file disappeared.

    History is kept: a script is never deleted, only marked inactive and missing.
    """
    _one_registration_at_a_time()
    root = (root or scripts_root()).resolve()
    report = SyncReport()
    by_path = {s.path: s for s in Script.objects.select_for_update()}
    seen: set[str] = set()
    if root.is_dir():
        for path in iter_script_files(root):
            _, rel = relative_name(path, root)
            seen.add(rel)
            script, what = _apply_file(by_path.get(rel), path, root)
            if what == "unchanged":
                report.unchanged += 1
            else:
                getattr(report, what).append(script.name)
    now = timezone.now()
    for rel, script in by_path.items():
        if rel not in seen and script.missing_since is None:
            script.is_active = False
            script.missing_since = now
            script.save(update_fields=["is_active", "missing_since", "updated_at"])
            report.deactivated.append(script.name)
    return report


def register_file(path: Path, *, may_register: bool = True, given: str = "") -> Script:
    """The Script row for a confined file, registering it on first use when ``may_register``.

    Only what the catalog itself would list: a hidden or private file is refused. Without
    ``may_register`` a file the catalog has not synced (new, or back after it went missing)
    is reported exactly as a file that is not there, under the path the caller ``given``.
    """
    root = scripts_root()
    _, rel = relative_name(path, root)
    if not is_script(root / rel, root):
        raise PathRefused(f"{rel} is not a script of the scripts folder")
    with transaction.atomic():
        if may_register:
            _one_registration_at_a_time()
        script = Script.objects.select_for_update().filter(path=rel).first()
        if script is None or script.missing_since is not None:
            if not may_register:
                raise NoSuchScriptFile(f"no such script: {given or rel}")
            script, _ = _apply_file(script, path, root)
    return script


class ScriptNotFound(NotFound, LookupError):
    """No active script matches what the request named."""

    default_code = "script_not_found"

    def __init__(self, message: str) -> None:
        super().__init__("script", message)


@dataclass
class Resolved:
    script: Script
    path: Path
    run_name: str


def resolve_request(
    script_id: object = None,
    script_name: str | None = None,
    script_path: str | None = None,
    *,
    may_register: bool = False,
) -> Resolved:
    """The source's resolution order: ``script_id`` → ``script_name`` + ``script_path`` → name.

    Every path is confined to the scripts folder; the name the caller gave is the name
    the script runs under (``SCRIPT_NAME``), as in the source, unless another script has
    that name. A file the catalog has not
    synced yet is registered on the way only when the door says the caller ``may_register``;
    otherwise it answers as a name or path that does not exist.
    """
    if script_id not in (None, ""):
        try:
            script = Script.objects.get(pk=int(str(script_id)), is_active=True)
        except (ValueError, OverflowError, Script.DoesNotExist):
            raise ScriptNotFound(f"no active script with id {script_id}") from None
        return Resolved(script, confine(script.path), script.name)
    if script_name and script_path:
        path = confine(script_path)
        script = _active(register_file(path, may_register=may_register, given=script_path))
        # A name another script has is not borrowed: the run and its result record go under
        # the path's script's own name, never into the other script's records.
        taken = Script.objects.filter(name=script_name).exclude(pk=script.pk).exists()
        return Resolved(script, path, script.name if taken else script_name)
    if script_name:
        candidate = script_name if script_name.endswith(".py") else f"{script_name}.py"
        try:
            path = confine(candidate)
            script = register_file(path, may_register=may_register, given=candidate)
        except NoSuchScriptFile:
            # Not a Python file: a registered script of that name (a shell script, say).
            script = Script.objects.filter(name=script_name, is_active=True).first()
            if script is None:
                raise ScriptNotFound(f"no script named {script_name!r}") from None
            return Resolved(script, confine(script.path), script_name)
        return Resolved(_active(script), path, script_name)
    raise ScriptNotFound("give script_id, script_name, or script_name with script_path")


def _active(script: Script) -> Script:
    if not script.is_active:
        raise ScriptNotFound(f"script {script.name!r} is deactivated")
    return script
