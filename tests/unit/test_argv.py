"""The command line built from the parameters' "cli" mappings, or from a script's template."""

from __future__ import annotations

from typing import Any

import pytest

from scriptdeck.catalog.argv import MASK, build_argv, preview_values, shown_argv


def schema(*properties: tuple[str, dict[str, Any]], required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "properties": dict(properties), "required": list(required)}


def prop(cli: dict[str, Any], kind: str = "string", **more: Any) -> dict[str, Any]:
    return {"type": kind, "cli": cli, **more}


PORT = ("port", prop({"kind": "option", "flag": "--port"}, "integer"))
HOST = ("host", prop({"kind": "option", "flag": "--host"}))
TAG = ("tag", prop({"kind": "option", "flag": "--tag", "repeat": True}, "array"))
FILES = ("files", prop({"kind": "option", "flag": "--files", "nargs": "+"}, "array"))
DRY = ("dry_run", prop({"kind": "flag", "flag": "--dry-run"}, "boolean"))
NO_CACHE = ("cache", prop({"kind": "flag", "flag": "--no-cache", "when": False}, "boolean"))
COLOR = ("color", prop({"kind": "switch", "on": "--color", "off": "--no-color"}, "boolean"))
VERBOSE = ("verbose", prop({"kind": "count", "flag": "-v"}, "integer"))
FAST = ("fast", prop({"kind": "const", "flag": "--fast"}, "boolean"))
SOURCE = ("source", prop({"kind": "positional", "position": 0}))
TARGET = ("target", prop({"kind": "positional", "position": 1}))
ITEMS = ("items", prop({"kind": "positional", "position": 1}, "array"))
RATIO = ("ratio", prop({"kind": "option", "flag": "--ratio"}, "number"))

COMMAND = ("command", prop({"kind": "command", "position": 0}, enum=["deploy", "status"]))
LATE_COMMAND = ("command", prop({"kind": "command", "position": 1}, enum=["deploy"]))
ENV = ("env", prop({"kind": "option", "flag": "--env", "command": "deploy"}))
FORCE = ("force", prop({"kind": "flag", "flag": "-f", "command": "deploy"}, "boolean"))
APP = ("app", prop({"kind": "positional", "position": 0, "command": "deploy"}))
WATCH = ("watch", prop({"kind": "flag", "flag": "--watch", "command": "status"}, "boolean"))


CASES = [
    ("an option's value is its own argument", schema(PORT), {"port": 2222}, ["--port", "2222"]),
    ("a number is its JSON text", schema(RATIO), {"ratio": 0.5}, ["--ratio", "0.5"]),
    ("a string is passed as it is", schema(HOST), {"host": "a b;c"}, ["--host", "a b;c"]),
    ("an absent option is left out", schema(HOST, PORT), {"port": 1}, ["--port", "1"]),
    ("a None option is left out", schema(HOST), {"host": None}, []),
    ("an empty optional is left out", schema(HOST), {"host": ""}, []),
    (
        "an empty required value is still given",
        schema(HOST, required=("host",)),
        {"host": ""},
        ["--host", ""],
    ),
    ("a boolean is never an option's text", schema(HOST), {"host": True}, []),
    (
        "a repeated option is repeated",
        schema(TAG),
        {"tag": ["a", "b"]},
        ["--tag", "a", "--tag", "b"],
    ),
    ("an empty repeated option is left out", schema(TAG), {"tag": []}, []),
    (
        "nargs gives the values after one flag",
        schema(FILES),
        {"files": ["a", "b"]},
        ["--files", "a", "b"],
    ),
    ("a flag is present when true", schema(DRY), {"dry_run": True}, ["--dry-run"]),
    ("a flag is absent when false", schema(DRY), {"dry_run": False}, []),
    (
        "a store_false flag is present when false",
        schema(NO_CACHE),
        {"cache": False},
        ["--no-cache"],
    ),
    ("a store_false flag is absent when true", schema(NO_CACHE), {"cache": True}, []),
    ("a switch gives its on word", schema(COLOR), {"color": True}, ["--color"]),
    ("a switch gives its off word", schema(COLOR), {"color": False}, ["--no-color"]),
    ("a count is the flag N times", schema(VERBOSE), {"verbose": 3}, ["-v", "-v", "-v"]),
    ("a count of 0 is nothing", schema(VERBOSE), {"verbose": 0}, []),
    ("a const is present when true", schema(FAST), {"fast": True}, ["--fast"]),
    ("a const is absent when false", schema(FAST), {"fast": False}, []),
    (
        "positionals come after the options, in position order",
        schema(TARGET, SOURCE, HOST),
        {"target": "t", "source": "s", "host": "h"},
        ["--host", "h", "s", "t"],
    ),
    (
        "an array positional expands",
        schema(SOURCE, ITEMS),
        {"source": "s", "items": ["x", "y", "z"]},
        ["s", "x", "y", "z"],
    ),
    (
        "an absent positional leaves out those after it",
        schema(SOURCE, TARGET),
        {"target": "t"},
        [],
    ),
    (
        "an empty optional positional is absent",
        schema(SOURCE, TARGET),
        {"source": "", "target": "t"},
        [],
    ),
    (
        "options in schema order",
        schema(VERBOSE, PORT, DRY, TAG),
        {"verbose": 1, "port": 80, "dry_run": True, "tag": ["x"]},
        ["-v", "--port", "80", "--dry-run", "--tag", "x"],
    ),
    (
        "the chosen command's options and positionals follow the command word",
        schema(HOST, ENV, LATE_COMMAND, FORCE, APP, WATCH, SOURCE),
        {
            "host": "h",
            "command": "deploy",
            "env": "prod",
            "force": True,
            "app": "web",
            "source": "s",
        },
        ["--host", "h", "s", "deploy", "--env", "prod", "-f", "web"],
    ),
    (
        "another command's parameters are left out",
        schema(ENV, COMMAND, FORCE, APP, WATCH),
        {"command": "status", "env": "prod", "force": True, "app": "web", "watch": True},
        ["status", "--watch"],
    ),
    (
        "no command chosen: no command's parameters",
        schema(HOST, COMMAND, ENV),
        {"host": "h", "env": "prod"},
        ["--host", "h"],
    ),
    (
        "a property without a mapping never reaches the command line",
        schema(("note", {"type": "string"}), HOST),
        {"note": "n", "host": "h"},
        ["--host", "h"],
    ),
    ("no schema, no arguments", None, {"host": "h"}, []),
    (
        "a long option's value starting with a dash is attached with =",
        schema(HOST, PORT),
        {"host": "-x", "port": -5},
        ["--host=-x", "--port=-5"],
    ),
    (
        "a short option's value starting with a dash is attached",
        schema(("name", prop({"kind": "option", "flag": "-n"}))),
        {"name": "-x"},
        ["-n-x"],
    ),
    (
        "each repeated value starting with a dash is attached",
        schema(TAG),
        {"tag": ["a", "--b"]},
        ["--tag", "a", "--tag=--b"],
    ),
    (
        "a positional starting with a dash follows --",
        schema(SOURCE, TARGET, HOST),
        {"source": "s", "target": "--force", "host": "h"},
        ["--host", "h", "--", "s", "--force"],
    ),
    (
        "an array positional item starting with a dash follows --",
        schema(SOURCE, ITEMS),
        {"source": "s", "items": ["x", "--port=99999"]},
        ["--", "s", "x", "--port=99999"],
    ),
    (
        "a command's positional starting with a dash follows -- after the command's options",
        schema(HOST, COMMAND, ENV, APP),
        {"host": "h", "command": "deploy", "env": "prod", "app": "-web"},
        ["--host", "h", "deploy", "--env", "prod", "--", "-web"],
    ),
]


