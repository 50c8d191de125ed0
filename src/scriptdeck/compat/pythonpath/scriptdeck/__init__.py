"""A stand-in for the ``scriptdeck`` package inside a script's process: it only lends ``sdk``."""

import os

# Why a shim: the real ``scriptdeck/__init__.py`` belongs to the server (it may grow imports of
# settings, Django or Celery), and the script's process has none of the server's site-packages.
# Pointing this package's search path at the real package folder makes ``import scriptdeck.sdk``
# load the real ``sdk/__init__.py`` without ever running the real ``scriptdeck/__init__.py``.
# Layout: <scriptdeck>/compat/pythonpath/scriptdeck/__init__.py, so the real folder is three up.
_REAL_PACKAGE = os.path.realpath(
    os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, os.pardir, os.pardir)
)

if not os.path.isfile(os.path.join(_REAL_PACKAGE, "sdk", "__init__.py")):
    raise ImportError(
        "scriptdeck SDK shim: expected the real package at "
        + _REAL_PACKAGE
        + " (with sdk/__init__.py); the compat folder was moved out of its package"
    )

__path__ = [_REAL_PACKAGE]
