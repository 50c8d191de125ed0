"""The engine: run one script's process tree and report what happened. No Django, no Celery."""

from .engine import Sink, run
from .outcome import Outcome, Reason
from .process_tree import TreeSample
from .spec import RunSpec, UnsupportedScript, build_environment, command_for

__all__ = [
    "Outcome",
    "Reason",
    "RunSpec",
    "Sink",
    "TreeSample",
    "UnsupportedScript",
    "build_environment",
    "command_for",
    "run",
]
