"""A script's environment: built once per set, reused, shared safely, pruned when unused.

uv runs for real. The sets here need nothing from an index (no packages, or
``UV_OFFLINE`` for a failure), so these tests work without the network.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scriptdeck.catalog.inline_metadata import InlineMetadata
from scriptdeck.compat import sdk_pythonpath
from scriptdeck.worker import environments
from scriptdeck.worker.environments import (
    INFO_FILE,
    BuildCancelled,
    DependenciesFailed,
    environment_key,
    interpreter_version,
    prepare,
    prune,
)

NO_PACKAGES = InlineMetadata((), ">=3.8")


class RecordingSink:
    def __init__(self, cancel: bool = False) -> None:
        self.stderr: list[str] = []
        self.cancel = cancel
        self.ticks = 0

    def on_start(self, pid: int) -> None: ...
    def on_output(self, stream: str, data: bytes) -> None:
        assert stream == "stderr"
        self.stderr.append(data.decode())

    def on_sample(self, sample: object) -> None: ...
    def on_heartbeat(self) -> None: ...
    def on_tick(self) -> None:
        self.ticks += 1

    def cancel_requested(self) -> bool:
        return self.cancel


def ready(root: Path, metadata: InlineMetadata = NO_PACKAGES, sink: RecordingSink | None = None):
    return prepare(
        metadata, root=root, base_python=sys.executable, sink=sink or RecordingSink(), timeout=120
    )


def test_it_builds_once_then_reuses(tmp_path: Path) -> None:
    sink = RecordingSink()
    first = ready(tmp_path, sink=sink)
    first.release()
    assert first.built is True
    assert first.key == environment_key(NO_PACKAGES, interpreter_version(sys.executable))
    assert (tmp_path / first.key / INFO_FILE).exists()
    assert all(line.startswith("[dependencies] ") for line in sink.stderr)
    assert any("building environment" in line for line in sink.stderr)
    assert first.log == "".join(sink.stderr)
    # Only the finished environment is left under the folder: no build folder.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".build-")]

    second = ready(tmp_path)
    second.release()
    assert (second.built, second.key, second.python) == (False, first.key, first.python)
    assert "using environment" in second.log


def test_its_python_sees_the_sdk_but_not_the_servers_packages(tmp_path: Path) -> None:
    env = ready(tmp_path)
    env.release()
    probe = (
        "import importlib.util as u, scriptdeck.sdk;"
        "print(u.find_spec('django') is None, u.find_spec('psutil') is None)"
    )
    answer = subprocess.run(
        [env.python, "-c", probe],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": sdk_pythonpath()},
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout.split() == ["True", "True"]


def test_two_runs_needing_the_same_missing_environment_build_it_once(tmp_path: Path) -> None:
    results: list[object] = []

    def one() -> None:
        env = ready(tmp_path)
        env.release()
        results.append(env.built)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(results, key=str) == [False, False, True]


def test_a_python_outside_requires_python_fails_with_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(DependenciesFailed) as failure:
        ready(tmp_path, InlineMetadata(("six",), "<3"))
    message = str(failure.value)
    assert message.startswith("The script requires Python <3 (its requires-python), but ")
    assert f"Python {sys.version.split()[0]}" in message
    assert failure.value.details["failed"] is True
    assert list(tmp_path.iterdir()) == []  # no uv call, nothing made


def test_a_failed_install_leaves_nothing_under_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")  # the package is then unknown without any request
    metadata = InlineMetadata(("scriptdeck-no-such-package-zz",), "")
    sink = RecordingSink()
    with pytest.raises(DependenciesFailed) as failure:
        ready(tmp_path, metadata, sink)
    message = str(failure.value)
    assert message.startswith("Installing the script's dependencies failed (uv exited with 1)")
    assert "scriptdeck-no-such-package-zz" in message
    assert failure.value.log == "".join(sink.stderr)
    key = failure.value.details["environment"]
    assert not (tmp_path / key).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".build-")]


def test_the_install_takes_only_wheels_and_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_run_uv(argv: list[str], cwd: Path, progress: object, deadline: float) -> None:
        calls.append(argv)
        if argv[1] == "venv":
            Path(argv[-1]).mkdir()

    monkeypatch.setattr(environments, "run_uv", fake_run_uv)
    with contextlib.suppress(DependenciesFailed):
        ready(tmp_path, InlineMetadata(("six",), ""))
    install = next(argv for argv in calls if argv[1:3] == ["pip", "install"])
    assert install[install.index("--only-binary") + 1] == ":all:"
    assert "--no-config" in install
    assert install.index("six") > install.index("--only-binary")


def test_a_cancel_during_the_build_stops_it(tmp_path: Path) -> None:
    with pytest.raises(BuildCancelled):
        ready(tmp_path, sink=RecordingSink(cancel=True))
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


def test_prune_removes_what_was_not_used_and_keeps_what_is_in_use(tmp_path: Path) -> None:
    old = ready(tmp_path)
    old.release()
    held = ready(tmp_path, InlineMetadata((), ">=3.7"))  # kept locked: a run uses it
    an_hour_ago = time.time() - 3600
    for env in (old, held):
        os.utime(env.path / INFO_FILE, (an_hour_ago, an_hour_ago))
    recent = ready(tmp_path, InlineMetadata((), ">=3.6"))
    recent.release()

    assert prune(tmp_path, 600, dry_run=True).removed == sorted([old.key, held.key])
    assert old.path.exists()

    report = prune(tmp_path, 600)
    assert (report.removed, report.in_use, report.kept) == ([old.key], [held.key], 1)
    assert not old.path.exists() and held.path.exists() and recent.path.exists()
    held.release()
    assert prune(tmp_path, 600).removed == [held.key]
    # A removed environment is built again when a script needs it.
    again = ready(tmp_path)
    again.release()
    assert again.built is True
