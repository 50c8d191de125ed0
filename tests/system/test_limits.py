"""Resource limits on a real ``serve``: a fork loop and an allocation past their limits end with
their own reasons and sentences; a script well under its limits keeps its exact peak memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scriptdeck.runner import cgroups

from .harness import SANDBOXED, ProcessStack, Server, start_serve, write_scripts

MiB = 1024 * 1024

FORK_LOOP = """\
import os, time
for _ in range(200):
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
print('{"forked": 200}')
"""
ALLOCATE_1GB = """\
block = bytearray(1024 * 1024 * 1024)
print('{"allocated_mb": 1024}')
"""
ALLOCATE_100MB = """\
block = bytearray(100 * 1024 * 1024)
print('{"allocated_mb": 100}')
"""

pytestmark = pytest.mark.skipif(
    not cgroups.backend()[1], reason=f"limits here are {cgroups.backend()[0]}"
)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("limits")
    scripts = write_scripts(
        base / "scripts",
        {
            "fork_loop.py": FORK_LOOP,
            "allocate_1gb.py": ALLOCATE_1GB,
            "allocate_100mb.py": ALLOCATE_100MB,
        },
    )
    stack = ProcessStack(base)
    try:
        # Below what the scripts ask for; the memory limit is each script's own.
        server = start_serve(stack, scripts, env={**SANDBOXED, "SCRIPTDECK_LIMIT_PROCESSES": "50"})
        yield server
        server.api.close()
    finally:
        stack.close()


def test_a_fork_loop_past_the_process_limit_ends_with_process_limit(limited: Server):
    api = limited.api
    execution = api.wait(api.submit("fork_loop")["id"], timeout=60)
    assert execution["status"] == "FAILURE", execution
    assert execution["failure_reason"] == "process_limit", execution["error_message"]
    assert execution["error_message"].startswith(
        "The script tried to run more than its limit of 50 processes at once"
    )


def test_an_allocation_past_the_memory_limit_ends_with_memory_limit(limited: Server):
    api = limited.api
    api.set_script("allocate_1gb", memory_limit_mb=256)
    execution = api.wait(api.submit("allocate_1gb")["id"], timeout=60)
    assert execution["status"] == "FAILURE", execution
    assert execution["failure_reason"] == "memory_limit", execution["error_message"]
    assert execution["error_message"].startswith(
        "The script used more than its memory limit of 256 MiB and was killed."
    )


def test_a_script_under_its_memory_limit_succeeds_with_its_own_peak(limited: Server):
    api = limited.api
    api.set_script("allocate_100mb", memory_limit_mb=512)
    execution = api.wait(api.submit("allocate_100mb")["id"], timeout=60)
    assert execution["status"] == "SUCCESS", execution
    peak_mb = execution["peak_rss_bytes"] / MiB
    assert 100 <= peak_mb < 130, peak_mb
    assert execution["details"]["limits"]["memory_bytes"] == 512 * MiB
