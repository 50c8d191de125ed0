"""What the client prints: the script's output as it comes, the result, a summary line."""

from __future__ import annotations

import json
import sys
from typing import Any

from .errors import EXIT_FAILED, EXIT_OK

Chunk = dict[str, Any]

# What ``--json`` prints of an execution.
RECORD_FIELDS = (
    "id",
    "script_name",
    "status",
    "failure_reason",
    "error_message",
    "result",
    "exit_code",
    "signal",
    "execution_time",
    "memory_usage",
)


def print_json(document: object) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False), flush=True)


class Printer:
    """Writes chunks as they come (stdout to stdout, stderr to stderr), or keeps them."""

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.chunks: list[Chunk] = []
        self.at_line_start = True

    def chunk(self, chunk: Chunk) -> None:
        if self.keep:
            self.chunks.append(
                {key: chunk.get(key) for key in ("seq", "stream", "text", "at") if key in chunk}
            )
            return
        text = chunk.get("text") or ""
        if chunk.get("stream") == "stderr":
            sys.stderr.write(text)
            sys.stderr.flush()
            return
        sys.stdout.write(text)
        sys.stdout.flush()
        if text:
            self.at_line_start = text.endswith("\n")

    def result(self, record: dict[str, Any]) -> None:
        if record.get("result") is None:
            return
        if not self.at_line_start:
            sys.stdout.write("\n")
        print_json(record["result"])


def record_subset(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record.get(key) for key in RECORD_FIELDS}


def exit_code_for(record: dict[str, Any]) -> int:
    """SUCCESS is 0; FAILURE, CANCELLED (and anything else) are 1."""
    return EXIT_OK if record.get("status") == "SUCCESS" else EXIT_FAILED


def summary(record: dict[str, Any]) -> str:
    parts = []
    if record.get("exit_code") is not None:
        parts.append(f"exit {record['exit_code']}")
    if record.get("signal"):
        parts.append(f"signal {record['signal']}")
    if record.get("execution_time") is not None:
        parts.append(f"{record['execution_time']:.2f} s")
    if record.get("memory_usage") is not None:
        parts.append(f"{record['memory_usage']:.1f} MB")
    text = f"execution {record.get('id')} {record.get('status')}"
    if parts:
        text += f" ({', '.join(parts)})"
    if record.get("status") != "SUCCESS" and record.get("error_message"):
        text += f": {record['error_message']}"
    return text
