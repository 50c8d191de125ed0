"""Shell scripts' parameters read from their text, and the command line built for given values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scriptdeck.catalog.argv import build_argv
from scriptdeck.catalog.schema import read_script
from scriptdeck.catalog.shell_reader import is_shell_script

FIXTURES = Path(__file__).parent / "fixtures" / "shell_scripts"


def option(flag: str, kind: str = "string", **more: Any) -> dict[str, Any]:
    return {"type": kind, **more, "cli": {"kind": "option", "flag": flag}}


def flag(letter: str, **more: Any) -> dict[str, Any]:
    return {"type": "boolean", **more, "cli": {"kind": "flag", "flag": letter}, "default": False}


def positional(position: int, **more: Any) -> dict[str, Any]:
    spec = {"type": "string", **more, "cli": {"kind": "positional", "position": position}}
    if "default" in more:  # the order the reader writes keys in, so a failure diff is short
        spec["default"] = spec.pop("default")
    return spec


def schema(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


# (fixture, origin, schema, problems, [(values, argv), ...])
CASES: list[tuple[str, str, dict[str, Any], list[str], list[tuple[dict, list[str]]]]] = [
    (
        "getopts_plain.sh",
        "read from getopts on line 3",
        schema([], v=flag("-v"), n=option("-n"), o=option("-o")),
        [],
        [
            ({"v": True, "n": "2", "o": "out.txt"}, ["-v", "-n", "2", "-o", "out.txt"]),
            ({"v": False, "o": ""}, []),
        ],
    ),
    (
        "getopts_named.sh",
        "read from getopts on line 7 and the @param comments",
        schema(
            ["mode"],
            quiet=flag("-q", description="Print nothing"),
            count={**option("-n", "integer", description="How many times"), "default": 3},
            mode=option("-m", enum=["fast", "full"], description="The mode"),
        ),
        [],
        [({"quiet": True, "count": 3, "mode": "full"}, ["-q", "-n", "3", "-m", "full"])],
    ),
    (
        "positional_required.sh",
        "read from $1 on line 3 and $2 on line 4",
        schema(
            ["host", "port"],
            host=positional(0, description="give the host"),
            port=positional(1, description="and the port"),
        ),
        [],
        [({"host": "db1", "port": "5432"}, ["db1", "5432"])],
    ),
    (
        "positional_defaults.sh",
        "read from $1 on line 3, $2 on line 4, $3 on line 5 and the @param comments",
        schema(
            ["target"],
            target=positional(0),
            mode=positional(1, enum=["fast", "full"], description="The mode", default="fast"),
            retries=positional(2, default="5"),
        ),
        [],
        [
            ({"target": "t", "mode": "full", "retries": "2"}, ["t", "full", "2"]),
            ({"target": "t", "retries": "2"}, ["t"]),
        ],
    ),
    (
        "getopts_and_positionals.sh",
        "read from getopts on line 6, $1 on line 13, $2 on line 13 and the @param comments",
        schema(
            ["source"],
            verbose={
                "type": "integer",
                "minimum": 0,
                "description": "Say more, once per -v",
                "cli": {"kind": "count", "flag": "-v"},
                "default": 0,
            },
            f=flag("-f"),
            source=positional(0, format="file", description="What to copy"),
            dest=positional(1, description="Where to", default="/tmp"),
        ),
        [],
        [
            (
                {"verbose": 2, "f": True, "source": "/in/a", "dest": "/tmp"},
                ["-v", "-v", "-f", "/in/a", "/tmp"],
            )
        ],
    ),
    (
        "function_args.sh",
        "read from $1 on line 8",
        schema(["name"], name=positional(0, description="who to greet")),
        [],
        [({"name": "Ada Lovelace"}, ["Ada Lovelace"])],
    ),
    (
        "main_dollar_at.sh",
        "read from getopts on line 5, $1 on line 12 and the @param comments",
        schema(
            [],
            token=option("-t", secret=True, description="The API token"),
            d=flag("-d"),
            region=positional(0, default="eu"),
        ),
        [],
        [({"token": "s3cret", "d": True, "region": "us"}, ["-t", "s3cret", "-d", "us"])],
    ),
    (
        "quoted_and_comments.sh",
        "read from $1 on line 8",
        schema([], arg1=positional(0, default="nothing")),
        [],
        [({"arg1": "x"}, ["x"])],
    ),
    (
        "declared_only.sh",
        "read from the @param comments",
        schema(
            ["app"],
            env={
                **option("-e", enum=["dev", "prod"], description="Where to deploy"),
                "default": "dev",
            },
            yes=flag("-y", description="Do not ask"),
            app=positional(0, description="The application"),
        ),
        [],
        [({"env": "prod", "yes": True, "app": "web"}, ["-e", "prod", "-y", "web"])],
    ),
    (
        "bad_params.sh",
        "read from getopts on line 6 and the @param comments",
        schema(
            [],
            age=flag("-a", description="An unknown type"),
            count=option("-n", "integer", description="A default that is not a number"),
        ),
        [
            "bad_params.sh, line 3: @param age: the type 'decimal' is not one of string, "
            "integer, number, boolean, file, enum(a,b,...): it is read as a string",
            "bad_params.sh, line 5: @param needs a name (letters, digits and _), not '9lives': "
            "it is left out",
            "bad_params.sh, line 3: -a takes no value in getopts, so it is a boolean flag, "
            "not string",
            "bad_params.sh, line 4: the default 'many' of count is not integer: it is left out",
            "bad_params.sh, line 2: getopts on line 6 does not read -x: it is left out",
        ],
        [({"age": True, "count": 4}, ["-a", "-n", "4"])],
    ),
    (
        "gap_and_order.sh",
        "read from $1 on line 3 and $3 on line 4",
        schema(
            ["first", "arg2", "third"],
            first=positional(0),
            arg2=positional(1),
            third=positional(2),
        ),
        [
            "gap_and_order.sh: $2 is never read, but $3 comes after it: arg2 is a parameter so "
            "that $3 arrives",
            "gap_and_order.sh: $1 is optional but a later positional is required: $1 is made "
            "required",
        ],
        [({"first": "a", "arg2": "b", "third": "c"}, ["a", "b", "c"])],
    ),
    (
        "tool",
        "read from $1 on line 4 and the @param comments",
        schema([], name=positional(0, description="Who to greet", default="world")),
        [],
        [({"name": "you"}, ["you"]), ({}, [])],
    ),
]


@pytest.mark.parametrize(
    ("fixture", "origin", "expected", "problems", "runs"), CASES, ids=[case[0] for case in CASES]
)
def test_the_schema_and_the_command_line_of_a_shell_script(
    fixture, origin, expected, problems, runs
):
    signature = read_script(FIXTURES / fixture)
    assert signature.source == "shell"
    assert signature.origin == origin
    assert signature.schema == expected
    assert signature.problems == problems
    assert not signature.entrypoint
    for values, argv in runs:
        assert build_argv(signature.schema, values) == argv


def test_a_shell_script_that_reads_no_arguments_takes_free_form_parameters():
    signature = read_script(FIXTURES / "no_parameters.sh")
    assert (signature.schema, signature.source, signature.problems) == (None, "", [])


def test_a_sidecar_still_wins_over_what_the_text_says(tmp_path):
    script = tmp_path / "job.sh"
    script.write_text((FIXTURES / "getopts_plain.sh").read_text())
    (tmp_path / "job.sh.params.json").write_text('{"x": {"type": "string"}}')
    signature = read_script(script)
    assert signature.source == "sidecar"
    assert list(signature.schema["properties"]) == ["x"]


@pytest.mark.parametrize(
    ("name", "first_line", "expected"),
    [
        ("a.sh", "", True),
        ("tool", "#!/bin/bash", True),
        ("tool", "#!/usr/bin/env bash", True),
        ("tool", "#! /bin/sh -e", True),
        ("tool", "#!/usr/bin/env -S zsh -f", True),
        ("tool", "#!/usr/bin/env python3", False),
        ("tool", "#!/usr/bin/perl", False),
        ("tool", "echo hi", False),
    ],
)
def test_which_files_are_shell_scripts(name, first_line, expected):
    assert is_shell_script(name, first_line) is expected


def test_a_non_shell_file_with_a_shebang_is_not_read_as_shell(tmp_path):
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/perl\nprint $1;\n")
    assert read_script(script).schema is None


def test_the_description_leaves_out_the_parameter_lines(tmp_path):
    from scriptdeck.catalog.discovery import describe

    script = tmp_path / "check.sh"
    script.write_text(
        "#!/usr/bin/env bash\n"
        "# Check a disk.\n"
        "# @param -p path string =/ The mount point\n"
        "# Prints the free space.\n"
        "set -eu\n",
        encoding="utf-8",
    )
    assert describe(script) == "Check a disk.\nPrints the free space."
