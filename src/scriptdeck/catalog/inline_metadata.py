"""A script's inline metadata (PEP 723): the packages it needs and the Python it asks for.

Read from the text, never by running the file. The block is the one PEP 723 defines::

    # /// script
    # requires-python = ">=3.11"
    # dependencies = ["tomli-w>=1.0"]
    # ///

What cannot be used (no closing line, TOML that does not parse, a requirement that is not
one) becomes a sentence in ``problems``, and the script is then treated as having no
dependencies: its run fails on the missing import, with the reason shown at sync.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

# A cheap test first: a file without this text has no block and costs no parse.
MARKER = b"# /// script"
_START = re.compile(r"^# /// (?P<type>[a-zA-Z0-9-]+)$")
_END = "# ///"


@dataclass(frozen=True)
class InlineMetadata:
    """The normalized, sorted requirements and the ``requires-python`` specifier ('' if none)."""

    dependencies: tuple[str, ...] = ()
    requires_python: str = ""

    @property
    def declared(self) -> bool:
        return bool(self.dependencies or self.requires_python)


@dataclass
class MetadataReading:
    metadata: InlineMetadata | None = None
    problems: list[str] = field(default_factory=list)


def read_file(path: Path) -> MetadataReading:
    """The metadata of a ``.py`` file; any other file, or one without a block, has none."""
    if path.suffix != ".py":
        return MetadataReading()
    try:
        data = path.read_bytes()
    except OSError as exc:
        return MetadataReading(problems=[f"cannot read {path.name}: {exc.strerror or exc}"])
    if MARKER not in data:
        return MetadataReading()
    return read_text(data.decode("utf-8", errors="replace"), path.name)


def read_text(text: str, name: str = "the script") -> MetadataReading:
    """Find the ``script`` block in ``text`` and read it; never raises for a bad block."""
    reading = MetadataReading()
    lines = text.splitlines()
    blocks: list[tuple[int, str]] = []
    index = 0
    while index < len(lines):
        start = _START.match(lines[index])
        if start is None:
            index += 1
            continue
        body, end = _block_body(lines, index + 1)
        if end is None:
            if start["type"] == "script":
                reading.problems.append(
                    f"{name}: the '# /// script' block of line {index + 1} has no closing "
                    "'# ///' line: its dependencies are not used"
                )
            index += 1
            continue
        if start["type"] == "script":
            blocks.append((index + 1, body))
        index = end + 1
    if len(blocks) > 1:
        lines_seen = ", ".join(str(line) for line, _ in blocks)
        reading.problems.append(
            f"{name}: more than one '# /// script' block (lines {lines_seen}): none is used"
        )
        return reading
    if blocks:
        line, body = blocks[0]
        reading.metadata = _parse(body, line, name, reading.problems)
    return reading


def _block_body(lines: list[str], first: int) -> tuple[str, int | None]:
    """The TOML of a block whose content starts at ``first``, and the index of its end line.

    Every content line is ``#`` alone or ``# `` and text; the block ends at the last ``# ///``
    before a line that is neither (PEP 723's rule, so ``# ///`` may appear inside a value).
    """
    content: list[str] = []
    end: int | None = None
    for index in range(first, len(lines)):
        line = lines[index]
        if line == _END:
            end = index
        if line != "#" and not line.startswith("# "):
            break
        content.append(line[2:])
    if end is None:
        return "", None
    return "\n".join(content[: end - first]) + "\n", end


def _parse(body: str, line: int, name: str, problems: list[str]) -> InlineMetadata | None:
    where = f"{name}: the '# /// script' block of line {line}"
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{where} is not valid TOML: {exc}")
        return None
    dependencies = data.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        problems.append(f"{where}: 'dependencies' must be a list of strings")
        return None
    requires_python = data.get("requires-python", "")
    if not isinstance(requires_python, str):
        problems.append(f"{where}: 'requires-python' must be a string such as \">=3.11\"")
        return None
    try:
        requires_python = str(SpecifierSet(requires_python)) if requires_python.strip() else ""
    except InvalidSpecifier:
        problems.append(f"{where}: 'requires-python' {requires_python!r} is not a version range")
        return None
    normalized = set()
    for dependency in dependencies:
        try:
            normalized.add(normalize_requirement(dependency))
        except InvalidRequirement as exc:
            problems.append(f"{where}: {dependency!r} is not a requirement: {exc}")
            return None
        if Requirement(dependency).url is not None:
            problems.append(
                f"{where}: {dependency!r} names a URL; only packages from the index "
                "can be dependencies"
            )
            return None
    return InlineMetadata(tuple(sorted(normalized)), requires_python)


def normalize_requirement(text: str) -> str:
    """One spelling per requirement: ``Tomli_W >= 1.0`` and ``tomli-w>=1.0`` are the same.

    ``packaging`` refuses anything that is not a PEP 508 requirement, so an installer
    option (``--index-url …``) can never pass for a dependency.
    """
    requirement = Requirement(text.strip())
    requirement.name = re.sub(r"[-_.]+", "-", requirement.name).lower()
    return str(requirement)
