"""The source's import path for the script SDK: the same objects as :mod:`scriptdeck.sdk`."""

from scriptdeck.sdk import ScriptBase, create_simple_script, run

__all__ = ["ScriptBase", "create_simple_script", "run"]
