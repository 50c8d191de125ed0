"""What the run user may reach under ``SCRIPTDECK_HOME`` when runs switch user without bubblewrap.

With bubblewrap the home is an empty tmpfs in the run's view, so it stays ``0700``. With the
user switch only, the run user has to pass through the home to its run folder and to the
dependency environments, so:

- the home is ``0711``: traversable, not listable;
- every entry of the home but ``runs`` and ``envs`` (secret key, SQLite database and its
  ``-wal``/``-shm``, broker folder, media with uploads and artifacts, static, anything an
  operator put there) loses its group and other bits: a closed folder closes all below it;
- ``runs`` is ``0711`` (no listing), each run's folder the run user's own, ``0700``;
- ``envs`` is ``0755``, the server's: environments are read, never written, by runs.

:func:`seal` runs at worker start and again before each run, so an entry created since (the
media folder of a first upload, say) is closed before any script can look for it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scriptdeck.runner.sandbox import SandboxUnavailable, _closed_ancestor

HOME = 0o711
RUNS = 0o711
ENVS = 0o755
RUN_DIR = 0o700


def seal(home: Path, runs: Path, envs: Path, *, traversable: bool) -> None:
    """Give the home and what is in it the modes above (``traversable``), or the home ``0700``."""
    if not home.is_dir():
        return
    _chmod(home, HOME if traversable else 0o700)
    if not traversable:
        return
    for folder, mode in ((runs, RUNS), (envs, ENVS)):
        folder.mkdir(exist_ok=True)
        _chmod(folder, mode)
    opened = {str(runs), str(envs)}
    with os.scandir(home) as entries:
        for entry in entries:
            if entry.path in opened:
                continue
            mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
            if entry.is_symlink():
                raise SandboxUnavailable(
                    f"{entry.path} is a symbolic link: runs as another user pass through "
                    "SCRIPTDECK_HOME, so it may hold no link; move what it points to inside"
                )
            if mode & 0o077:
                os.chmod(entry.path, mode & 0o700)


def check_reachable(home: Path) -> None:
    """Refuse a home the run user cannot walk to (under ``/root``, say): every run would fail."""
    blocked = _closed_ancestor(str(home / "runs"))
    if blocked is not None and blocked != str(home):
        raise SandboxUnavailable(
            f"scripts run as another user without bubblewrap, and that user cannot pass "
            f"through {blocked} to reach SCRIPTDECK_HOME ({home}): make it traversable "
            f"(chmod o+x {blocked}), move SCRIPTDECK_HOME, or install bubblewrap"
        )


def hand_over(run_dir: Path, uid: int, gid: int) -> None:
    """The run's folder and all in it to the run user; the folder ``0700``."""
    for folder, _, files in os.walk(run_dir):
        os.chown(folder, uid, gid)
        for name in files:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)
    _chmod(run_dir, RUN_DIR)


def _chmod(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)
