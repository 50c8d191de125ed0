"""Shared test set-up: the data folder is a throw-away one unless the caller set it."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SCRIPTDECK_HOME", tempfile.mkdtemp(prefix="scriptdeck-test-"))
