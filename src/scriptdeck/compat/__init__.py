"""What the runner lends a script's process: the SDK under its own and the source's import names.

The ``pythonpath`` folder is put, alone, on the child's ``PYTHONPATH``. It holds
``celery_app.script_base`` (the source's import path) and a ``scriptdeck`` shim through
which ``scriptdeck.sdk`` loads, without the server's settings, apps or site-packages.
"""

from __future__ import annotations

import os

__all__ = ["sdk_pythonpath"]


def sdk_pythonpath() -> str:
    """The absolute path of the folder to put on a script's ``PYTHONPATH``."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "pythonpath")
