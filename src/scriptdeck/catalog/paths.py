"""Keeping every script path inside the scripts folder."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from scriptdeck.refusals import Refusal


class PathRefused(Refusal, ValueError):
    """A path that is not a file inside the scripts folder (the door says which field)."""

    default_code = "path_refused"

    def __init__(self, message: str, field_name: str = "script") -> None:
        super().__init__(field_name, message)


class NoSuchScriptFile(PathRefused):
    """The path stays inside the scripts folder but names no file there.

    Its own type because a name lookup falls back to the catalog for exactly this case.
    """

    default_code = "no_such_script_file"


def scripts_root() -> Path:
    return Path(settings.SCRIPTDECK_SCRIPTS_DIR).resolve()


def confine(raw: str | Path, root: Path | None = None) -> Path:
    """Resolve ``raw`` (relative to the scripts folder, or absolute) to a file inside it.

    Links are followed before the check, so a link pointing out is refused like ``../``.
    A path that leaves the folder on its face is refused before the file system is
    asked, so the answer never tells whether something exists outside.
    """
    root = (root or scripts_root()).resolve()
    text = str(raw)
    if not text.strip():
        raise PathRefused("the script path is empty")
    if "\x00" in text:
        raise PathRefused("the script path contains a NUL byte")
    candidate = Path(text)
    if not candidate.is_absolute():
        candidate = root / candidate
    if not Path(os.path.normpath(candidate)).is_relative_to(root):
        raise PathRefused(f"{text} is outside the scripts folder")
    try:
        resolved = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise NoSuchScriptFile(f"no such script: {text}") from None
    except (OSError, RuntimeError) as exc:
        raise PathRefused(f"the script path cannot be resolved: {exc}") from None
    if not resolved.is_relative_to(root):
        raise PathRefused(f"{text} is outside the scripts folder")
    if not resolved.is_file():
        raise PathRefused(f"{text} is not a file")
    return resolved


def relative_name(path: Path, root: Path | None = None) -> tuple[str, str]:
    """``(name, relative path)`` of a confined file: the name drops the extension."""
    root = (root or scripts_root()).resolve()
    rel = path.relative_to(root).as_posix()
    name = rel[: -len(path.suffix)] if path.suffix else rel
    return name, rel
