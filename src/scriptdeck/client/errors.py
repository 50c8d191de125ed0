"""The client's exit codes, its one error type, and how a command turns either into an exit."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable

from .terminal import guard_terminal

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_NETWORK = 3
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130


class ClientError(Exception):
    """A message for the user and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class FollowTimeout(Exception):
    """``--timeout`` ran out while the execution was still running."""


def note(message: str) -> None:
    """A line for the person at the terminal: on stderr, so stdout stays the script's."""
    print(f"scriptdeck: {message}", file=sys.stderr, flush=True)


def guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn a ClientError into its message and exit code, and Ctrl-C into 130.

    What the command writes to a terminal has its control sequences made visible.
    """

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        with guard_terminal():
            return _run(command, args)

    return run


def _run(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return command(args)
    except ClientError as exc:
        note(exc.message)
        return exc.code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Piped into a reader that stopped (``| head``): no traceback at exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
