"""A running ``serve`` keeps the catalog in step with its folder: no sync by hand."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from .harness import ProcessStack, Server, start_serve, wait_until, write_scripts

SHOW_WITHIN = 2.0
SYNC_LINE = re.compile(r"catalog sync \((?P<why>[^)]*)\): (?P<added>\d+) added")


def listed(server: Server, name: str) -> dict[str, Any] | None:
    response = server.api.get("/api/scripts/", params={"name": name})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    return results[0] if results else None


def within(seconds: float, condition: Any, message: str) -> tuple[Any, float]:
    """Poll ``condition`` every 0.1 s; its value and the seconds it took, or a failure."""
    began = time.monotonic()
    value = wait_until(condition, seconds, message, interval=0.1)
    return value, time.monotonic() - began


def sync_lines(server: Server) -> list[re.Match[str]]:
    return [m for m in map(SYNC_LINE.search, server.log().splitlines()) if m]


def started(stack: ProcessStack, folder: Path, **env: str) -> Server:
    server = start_serve(stack, folder, "--no-scheduler", env=env)
    # The sweeper's first sync, when its watch starts: changes from here on are watched.
    wait_until(lambda: any(m["why"] == "start" for m in sync_lines(server)), 30, "no start sync")
    return server


def test_a_file_dropped_changed_and_removed_shows_within_two_seconds(
    stack: ProcessStack, tmp_path: Path
) -> None:
    folder = write_scripts(tmp_path / "scripts", {"existing.py": "print('{}')\n"})
    server = started(stack, folder)

    (folder / "dropped.py").write_text('"""Dropped in."""\nprint("{}")\n')
    script, took = within(SHOW_WITHIN + 3, lambda: listed(server, "dropped"), "never listed")
    assert took <= SHOW_WITHIN, f"a new script took {took:.2f} s to show"
    assert script["is_active"] is True

    first = script["sha256"]
    (folder / "dropped.py").write_text('"""Changed."""\nprint("{\\"v\\": 2}")\n')
    changed, took = within(
        SHOW_WITHIN + 3,
        lambda: (s := listed(server, "dropped")) and s["sha256"] != first and s,
        "the change never showed",
    )
    assert took <= SHOW_WITHIN, f"a change took {took:.2f} s to show"
    assert changed["description"] == "Changed."

    (folder / "dropped.py").unlink()
    gone, took = within(
        SHOW_WITHIN + 3,
        lambda: (s := listed(server, "dropped")) and s["missing_since"] and s,
        "the removal never showed",
    )
    assert took <= SHOW_WITHIN, f"a removal took {took:.2f} s to show"
    assert gone["is_active"] is False
    assert listed(server, "existing")["is_active"] is True


def test_a_burst_of_500_files_is_a_few_syncs(stack: ProcessStack, tmp_path: Path) -> None:
    folder = write_scripts(tmp_path / "scripts", {"existing.py": "print('{}')\n"})
    # A rescan comes only after this many seconds without a change: its line after the
    # burst says every sync the burst caused has been logged.
    server = started(stack, folder, SCRIPTDECK_RESCAN_SECONDS="3")
    before = len(sync_lines(server))

    pulled = folder / "pulled"
    pulled.mkdir()
    for index in range(500):
        (pulled / f"job_{index:03d}.py").write_text(f'"""Job {index}."""\nprint("{{}}")\n')

    def all_active() -> bool:
        response = server.api.get("/api/scripts/", params={"is_active": "true"})
        return response.json()["count"] == 501

    _, took = within(15, all_active, "the 500 files were not all listed")
    assert took <= 10, f"500 files took {took:.2f} s to show"

    def burst_syncs() -> list[re.Match[str]] | None:
        lines = sync_lines(server)[before:]
        for index, line in enumerate(lines):
            done = sum(int(m["added"]) for m in lines[:index]) == 500
            if done and line["why"] == "rescan" and line["added"] == "0":
                return lines[:index]
        return None

    syncs = wait_until(burst_syncs, 30, "no quiet rescan followed the burst")
    assert 1 <= len(syncs) <= 3, [m.group(0) for m in syncs]
