"""Limits of a run (memory, processes, CPU, file size, open files), in every launch mode.

The runner's own ``start_mode`` fixture runs each test cold (exec server), cold (launcher
process), warm and sandboxed. Where this worker may make cgroups the memory and process
limits are cgroups; else rlimits.
"""

from __future__ import annotations

import os
import resource
import signal

import pytest

from scriptdeck.runner import Reason, cgroups
from scriptdeck.runner import child_limits as child
from scriptdeck.runner.limits import Limits, encode, format_bytes, hit, rlimits_for
from tests.unit.test_runner import run_script, start_mode  # noqa: F401 (every launch mode)

MiB = 1024 * 1024
ON_CGROUPS = bool(cgroups.backend()[1])
needs_cgroups = pytest.mark.skipif(not ON_CGROUPS, reason=cgroups.backend()[0])


def test_a_script_under_its_limits_succeeds_and_its_peak_is_its_own(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        block = bytearray(100 * 1024 * 1024)
        print('{"ok": true}')
        """,
        limits=Limits(memory_bytes=512 * MiB, processes=64, open_files=256),
    )
    assert outcome.succeeded, outcome.error_message
    peak_mb = outcome.peak_rss_bytes / MiB
    assert 100 <= peak_mb < 130, (peak_mb, outcome.details)
    assert outcome.details["limits"]["memory_bytes"] == 512 * MiB


@needs_cgroups
def test_an_allocation_past_the_memory_limit_ends_with_memory_limit(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        block = bytearray(400 * 1024 * 1024)
        print('{"ok": true}')
        """,
        limits=Limits(memory_bytes=128 * MiB),
    )
    assert outcome.failure_reason == Reason.MEMORY_LIMIT, outcome.error_message
    assert outcome.error_message.startswith(
        "The script used more than its memory limit of 128 MiB and was killed."
    )


@needs_cgroups
def test_a_fork_loop_past_the_process_limit_ends_with_process_limit(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        import os, time
        children = []
        for _ in range(100):
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
        """,
        limits=Limits(processes=20),
    )
    assert outcome.failure_reason == Reason.PROCESS_LIMIT, outcome.error_message
    assert "its limit of 20 processes" in outcome.error_message
    assert outcome.wall_time < 20


def test_open_files_past_the_limit_name_the_limit(tmp_path):
    outcome = run_script(
        tmp_path,
        """
        handles = [open(__file__) for _ in range(200)]
        """,
        limits=Limits(open_files=64),
    )
    assert outcome.failure_reason == Reason.OPEN_FILES_LIMIT, outcome.error_message
    assert outcome.error_message.startswith("The script tried to keep more than its limit of 64")


# --- the pieces, without a run -------------------------------------------------------------


def test_zero_is_no_limit_and_a_negative_one_is_refused():
    assert Limits(memory_bytes=0, processes=0).as_dict()["memory_bytes"] is None
    with pytest.raises(ValueError):
        Limits(open_files=-1)


def test_figures_are_named_in_mib_or_gib():
    assert format_bytes(256 * MiB) == "256 MiB"
    assert format_bytes(2048 * MiB) == "2 GiB"


def test_rlimits_cover_only_what_no_cgroup_does():
    limits = Limits(memory_bytes=64 * MiB, processes=10, cpu_seconds=5, open_files=100)
    assert rlimits_for(limits, {"memory", "processes"}, per_user_processes=True) == {
        "RLIMIT_CPU": 5,
        "RLIMIT_NOFILE": 100,
    }
    fallback = rlimits_for(limits, set(), per_user_processes=False)
    assert fallback["RLIMIT_DATA"] == 64 * MiB and "RLIMIT_NPROC" not in fallback
    assert "RLIMIT_NPROC" in rlimits_for(limits, set(), per_user_processes=True)


def test_a_limit_is_only_blamed_when_the_run_failed_and_that_limit_was_set():
    seen = {"oom_kills": 1}
    kwargs = {"stderr": "", "cpu_seconds": 0.0, "observed": seen}
    memory = Limits(memory_bytes=256 * MiB)
    assert hit(memory, signal_number=None, exit_code=0, **kwargs) is None
    assert hit(Limits(), signal_number=9, exit_code=None, **kwargs) is None
    reason, sentence = hit(memory, signal_number=9, exit_code=None, **kwargs)
    assert reason == Reason.MEMORY_LIMIT
    assert sentence == "The script used more than its memory limit of 256 MiB and was killed"
    cpu = hit(
        Limits(cpu_seconds=2),
        signal_number=signal.SIGXCPU,
        exit_code=None,
        stderr="",
        cpu_seconds=2.0,
        observed={},
    )
    assert cpu is not None and cpu[0] == Reason.CPU_LIMIT and "2 s" in cpu[1]


def test_the_child_joins_its_cgroup_file_and_lowers_its_rlimits(tmp_path):
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    pid = os.fork()
    if pid == 0:
        try:
            child.apply_in_child(encode([str(procs)], {"RLIMIT_NOFILE": 64}))
            os._exit(0 if resource.getrlimit(resource.RLIMIT_NOFILE) == (64, 64) else 3)
        finally:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert procs.read_text() == str(pid)


def test_a_cgroup_that_cannot_be_joined_stops_the_script_with_a_sentence(tmp_path):
    with pytest.raises(child.LimitError, match="cannot join the run's cgroup"):
        child.apply_in_child(encode([str(tmp_path / "missing" / "cgroup.procs")], {}))


@pytest.mark.skipif(ON_CGROUPS, reason="this worker limits memory with a cgroup")
def test_without_a_cgroup_memory_is_a_data_rlimit(tmp_path):
    outcome = run_script(
        tmp_path,
        "block = bytearray(400 * 1024 * 1024)\n",
        limits=Limits(memory_bytes=128 * MiB),
    )
    assert outcome.failure_reason == Reason.MEMORY_LIMIT, outcome.error_message
