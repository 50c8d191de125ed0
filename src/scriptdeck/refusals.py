"""The one refusal type: what every service raises when it declines a request.

A refusal carries a stable ``code`` (what the console translates), the ``field`` at
fault, an English ``message``, and the ``params`` a translation may fill in. The API's
exception handler (``api/errors.py``) turns it into an answer; the CLI prints it. Nothing
here imports Django, so every layer may raise one.

The answer's body keeps the shape clients of the source read: ``{field: [messages],
"error": sentence}``, where every key but ``error`` names a field (a parameter may be
called ``code``, so the code cannot be a key beside them). The code and its parameters
travel in the ``Refusal-Code`` and ``Refusal-Params`` headers instead.
"""

from __future__ import annotations

import json
from typing import Any

WHOLE_REQUEST = "error"  # the answer's key for the sentence that sums the refusal up


class Refusal(Exception):
    """A request declined before anything was written: answered 400 unless a subclass says."""

    status = 400
    default_code = "invalid"

    def __init__(
        self,
        field_name: str,
        message: str,
        errors: dict[str, list[str]] | None = None,
        *,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message
        self.errors = errors or {field_name: [message]}
        self.code = code or self.default_code
        self.params = params or {}

    @classmethod
    def from_errors(cls, errors: dict[str, list[str]], *, code: str | None = None) -> Refusal:
        """One refusal for many fields: the sentence names each field and its problems."""
        sentence = " | ".join(f"{name}: {'; '.join(texts)}" for name, texts in errors.items())
        first = next(iter(errors), "parameters")
        return cls(first, sentence, errors, code=code)

    def body(self) -> dict[str, Any]:
        """The answer's JSON: ``{field: [messages], "error": sentence}``; past a 400, also
        DRF's ``detail`` (what its own 403s and 404s carry)."""
        answer = {**self.errors, WHOLE_REQUEST: self.message}
        if self.status != 400:
            answer["detail"] = self.message
        return answer

    def headers(self) -> dict[str, str]:
        """``Refusal-Code`` (and ``Refusal-Params``, JSON, when there are any)."""
        headers = {"Refusal-Code": self.code}
        if self.params:
            headers["Refusal-Params"] = json.dumps(self.params, ensure_ascii=True, default=str)
        return headers


class NotFound(Refusal):
    """The thing does not exist, or the caller may not know that it does (answered 404)."""

    status = 404
    default_code = "not_found"


class Forbidden(Refusal):
    """The caller may see the thing but not do this to it (answered 403)."""

    status = 403
    default_code = "forbidden"


class Conflict(Refusal):
    """The thing's state does not allow it any more (answered 409)."""

    status = 409
    default_code = "conflict"
