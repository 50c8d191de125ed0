"""Reading the scripts folder: which files are scripts, and what they say about themselves."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterator
from pathlib import Path

from scriptdeck.runner import UnsupportedScript, command_for

SKIPPED_DIRS = {"__pycache__", "node_modules"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_runnable(path: Path) -> bool:
    try:
        command_for(path)
    except UnsupportedScript:
        return False
    return True


def is_script(path: Path, root: Path) -> bool:
    """The one rule for what counts as a script: runnable, inside ``root`` once links are
    followed, not in a hidden or tool folder, not a private Python module."""
    try:
        rel_parts = path.relative_to(root).parts
    except ValueError:
        return False
    if any(part.startswith(".") or part in SKIPPED_DIRS for part in rel_parts):
        return False
    if path.name.startswith("_") and path.suffix == ".py":
        return False  # __init__.py and private helper modules are not scripts
    try:
        resolved = path.resolve(strict=True)
    except OSError:
        return False
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return False
    return is_runnable(path)


def iter_script_files(root: Path) -> Iterator[Path]:
    """Every script below ``root``."""
    for path in sorted(root.rglob("*")):
        if is_script(path, root):
            yield path


def describe(path: Path, max_chars: int = 2000) -> str:
    """The module docstring of a Python file, else its leading comment block."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if path.suffix == ".py":
        try:
            doc = ast.get_docstring(ast.parse(text))
        except (SyntaxError, ValueError):
            doc = None
        if doc:
            return doc.strip()[:max_chars]
    lines = []
    for number, line in enumerate(text.splitlines()):
        stripped = line.strip()
        if number == 0 and stripped.startswith("#!"):
            continue
        if stripped.startswith("#") and ("coding:" in stripped or "coding=" in stripped):
            continue
        if stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            # A parameter's declaration line says what the form shows, not what it does.
            if not text.startswith("@param"):
                lines.append(text)
            continue
        if not stripped and not lines:
            continue
        break
    return "\n".join(lines).strip()[:max_chars]
