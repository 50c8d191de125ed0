"""Ordinary command-line scripts dropped into a running server: each reaches its own parser.

An argparse script, a click script and a getopts shell script are written into the scripts
folder while `scriptdeck serve` runs; each is run from the API with typed values, and prints
the arguments it received, which must be exactly what a person would have typed.
"""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import SANDBOXED, ProcessStack, Server, start_serve, wait_until, write_scripts

MASK = "••••"
APPEAR_DEADLINE = 10.0

ARGPARSE_SCRIPT = """\
\"\"\"Deploys a build to a host.\"\"\"
import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description="Deploys a build to a host.")
    parser.add_argument("--host", required=True, help="The host")
    parser.add_argument("--port", type=int, default=22, help="The SSH port")
    parser.add_argument("--dry-run", action="store_true", help="Only say what would be done")
    parser.add_argument("--tag", action="append", help="A tag, repeatable")
    parser.add_argument("files", nargs="*", help="Files to send")
    args = parser.parse_args(argv)
    print(json.dumps({"argv": sys.argv[1:], "args": vars(args)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""

CLICK_SCRIPT = """\
import json
import sys

import click


@click.command()
@click.option("--name", required=True, help="Who to greet")
@click.option("--count", type=int, default=1)
@click.option("--shout/--no-shout", default=False)
@click.option("--tag", multiple=True)
@click.argument("paths", nargs=-1)
def main(name, count, shout, tag, paths):
    \"\"\"Greets someone.\"\"\"
    click.echo(json.dumps({"argv": sys.argv[1:], "count": count, "shout": shout}))


if __name__ == "__main__":
    main()
"""

GETOPTS_SCRIPT = """\
#!/usr/bin/env bash
# Checks a host, a getopts script.
# @param -n count integer =1  How many times
# @param -v verbose boolean  Say more
# @param -t token string secret  The API token
# @param 1 host string required  The host to check
# @param 2 mode enum(fast,full) =fast  How thoroughly
set -euo pipefail
quote() { local s=${1//\\\\/\\\\\\\\}; printf '"%s"' "${s//\\"/\\\\\\"}"; }
given=""
for arg in "$@"; do given="${given:+$given, }$(quote "$arg")"; done
count=1 verbose=0 token=""
while getopts "vn:t:" opt; do
    case $opt in
        v) verbose=1 ;;
        n) count=$OPTARG ;;
        t) token=$OPTARG ;;
        *) exit 64 ;;
    esac
done
shift $((OPTIND - 1))
host=${1:?give a host}
mode=${2:-fast}
format='{"argv": [%s], "host": %s, "mode": "%s", "count": %d, '
format+='"verbose": %d, "token_length": %d}\\n'
printf "$format" \\
    "$given" "$(quote "$host")" "$mode" "$count" "$verbose" "${#token}"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("cli-scripts")
    stack = ProcessStack(base)
    scripts = write_scripts(base / "scripts", {"hello.py": 'print("{}")\n'})
    try:
        running = start_serve(stack, scripts, env=SANDBOXED)
        yield running
        running.api.close()
    finally:
        stack.close()


def appear(server: Server, file_name: str, text: str, name: str) -> dict[str, Any]:
    """Drop a script into the running server's folder; its record once the catalog has it."""
    (server.scripts_dir / file_name).write_text(text, encoding="utf-8")
    if importlib.util.find_spec("scriptdeck.catalog.watch") is None:
        subprocess.run(
            [str(Path(server.process.argv[0])), "sync"],
            env=server.env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def registered() -> dict[str, Any] | None:
        response = server.api.get("/api/scripts/", params={"name": name})
        results = response.json()["results"] if response.status_code == 200 else []
        return results[0] if results and results[0]["parameter_schema"] else None

    return wait_until(registered, APPEAR_DEADLINE, f"{file_name} was not registered with a form")


def run(server: Server, script: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    execution = server.api.submit(script["id"], parameters)
    ended = server.api.wait(execution["id"], timeout=60)
    assert ended["status"] == "SUCCESS", ended
    return ended


def test_an_argparse_script_gets_the_arguments_a_person_would_type(server: Server) -> None:
    script = appear(server, "deploy.py", ARGPARSE_SCRIPT, "deploy")
    assert script["schema_source"] == "argparse"
    assert script["command_line_preview"] == ["deploy.py", "--host", "<host>", "--port", "22"]
    values = {
        "host": "db 1",
        "port": 2222,
        "dry_run": True,
        "tag": ["blue", "two words"],
        "files": ["a.txt", "b;rm -rf x"],
    }
    expected = [
        *("--host", "db 1", "--port", "2222", "--dry-run"),
        *("--tag", "blue", "--tag", "two words", "a.txt", "b;rm -rf x"),
    ]
    ended = run(server, script, values)
    assert ended["result"]["argv"] == expected
    assert ended["result"]["args"] == {
        "host": "db 1",
        "port": 2222,
        "dry_run": True,
        "tag": ["blue", "two words"],
        "files": ["a.txt", "b;rm -rf x"],
    }
    assert ended["details"]["command_line"] == ["deploy.py", *expected]

    # An empty optional and a false flag leave their options out; the default port stays.
    ended = run(server, script, {"host": "h", "dry_run": False, "tag": []})
    assert ended["result"]["argv"] == ["--host", "h", "--port", "22"]


def test_a_click_script_gets_its_switch_and_repeated_options(server: Server) -> None:
    script = appear(server, "greet.py", CLICK_SCRIPT, "greet")
    assert script["schema_source"] == "click"
    values = {"name": "Ada", "count": 3, "shout": False, "tag": ["x"], "paths": ["/p q"]}
    ended = run(server, script, values)
    expected = ["--name", "Ada", "--count", "3", "--no-shout", "--tag", "x", "/p q"]
    assert ended["result"]["argv"] == expected
    assert (ended["result"]["count"], ended["result"]["shout"]) == (3, False)


def test_a_getopts_script_gets_its_options_then_its_positionals(server: Server) -> None:
    script = appear(server, "check.sh", GETOPTS_SCRIPT, "check")
    assert script["schema_source"] == "shell"
    assert script["command_line_preview"] == ["check.sh", "-n", "1", "<host>", "fast"]
    token = "tok-3141592653"
    values = {"count": 2, "verbose": True, "token": token, "host": 'db "one"', "mode": "full"}
    ended = run(server, script, values)
    # The token reached the script (its length says so) and is masked in everything stored.
    expected_shown = ["-v", "-n", "2", "-t", MASK, 'db "one"', "full"]
    assert ended["result"]["argv"] == expected_shown
    assert ended["result"]["host"] == 'db "one"'
    assert (ended["result"]["count"], ended["result"]["verbose"]) == (2, 1)
    assert ended["result"]["token_length"] == len(token)
    assert ended["details"]["command_line"] == ["check.sh", *expected_shown]
    assert token not in str(ended)

    ended = run(server, script, {"host": "h"})
    assert ended["result"]["argv"] == ["-n", "1", "h", "fast"]
