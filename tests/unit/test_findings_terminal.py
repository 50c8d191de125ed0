"""What a script prints cannot drive the terminal of whoever reads it with the CLI."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from scriptdeck.client.errors import guarded
from scriptdeck.client.output import Printer, print_json

HOSTILE = "ok\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\x1b[2J\r\x9b31m\x00 end\n\tnext\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def run_logs_like(monkeypatch, stream_class) -> tuple[str, str]:
    out, err = stream_class(), stream_class()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)

    @guarded
    def command(args: argparse.Namespace) -> int:
        printer = Printer()
        printer.chunk({"stream": "stdout", "text": HOSTILE})
        printer.chunk({"stream": "stderr", "text": HOSTILE})
        print_json({"result": HOSTILE})
        return 0

    assert command(argparse.Namespace()) == 0
    return out.getvalue(), err.getvalue()


def test_control_sequences_are_shown_not_obeyed_on_a_terminal(monkeypatch):
    out, err = run_logs_like(monkeypatch, Terminal)

    for written in (out, err):
        assert not any(char in written for char in "\x1b\x07\r\x9b\x00")
        assert "\\x1b]8;;https://evil.example\\x07click" in written
        assert "\\x1b[2J\\r\\x9b31m\\x00 end\n\tnext\n" in written


def test_a_pipe_gets_the_bytes_as_they_are(monkeypatch):
    out, err = run_logs_like(monkeypatch, Pipe)

    assert out.startswith(HOSTILE)
    assert err == HOSTILE


@pytest.mark.parametrize("stream_class", [Terminal, Pipe])
def test_streams_are_put_back_after_the_command(monkeypatch, stream_class):
    run_logs_like(monkeypatch, stream_class)

    assert type(sys.stdout) is stream_class
