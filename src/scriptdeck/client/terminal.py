"""Text from a run shown on a terminal as text: its control sequences are made visible.

A script's output may hold escape sequences (a hyperlink, "clear the screen", a title
change, a cursor move that hides a line) meant for whoever reads it. On a terminal every
C0 and C1 control character but newline and tab is written as a visible escape (``\\x1b``);
through a pipe or into a file the text goes as it is, so ``scriptdeck logs 7 > out.txt``
keeps the script's bytes.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(found: re.Match[str]) -> str:
    char = found.group()
    return "\\r" if char == "\r" else f"\\x{ord(char):02x}"


def neutralise(text: str) -> str:
    """``text`` with every control character but ``\\n`` and ``\\t`` written visibly."""
    return _CONTROLS.sub(_visible, text)


class TerminalWriter:
    """A text stream whose writes are neutralised; everything else goes to the real one."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(neutralise(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def guard_terminal() -> Iterator[None]:
    """While it holds, ``sys.stdout`` and ``sys.stderr`` are neutralised where they are TTYs."""
    saved = sys.stdout, sys.stderr
    if _is_terminal(sys.stdout):
        sys.stdout = TerminalWriter(sys.stdout)  # type: ignore[assignment]
    if _is_terminal(sys.stderr):
        sys.stderr = TerminalWriter(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