@pytest.mark.parametrize(
    ("schema_", "values", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_mapping_builds_the_arguments(schema_, values, expected):
    assert build_argv(schema_, values, None) == expected


TEMPLATE_CASES = [
    ("literal items stay", ["--host", "x"], {}, ["--host", "x"]),
    ("a {name} item is the value", ["--host", "{host}"], {"host": "a b"}, ["--host", "a b"]),
    ("a list gives one argument each", ["{files}"], {"files": ["a", 2]}, ["a", "2"]),
    ("a missing parameter gives nothing", ["--x", "{x}", "end"], {}, ["--x", "end"]),
    ("None gives nothing", ["{x}"], {"x": None}, []),
    ("a number is JSON text", ["{n}"], {"n": 2.5}, ["2.5"]),
    ("a part of an item is not replaced", ["--host={host}"], {"host": "h"}, ["--host={host}"]),
    ("an empty value is one empty argument", ["{x}"], {"x": ""}, [""]),
]


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [case[1:] for case in TEMPLATE_CASES],
    ids=[case[0] for case in TEMPLATE_CASES],
)
def test_a_template_replaces_whole_items(template, values, expected):
    assert build_argv(None, values, template) == expected


def test_a_template_wins_over_every_mapping():
    assert build_argv(schema(HOST, DRY), {"host": "h", "dry_run": True}, ["{host}"]) == ["h"]


def test_an_empty_template_leaves_the_mappings_in_charge():
    assert build_argv(schema(HOST), {"host": "h"}, []) == ["--host", "h"]


PASSWORD = ("password", prop({"kind": "option", "flag": "--password"}, secret=True))
KEYS = ("keys", prop({"kind": "positional", "position": 0}, "array"))


def test_a_secret_is_masked_in_the_shown_arguments_only():
    values = {"host": "h", "password": "hunter2", "keys": ["k1", "k2"]}
    the_schema = schema(HOST, PASSWORD, KEYS)
    assert build_argv(the_schema, values) == ["--host", "h", "--password", "hunter2", "k1", "k2"]
    shown = shown_argv(the_schema, values, None, {"password", "keys"})
    assert shown == ["--host", "h", "--password", MASK, MASK, MASK]
    assert not any("hunter2" in item or "k1" in item for item in shown)


def test_a_secret_in_a_template_is_masked_too():
    shown = shown_argv(None, {"password": "hunter2"}, ["-p", "{password}"], {"password"})
    assert shown == ["-p", MASK]


def test_a_secret_without_a_mapping_never_reaches_the_command_line():
    the_schema = schema(HOST, ("token", {"type": "string", "secret": True}))
    assert build_argv(the_schema, {"host": "h", "token": "t0ken"}) == ["--host", "h"]


def test_the_preview_uses_defaults_and_names_what_is_required():
    the_schema = schema(
        HOST,
        ("port", {**PORT[1], "default": 22}),
        DRY,
        ("tag", {**TAG[1], "default": ["a"]}),
        ("files", {**FILES[1]}),
        SOURCE,
        required=("host", "source", "dry_run"),
    )
    values = preview_values(the_schema)
    assert values == {"host": "<host>", "port": 22, "tag": ["a"], "source": "<source>"}
    assert build_argv(the_schema, values) == [
        "--host",
        "<host>",
        "--port",
        "22",
        "--tag",
        "a",
        "<source>",
    ]
