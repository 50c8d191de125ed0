"""The command line: sync, manage, and clear errors for bad configuration."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .harness import SCRIPTDECK, server_env, write_scripts


def scriptdeck(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPTDECK, *args], env=env, capture_output=True, text=True, timeout=120)


def test_sync_registers_then_deactivates_a_vanished_script(tmp_path: Path):
    scripts = write_scripts(
        tmp_path / "scripts",
        {"backup.py": '"""Back up the database."""\nprint("{}")\n', "notes.txt": "not a script"},
    )
    (scripts / "ops").mkdir()
    (scripts / "ops" / "rotate.sh").write_text("# Rotate the logs.\necho '{}'\n")
    env = server_env(tmp_path / "home", scripts)
    assert scriptdeck(env, "manage", "migrate", "--verbosity", "0").returncode == 0
    first = scriptdeck(env, "sync")
    assert first.returncode == 0, first.stderr
    assert "2 added" in first.stdout
    assert "added: backup" in first.stdout and "added: ops/rotate" in first.stdout
    (scripts / "backup.py").unlink()
    second = scriptdeck(env, "sync")
    assert "1 deactivated" in second.stdout
    assert "deactivated (file gone): backup" in second.stdout
    check = scriptdeck(env, "manage", "check")
    assert check.returncode == 0, check.stderr


def test_a_missing_scripts_folder_is_an_error_that_says_what_to_set(tmp_path: Path):
    env = server_env(tmp_path / "home", tmp_path / "nowhere")
    scriptdeck(env, "manage", "migrate", "--verbosity", "0")
    result = scriptdeck(env, "sync")
    assert result.returncode == 2
    assert "SCRIPTDECK_SCRIPTS_DIR" in result.stderr


def test_a_bad_boolean_in_the_environment_is_refused_with_the_variable_named(tmp_path: Path):
    env = server_env(tmp_path / "home", tmp_path, SCRIPTDECK_DEBUG="maybe")
    result = scriptdeck(env, "sync")
    assert result.returncode == 2
    assert "SCRIPTDECK_DEBUG must be true or false" in result.stderr
    assert "Traceback" not in result.stderr


def test_purge_refuses_a_bad_age_and_counts_in_a_dry_run(tmp_path: Path):
    env = server_env(tmp_path / "home", tmp_path)
    bad = scriptdeck(env, "purge", "--older-than", "soon")
    assert bad.returncode == 2
    assert "write it like 90d" in bad.stderr
    assert scriptdeck(env, "manage", "migrate", "--verbosity", "0").returncode == 0
    dry = scriptdeck(env, "purge", "--older-than", "90d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would purge 0 executions")


def test_sweeper_and_scheduler_take_the_lease_and_release_it_when_they_stop(tmp_path: Path):
    env = server_env(tmp_path / "home", tmp_path)
    assert scriptdeck(env, "manage", "migrate", "--verbosity", "0").returncode == 0
    for command in ("sweeper", "scheduler"):
        # A lease of half an hour: a second process is active only if the first released it.
        for _ in range(2):
            result = scriptdeck(env, command, "--once", "--interval", "600")
            assert result.returncode == 0, result.stderr
            output = result.stdout + result.stderr
            assert re.search(rf"{command} \S+:\d+ is active", output), output
            assert "standing by" not in output and "Traceback" not in output
