"""Masking: no secret value reaches stored output, results or records.

:class:`Masker` replaces every occurrence of a secret, and of its JSON-escaped forms (a
script that prints JSON escapes quotes, backslashes and non-ASCII characters), with
``••••``. It scans once, left to right, with one compiled regular expression whose
alternatives are the secrets longest first: at each position the longest secret found
there is masked, then the scan goes on after it.

:class:`StreamMasker` does the same for output that arrives in chunks, holding back the
few characters that could still turn out to be a secret's beginning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

MASK = "••••"
# Values shorter than this are not masked: a secret "1" or "no" would replace every digit 1
# or every "no" in the output with ••••, destroying it while hiding nothing worth hiding.
MIN_SECRET_LENGTH = 3


def _forms(secret: str) -> set[str]:
    """``secret`` as printed, and as it appears inside a JSON string (both escapings)."""
    return {
        secret,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret, ensure_ascii=True)[1:-1],
    }


class Masker:
    """Masks a fixed set of secrets in text and in JSON-like values."""

    def __init__(self, secrets: Iterable[str]) -> None:
        patterns: set[str] = set()
        for secret in secrets:
            if secret is None:
                continue
            secret = secret if isinstance(secret, str) else str(secret)
            if len(secret) >= MIN_SECRET_LENGTH:
                patterns |= _forms(secret)
        # Longest first: Python's regex takes the first alternative that matches at a position.
        self.patterns: tuple[str, ...] = tuple(sorted(patterns, key=lambda p: (-len(p), p)))
        self.longest = len(self.patterns[0]) if self.patterns else 0
        self.regex = re.compile("|".join(map(re.escape, self.patterns))) if self.patterns else None

    def __bool__(self) -> bool:
        return self.regex is not None

    def mask(self, text: str) -> str:
        """``text`` with every occurrence of a secret replaced by ``••••``."""
        if self.regex is None or not text:
            return text
        return self.regex.sub(MASK, text)

    def mask_value(self, value: object) -> object:
        """A deep copy of JSON-like ``value`` with its strings masked, dict keys included.

        A number whose JSON text contains a secret (a numeric PIN returned as an integer)
        becomes the masked string: the type changes, the secret does not leak.
        """
        if self.regex is None:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask_value(k): self.mask_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_value(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.mask_value(item) for item in value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = json.dumps(value)
            masked = self.mask(text)
            return value if masked == text else masked
        return value

    def stream(self) -> StreamMasker:
        """A masker for one stream of chunks (stdout, stderr) with these secrets."""
        return StreamMasker(self)


class StreamMasker:
    """Masks output that arrives in chunks, a secret possibly split between two of them.

    For any split of a text into chunks, ``"".join(feed(c) for c in chunks) + flush()``
    equals ``Masker.mask(text)``. :meth:`feed` holds back at most ``longest - 1``
    characters: the scan's decision at a position needs at most ``longest`` characters
    from there, so every position at least ``longest`` characters before the end is
    settled. Of the tail after it, only what could still be the beginning of a secret
    waits for more text; a position no secret can start at is passed over by the scan
    whatever follows, so it is emitted at once.
    """

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.pending = ""

    def feed(self, text: str) -> str:
        """What can be emitted now, masked; the rest waits for the next chunk or flush()."""
        regex = self.masker.regex
        if regex is None:
            return text
        buffer = self.pending + text
        settled = len(buffer) - self.masker.longest + 1  # decisions before here are final
        out: list[str] = []
        cut = 0
        for match in regex.finditer(buffer):
            if match.start() >= settled:
                break
            out.append(buffer[cut : match.start()])
            out.append(MASK)
            cut = match.end()
        end = max(cut, settled)
        # Of the unsettled tail, only what could still begin a secret waits: a live
        # console should not sit on a line's last characters for nothing.
        hold = next(
            (p for p in range(end, len(buffer)) if self._could_start(buffer, p)), len(buffer)
        )
        out.append(buffer[cut:hold])
        self.pending = buffer[hold:]
        return "".join(out)

    def _could_start(self, buffer: str, position: int) -> bool:
        rest = buffer[position:]
        return any(p.startswith(rest) or rest.startswith(p) for p in self.masker.patterns)

    def flush(self) -> str:
        """The text held back, masked; the stream may then start again."""
        rest, self.pending = self.pending, ""
        return self.masker.mask(rest)
