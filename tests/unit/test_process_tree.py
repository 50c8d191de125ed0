"""The process table the runner scans once a run: it must say what psutil says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from scriptdeck.runner import process_tree
from scriptdeck.runner.process_tree import (
    RUN_MARKER_VARIABLE,
    ProcessTree,
    become_subreaper,
    nothing_else_left,
    own_children,
    proc_table,
    read_stat,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

TREE = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
    "print('up', flush=True)\n"
    "time.sleep(30)\n"
)


@pytest.fixture
def live_tree():
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"up\n"
    try:
        yield proc
    finally:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait()


def test_the_table_agrees_with_psutil_on_a_live_tree(live_tree):
    table = proc_table()
    expected = psutil._pslinux.ppid_map()
    grandchild = psutil.Process(live_tree.pid).children()[0].pid
    assert table[live_tree.pid].ppid == os.getpid()
    assert table[grandchild].ppid == live_tree.pid
    both = set(table) & set(expected)
    assert len(both) > 0.9 * len(expected)  # processes may come and go between the two passes
    assert {pid: table[pid].ppid for pid in both} == {pid: expected[pid] for pid in both}
    ticks = os.sysconf("SC_CLK_TCK")
    boot = psutil.boot_time()
    created = boot + table[live_tree.pid].start / ticks
    assert abs(created - psutil.Process(live_tree.pid).create_time()) < 0.05


def test_a_command_name_with_spaces_and_parentheses_is_parsed(tmp_path):
    odd = tmp_path / "a) b (c"
    shutil.copy(shutil.which("sleep"), odd)
    proc = subprocess.Popen([str(odd), "30"])
    try:
        deadline = time.monotonic() + 5
        while psutil.Process(proc.pid).name() != odd.name[:15] and time.monotonic() < deadline:
            time.sleep(0.01)
        entry = read_stat(proc.pid)
        assert entry is not None
        assert entry.ppid == os.getpid()
        assert entry.state in "RSD"
    finally:
        proc.kill()
        proc.wait()
    entry = read_stat(proc.pid)
    assert entry is None or entry.state == "Z"


def test_a_gone_pid_reads_as_none():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert read_stat(proc.pid) is None


def test_a_scan_finds_the_tree_and_alive_drops_what_ended(live_tree):
    tree = ProcessTree(live_tree.pid, marker="unused")
    grandchild = psutil.Process(live_tree.pid).children()[0].pid
    assert {p.pid for p in tree.scan()} == {live_tree.pid, grandchild}
    os.kill(grandchild, 9)
    deadline = time.monotonic() + 5
    while grandchild in {p.pid for p in tree.alive()} and time.monotonic() < deadline:
        time.sleep(0.01)
    assert {p.pid for p in tree.scan()} == {live_tree.pid}


def test_an_orphan_of_ours_is_adopted_only_with_the_runs_marker():
    assert become_subreaper()
    marker = uuid.uuid4().hex
    code = (
        "import os, subprocess, sys\n"
        f"env = dict(os.environ, {RUN_MARKER_VARIABLE}=sys.argv[1])\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'], env=env,\n"
        "    start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
    )
    mine = subprocess.run(
        [sys.executable, "-c", code, marker], capture_output=True, check=True
    ).stdout
    other = subprocess.run(
        [sys.executable, "-c", code, "another-run"], capture_output=True, check=True
    ).stdout
    orphan, stranger = int(mine), int(other)
    try:
        assert proc_table()[orphan].ppid == os.getpid()  # re-parented to us, the subreaper
        tree = ProcessTree(root_pid=-1, marker=marker)
        assert {p.pid for p in tree.scan()} == {orphan}
        assert {p.pid for p in tree.scan()} == {orphan}  # the stranger's marker was cached
        assert (stranger, proc_table()[stranger].start) in process_tree._marker_of
        assert tree.end_all(grace=1) == 1
        assert read_stat(orphan) is None  # ended and reaped
        stranger_entry = read_stat(stranger)
        assert stranger_entry is not None and stranger_entry.state != "Z"  # another run's
    finally:
        for pid in (orphan, stranger):
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def test_own_children_are_read_without_a_pass_over_proc(live_tree):
    children = own_children()
    assert children is not None
    assert live_tree.pid in children  # our child, not its child
    assert psutil.Process(live_tree.pid).children()[0].pid not in children
    assert children == {p.pid for p in psutil.Process().children()}


def test_a_child_of_ours_even_a_zombie_means_something_may_be_left():
    assert become_subreaper()
    others = own_children()
    assert others is not None
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        assert not nothing_else_left(others)
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # it exits; not reaped yet
        assert read_stat(proc.pid).state == "Z"
        assert not nothing_else_left(others)  # exited, not reaped: still a child
        assert nothing_else_left(others | {proc.pid})  # unless it is expected
    finally:
        proc.wait()
    assert nothing_else_left(others)


def test_an_orphan_in_a_session_of_its_own_is_a_child_of_the_subreaper():
    assert become_subreaper()
    before = own_children()
    assert before is not None
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'],\n"
        "    start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
    )
    orphan = int(subprocess.run([sys.executable, "-c", code], capture_output=True).stdout)
    try:
        assert not nothing_else_left(before)
        assert orphan in (own_children() or set())
    finally:
        os.kill(orphan, 9)
        os.waitpid(orphan, 0)
    assert nothing_else_left(before)
