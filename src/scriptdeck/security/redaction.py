"""Keys cut out of every log line: webhook keys (``hk_…``) and API tokens (``sdk_…``).

A key is a credential wherever it appears: in a path that just missed a route (Django's
"Not Found: /api//hooks/hk_…"), in an exception's message, in an argument. So the cut is
made when a log record is created, for every logger and every handler (the console, a
test's capture, uvicorn's own), rather than by a filter on one logger. A key keeps its
prefix and first 6 characters, enough to tell which one it was.
"""

from __future__ import annotations

import logging
import logging.config
import re
import traceback
from typing import Any

KEY_SHAPED = re.compile(r"\b((?:hk|sdk)_[A-Za-z0-9_-]{6})[A-Za-z0-9_-]{4,}")
# A webhook's path carries its key whatever it looks like (a key of another shape).
HOOK_PATH = re.compile(r"(/api/+hooks/+)([^/?\s\"']{9})[^/?\s\"']*")


def redact(text: str) -> str:
    """``text`` with every key cut to its prefix and first characters, then ``…``."""
    return HOOK_PATH.sub(r"\1\2…", KEY_SHAPED.sub(r"\1…", text))


def _cut(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def redact_record(record: logging.LogRecord) -> None:
    """Cut keys out of a record's message, its arguments and its traceback, in place.

    Arguments keep their shape where they can (uvicorn's access formatter unpacks them);
    when a key survives in the message (an object whose text holds one), the message is
    replaced by its redacted text.
    """
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_cut(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {name: _cut(value) for name, value in record.args.items()}
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: the handler reports it
        return
    if redact(message) != message:
        record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    redact_record(record)
    return record


def install() -> None:
    """Make every log record of this process redact keys (idempotent)."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


def configure_logging(config: dict[str, Any]) -> None:
    """Django's ``LOGGING_CONFIG``: the ``LOGGING`` dictionary, with keys redacted."""
    install()
    logging.config.dictConfig(config)
