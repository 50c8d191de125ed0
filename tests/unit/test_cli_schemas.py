"""Parameters read from a script's own argparse, click or typer interface, never by running it.

Each fixture in fixtures/cli_scripts/ is read with ``read_script``; the whole schema (every
property with its "cli" mapping), the source, the sentence saying where the form came from,
and the problems are asserted exactly.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from scriptdeck.catalog.argv import build_argv
from scriptdeck.catalog.schema import read_script

FIXTURES = Path(__file__).parent / "fixtures" / "cli_scripts"

EXPECTED: dict[str, dict[str, Any]] = {
    "ap_actions": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 3",
        "description": None,
        "required": [],
        "properties": {
            "verbose": {
                "type": "integer",
                "minimum": 0,
                "description": "more output",
                "cli": {"kind": "count", "flag": "--verbose"},
                "default": 0,
            },
            "tag": {
                "type": "array",
                "items": {"type": "string"},
                "description": "may be given several times",
                "cli": {"kind": "option", "flag": "--tag", "repeat": True},
            },
            "cache": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--no-cache", "when": False},
                "default": True,
            },
            "speed": {
                "type": "boolean",
                "cli": {"kind": "const", "flag": "--fast"},
                "default": False,
            },
            "extra": {
                "type": "boolean",
                "cli": {"kind": "const", "flag": "--extra"},
                "default": False,
            },
        },
        "problems": [],
    },
    "ap_alias": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 3",
        "description": None,
        "required": [],
        "properties": {
            "count": {
                "type": "number",
                "cli": {"kind": "option", "flag": "--count"},
                "default": 1.5,
            }
        },
        "problems": [],
    },
    "ap_basic": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 5",
        "description": "Check a host.",
        "required": ["host"],
        "properties": {
            "host": {
                "type": "string",
                "description": "the host to check",
                "cli": {"kind": "option", "flag": "--host"},
            },
            "port": {"type": "integer", "cli": {"kind": "option", "flag": "--port"}, "default": 22},
            "dry_run": {
                "type": "boolean",
                "description": "only say what would be done",
                "cli": {"kind": "flag", "flag": "--dry-run"},
                "default": False,
            },
        },
        "problems": [],
    },
    "ap_boolean_optional": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 3",
        "description": None,
        "required": [],
        "properties": {
            "color": {
                "type": "boolean",
                "cli": {"kind": "switch", "on": "--color", "off": "--no-color"},
                "default": True,
            }
        },
        "problems": [],
    },
    "ap_build_parser": {
        "source": "argparse",
        "origin": "read from argparse in build_parser(), line 6",
        "description": "Copy files.",
        "required": ["source", "target"],
        "properties": {
            "source": {
                "type": "string",
                "description": "where from",
                "cli": {"kind": "positional", "position": 0},
            },
            "target": {
                "type": "string",
                "description": "where to",
                "cli": {"kind": "positional", "position": 1},
            },
            "retries": {
                "type": "integer",
                "cli": {"kind": "option", "flag": "--retries"},
                "default": 3,
            },
        },
        "problems": [],
    },
    "ap_choices": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 6",
        "description": None,
        "required": [],
        "properties": {
            "mode": {
                "type": "string",
                "enum": ["fast", "full"],
                "cli": {"kind": "option", "flag": "--mode"},
                "default": "fast",
            },
            "level": {
                "type": "string",
                "enum": ["low", "high"],
                "cli": {"kind": "option", "flag": "--level"},
            },
            "size": {
                "type": "string",
                "enum": ["s", "m", "l"],
                "cli": {"kind": "option", "flag": "--size"},
            },
            "env": {
                "type": "string",
                "enum": ["dev", "prod"],
                "cli": {"kind": "option", "flag": "--env"},
            },
        },
        "problems": [],
    },
    "ap_dangerous": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 11",
        "description": None,
        "required": ["target"],
        "properties": {"target": {"type": "string", "cli": {"kind": "option", "flag": "--target"}}},
        "problems": [],
    },
    "ap_environ_default": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 4",
        "description": None,
        "required": [],
        "properties": {
            "token": {
                "type": "string",
                "description": "defaults to $API_TOKEN",
                "cli": {"kind": "option", "flag": "--token"},
            },
            "region": {"type": "string", "cli": {"kind": "option", "flag": "--region"}},
            "user": {
                "type": "string",
                "cli": {"kind": "option", "flag": "--user"},
                "default": "admin",
            },
        },
        "problems": [
            "line 5: --token: the default os.environ.get('API_TOKEN') is not a "
            "literal; when left empty, the script's own default applies",
            "line 6: --region: the default os.getenv('REGION', 'eu') is not a "
            "literal; when left empty, the script's own default applies",
        ],
    },
    "ap_from_import": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 4",
        "description": None,
        "required": [],
        "properties": {
            "config": {
                "type": "string",
                "format": "file",
                "description": "the config file",
                "cli": {"kind": "option", "flag": "--config"},
            },
            "out": {"type": "string", "cli": {"kind": "option", "flag": "--out"}},
            "root": {"type": "string", "cli": {"kind": "option", "flag": "--root"}, "default": "."},
        },
        "problems": [],
    },
    "ap_groups": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 3",
        "description": "Back up a database.",
        "required": ["db_host"],
        "properties": {
            "db_host": {"type": "string", "cli": {"kind": "option", "flag": "--db-host"}},
            "db_port": {
                "type": "integer",
                "cli": {"kind": "option", "flag": "--db-port"},
                "default": 5432,
            },
            "to_file": {"type": "string", "cli": {"kind": "option", "flag": "--to-file"}},
            "to_stdout": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--to-stdout"},
                "default": False,
            },
            "compress": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--compress"},
                "default": False,
            },
        },
        "problems": [],
    },
    "ap_help_format": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 5",
        "description": "Walk a tree.",
        "required": [],
        "properties": {
            "depth": {
                "type": "integer",
                "description": "how deep (default: 3)",
                "cli": {"kind": "option", "flag": "--depth"},
                "default": 3,
            },
            "secret_flag": {"type": "string", "cli": {"kind": "option", "flag": "--secret-flag"}},
            "ratio": {
                "type": "number",
                "description": "100% is all",
                "cli": {"kind": "option", "flag": "--ratio"},
                "default": 0.5,
            },
        },
        "problems": [],
    },
    "ap_helper_adds": {
        "source": "argparse",
        "origin": "read from argparse in make(), line 10",
        "description": None,
        "required": ["target"],
        "properties": {
            "target": {"type": "string", "cli": {"kind": "positional", "position": 0}},
            "verbose": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--verbose"},
                "default": False,
            },
            "log_file": {"type": "string", "cli": {"kind": "option", "flag": "--log-file"}},
        },
        "problems": [],
    },
    "ap_in_main": {
        "source": "argparse",
        "origin": "read from argparse in main(), line 5",
        "description": None,
        "required": [],
        "properties": {
            "name": {
                "type": "string",
                "cli": {"kind": "option", "flag": "--name"},
                "default": "world",
            }
        },
        "problems": [],
    },
    "ap_lambda_type": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 11",
        "description": None,
        "required": [],
        "properties": {
            "size": {
                "type": "string",
                "description": "bytes",
                "cli": {"kind": "option", "flag": "--size"},
            },
            "count": {"type": "string", "cli": {"kind": "option", "flag": "--count"}},
        },
        "problems": [
            "line 12: --size: type=a lambda cannot be read without running it; the "
            "value is passed as text",
            "line 13: --count: type=positive cannot be read without running it; the "
            "value is passed as text",
        ],
    },
    "ap_nargs": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 3",
        "description": None,
        "required": ["files"],
        "properties": {
            "files": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "description": "files to read",
                "cli": {"kind": "positional", "position": 0},
            },
            "exclude": {
                "type": "array",
                "items": {"type": "string"},
                "cli": {"kind": "option", "flag": "--exclude", "nargs": "*"},
                "default": [],
            },
            "point": {
                "type": "array",
                "items": {"type": "number"},
                "minItems": 2,
                "maxItems": 2,
                "cli": {"kind": "option", "flag": "--point", "nargs": 2, "metavar": "X Y"},
            },
            "label": {
                "type": "string",
                "cli": {"kind": "option", "flag": "--label"},
                "default": "none",
            },
        },
        "problems": [],
    },
    "ap_optional_positional": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 3",
        "description": None,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "cli": {"kind": "positional", "position": 0}},
            "greeting": {
                "type": "string",
                "cli": {"kind": "positional", "position": 1},
                "default": "hello",
            },
            "extra": {
                "type": "array",
                "items": {"type": "string"},
                "cli": {"kind": "positional", "position": 2},
            },
        },
        "problems": [],
    },
    "ap_parents": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 6",
        "description": None,
        "required": [],
        "properties": {
            "quiet": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--quiet"},
                "default": False,
            },
            "name": {"type": "string", "cli": {"kind": "option", "flag": "--name"}},
        },
        "problems": [],
    },
    "ap_pathlib": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 4",
        "description": None,
        "required": ["folder"],
        "properties": {
            "folder": {"type": "string", "cli": {"kind": "positional", "position": 0}},
            "limit": {"type": "integer", "cli": {"kind": "option", "flag": "--limit"}},
        },
        "problems": [],
    },
    "ap_range": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 3",
        "description": None,
        "required": [],
        "properties": {
            "workers": {
                "type": "integer",
                "enum": [1, 2, 3, 4],
                "cli": {"kind": "option", "flag": "--workers"},
                "default": 2,
            },
            "percent": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "cli": {"kind": "option", "flag": "--percent"},
            },
            "even": {
                "type": "integer",
                "enum": [0, 2, 4, 6, 8],
                "cli": {"kind": "option", "flag": "--even"},
            },
        },
        "problems": [],
    },
    "ap_subparsers": {
        "source": "argparse",
        "origin": "read from argparse in main(), line 6",
        "description": "Manage the service.",
        "required": ["command"],
        "properties": {
            "env": {
                "type": "string",
                "enum": ["dev", "prod"],
                "cli": {"kind": "option", "flag": "--env"},
                "default": "dev",
            },
            "command": {
                "type": "string",
                "enum": ["deploy", "status"],
                "description": "deploy: deploy a version; status: show the status",
                "cli": {"kind": "command", "position": 0},
            },
            "version": {
                "type": "string",
                "cli": {"kind": "positional", "position": 0, "command": "deploy"},
            },
            "force": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--force", "command": "deploy"},
                "default": False,
            },
            "json": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--json", "command": "status"},
                "default": False,
            },
        },
        "problems": [],
    },
    "ap_subparsers_clash": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 3",
        "description": None,
        "required": [],
        "properties": {
            "action": {
                "type": "string",
                "enum": ["start", "stop"],
                "cli": {"kind": "command", "position": 0},
            },
            "force": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--force", "command": "start"},
                "default": False,
            },
            "force_2": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--force", "command": "stop"},
                "default": False,
            },
            "wait": {
                "type": "integer",
                "cli": {"kind": "option", "flag": "--wait", "command": "stop"},
                "default": 10,
            },
        },
        "problems": [],
    },
    "ap_two_parsers": {
        "source": "argparse",
        "origin": "read from argparse in main(), line 11",
        "description": None,
        "required": [],
        "properties": {"used": {"type": "string", "cli": {"kind": "option", "flag": "--used"}}},
        "problems": ["line 5: another ArgumentParser is not read"],
    },
    "ap_unreadable": {
        "source": "argparse",
        "origin": "read from argparse at the top level, line 4",
        "description": None,
        "required": [],
        "properties": {
            "mode": {"type": "string", "cli": {"kind": "option", "flag": "--mode"}},
            "kind": {"type": "string", "cli": {"kind": "option", "flag": "--kind"}},
            "ok": {"type": "string", "cli": {"kind": "option", "flag": "--ok"}},
        },
        "problems": [
            "line 6: add_argument's names are not plain strings; left out",
            "line 7: --mode: choices are not used: they cannot be read",
            "line 8: --kind: action=argparse._StoreAction is not understood; text",
        ],
    },
    "click_basic": {
        "source": "click",
        "origin": "read from click in hello(), line 4",
        "description": "Greet someone.\n\nLonger text.",
        "required": ["path"],
        "properties": {
            "count": {
                "type": "integer",
                "description": "Number of greetings.",
                "cli": {"kind": "option", "flag": "--count"},
                "default": 1,
            },
            "name": {
                "type": "string",
                "description": "The person to greet.",
                "cli": {"kind": "option", "flag": "--name"},
            },
            "shout": {
                "type": "boolean",
                "cli": {"kind": "switch", "on": "--shout", "off": "--no-shout"},
                "default": False,
            },
            "verbose": {
                "type": "integer",
                "minimum": 0,
                "cli": {"kind": "count", "flag": "--verbose"},
                "default": 0,
            },
            "dry_run": {
                "type": "boolean",
                "description": "Do nothing.",
                "cli": {"kind": "flag", "flag": "--dry-run"},
                "default": False,
            },
            "path": {"type": "string", "cli": {"kind": "positional", "position": 0}},
        },
        "problems": [],
    },
    "click_flag_value": {
        "source": "click",
        "origin": "read from click in convert(), line 4",
        "description": None,
        "required": [],
        "properties": {
            "transform": {
                "type": "boolean",
                "cli": {"kind": "const", "flag": "--upper"},
                "default": False,
            },
            "transform_2": {
                "type": "boolean",
                "cli": {"kind": "const", "flag": "--lower"},
                "default": False,
            },
            "yes": {"type": "boolean", "cli": {"kind": "flag", "flag": "--yes"}, "default": True},
            "when": {"type": "string", "cli": {"kind": "option", "flag": "--when"}},
            "date": {"type": "string", "cli": {"kind": "option", "flag": "--date"}},
            "uuid": {"type": "string", "cli": {"kind": "option", "flag": "--uuid"}},
            "pair": {"type": "string", "cli": {"kind": "option", "flag": "--pair"}},
        },
        "problems": [
            "line 8: --when: the default lambda: 'now' is not a literal; when left "
            "empty, the script's own default applies",
            "line 11: --pair: type=(str, int) is not understood; the value is passed as text",
        ],
    },
    "click_group": {
        "source": "click",
        "origin": "read from click in cli(), line 4",
        "description": "Manage releases.",
        "required": ["command"],
        "properties": {
            "debug": {
                "type": "boolean",
                "cli": {"kind": "switch", "on": "--debug", "off": "--no-debug"},
                "default": False,
            },
            "command": {
                "type": "string",
                "enum": ["publish", "list", "sync"],
                "description": "publish: Publish a release.; list: List "
                "the releases.; sync: Sync the mirrors.",
                "cli": {"kind": "command", "position": 0},
            },
            "version": {
                "type": "string",
                "cli": {"kind": "positional", "position": 0, "command": "publish"},
            },
            "force": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--force", "command": "publish"},
                "default": False,
            },
            "limit": {
                "type": "integer",
                "cli": {"kind": "option", "flag": "--limit", "command": "list"},
                "default": 10,
            },
        },
        "problems": [],
    },
    "click_multiple": {
        "source": "click",
        "origin": "read from click in tagger(), line 4",
        "description": None,
        "required": [],
        "properties": {
            "tag": {
                "type": "array",
                "items": {"type": "string"},
                "description": "a tag",
                "cli": {"kind": "option", "flag": "--tag", "repeat": True},
            },
            "level": {
                "type": "array",
                "items": {"type": "integer"},
                "cli": {"kind": "option", "flag": "--level", "repeat": True},
                "default": [1],
            },
            "files": {
                "type": "array",
                "items": {"type": "string"},
                "cli": {"kind": "positional", "position": 0},
            },
        },
        "problems": [],
    },
    "click_password": {
        "source": "click",
        "origin": "read from click in drop(), line 4",
        "description": None,
        "required": ["user"],
        "properties": {
            "password": {
                "type": "string",
                "secret": True,
                "cli": {"kind": "option", "flag": "--password"},
            },
            "yes": {"type": "boolean", "cli": {"kind": "flag", "flag": "--yes"}, "default": False},
            "user": {"type": "string", "cli": {"kind": "option", "flag": "--user"}},
        },
        "problems": [],
    },
    "click_types": {
        "source": "click",
        "origin": "read from click in resize(), line 4",
        "description": "Resize images.",
        "required": ["source"],
        "properties": {
            "mode": {
                "type": "string",
                "enum": ["fit", "fill"],
                "cli": {"kind": "option", "flag": "--mode"},
                "default": "fit",
            },
            "quality": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "cli": {"kind": "option", "flag": "--quality"},
                "default": 85,
            },
            "scale": {
                "type": "number",
                "minimum": 0.1,
                "maximum": 10.0,
                "cli": {"kind": "option", "flag": "--scale"},
            },
            "source": {
                "type": "string",
                "format": "file",
                "cli": {"kind": "option", "flag": "--input"},
            },
            "log": {"type": "string", "cli": {"kind": "option", "flag": "--log"}},
            "strip": {
                "type": "string",
                "enum": ["true", "false"],
                "cli": {"kind": "option", "flag": "--strip"},
                "default": "true",
            },
            "token": {
                "type": "string",
                "secret": True,
                "cli": {"kind": "option", "flag": "--token"},
            },
            "size": {
                "type": "array",
                "items": {"type": "integer"},
                "minItems": 2,
                "maxItems": 2,
                "cli": {"kind": "option", "flag": "--size", "nargs": 2},
            },
        },
        "problems": [],
    },
    "plain_no_cli": {
        "source": "",
        "origin": "",
        "description": None,
        "required": None,
        "properties": None,
        "problems": [],
    },
    "precedence_declared": {
        "source": "declared",
        "origin": "read from the PARAMETERS literal, line 3",
        "description": None,
        "required": ["host"],
        "properties": {"host": {"type": "string"}},
        "problems": [],
    },
    "precedence_over_main": {
        "source": "argparse",
        "origin": "read from argparse in main(), line 5",
        "description": None,
        "required": [],
        "properties": {
            "port": {"type": "integer", "cli": {"kind": "option", "flag": "--port"}, "default": 80}
        },
        "problems": [],
    },
    "precedence_sidecar": {
        "source": "sidecar",
        "origin": "read from precedence_sidecar.py.params.json",
        "description": None,
        "required": [],
        "properties": {"region": {"type": "string"}},
        "problems": [],
    },
    "typer_annotated": {
        "source": "typer",
        "origin": "read from typer in main(), line 13",
        "description": None,
        "required": ["path", "user"],
        "properties": {
            "path": {
                "type": "string",
                "description": "the folder",
                "cli": {"kind": "positional", "position": 0},
            },
            "color": {
                "type": "string",
                "enum": ["red", "blue"],
                "description": "the colour",
                "cli": {"kind": "option", "flag": "--color"},
                "default": "red",
            },
            "force": {
                "type": "boolean",
                "description": "no questions",
                "cli": {"kind": "flag", "flag": "--force"},
                "default": False,
            },
            "retries": {
                "type": "integer",
                "minimum": 0,
                "maximum": 5,
                "cli": {"kind": "option", "flag": "--retries"},
                "default": 2,
            },
            "verbose": {
                "type": "integer",
                "minimum": 0,
                "cli": {"kind": "count", "flag": "-v"},
                "default": 0,
            },
            "accept": {
                "type": "boolean",
                "cli": {"kind": "switch", "on": "--accept", "off": "--reject"},
                "default": True,
            },
            "user": {"type": "string", "cli": {"kind": "option", "flag": "--user"}},
        },
        "problems": [],
    },
    "typer_app": {
        "source": "typer",
        "origin": "read from typer in app = typer.Typer(), line 3",
        "description": "Manage users.",
        "required": ["command"],
        "properties": {
            "command": {
                "type": "string",
                "enum": ["create", "remove"],
                "description": "create: Create a user.; remove: Remove a user.",
                "cli": {"kind": "command", "position": 0},
            },
            "username": {
                "type": "string",
                "cli": {"kind": "positional", "position": 0, "command": "create"},
            },
            "admin": {
                "type": "boolean",
                "description": "make an admin",
                "cli": {
                    "kind": "switch",
                    "on": "--admin",
                    "off": "--no-admin",
                    "command": "create",
                },
                "default": False,
            },
            "username_2": {
                "type": "string",
                "description": "who",
                "cli": {"kind": "positional", "position": 0, "command": "remove"},
            },
            "force": {
                "type": "boolean",
                "cli": {"kind": "flag", "flag": "--force", "command": "remove"},
                "default": False,
            },
        },
        "problems": [],
    },
    "typer_callback": {
        "source": "typer",
        "origin": "read from typer in app = typer.Typer(), line 3",
        "description": "The tool.",
        "required": ["command"],
        "properties": {
            "verbose": {
                "type": "boolean",
                "cli": {"kind": "switch", "on": "--verbose", "off": "--no-verbose"},
                "default": False,
            },
            "command": {
                "type": "string",
                "enum": ["run"],
                "description": "run: Run a task.",
                "cli": {"kind": "command", "position": 0},
            },
            "task": {
                "type": "string",
                "cli": {"kind": "positional", "position": 0, "command": "run"},
            },
            "dry_run": {
                "type": "boolean",
                "cli": {"kind": "switch", "on": "--dry-run", "off": "--wet-run", "command": "run"},
                "default": False,
            },
        },
        "problems": [],
    },
    "typer_run": {
        "source": "typer",
        "origin": "read from typer in main(), line 4",
        "description": "Say hello.",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "cli": {"kind": "positional", "position": 0}},
            "count": {
                "type": "integer",
                "cli": {"kind": "option", "flag": "--count"},
                "default": 1,
            },
            "formal": {
                "type": "boolean",
                "cli": {"kind": "switch", "on": "--formal", "off": "--no-formal"},
                "default": False,
            },
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "cli": {"kind": "option", "flag": "--tags", "repeat": True},
            },
        },
        "problems": [],
    },
    "typer_single": {
        "source": "typer",
        "origin": "read from typer in main(), line 6",
        "description": "Count lines.",
        "required": [],
        "properties": {
            "files": {
                "type": "array",
                "items": {"type": "string"},
                "cli": {"kind": "positional", "position": 0},
            },
            "limit": {
                "type": "integer",
                "cli": {"kind": "option", "flag": "--limit"},
                "default": 10,
            },
        },
        "problems": [],
    },
}


def test_the_corpus_is_covered_whole() -> None:
    assert sorted(path.stem for path in FIXTURES.glob("*.py")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 32


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_script_reads_as_expected(name: str) -> None:
    expected = EXPECTED[name]
    signature = read_script(FIXTURES / f"{name}.py")
    assert signature.source == expected["source"]
    assert signature.origin == expected["origin"]
    assert signature.problems == expected["problems"]
    schema = signature.schema or {}
    assert schema.get("description") == expected["description"]
    assert schema.get("required") == expected["required"]
    assert schema.get("properties") == expected["properties"]
    if expected["properties"] is not None:
        # Property order is the order options are built in, so it is part of the answer.
        assert list(schema["properties"]) == list(expected["properties"])


def test_a_script_that_parses_its_own_command_line_is_never_called_through_main() -> None:
    assert read_script(FIXTURES / "precedence_over_main.py").entrypoint is False


def test_reading_a_harmful_script_runs_none_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("still here")
    monkeypatch.setenv("CLI_FIXTURE_MARKER", str(marker))
    monkeypatch.setenv("CLI_FIXTURE_VICTIM", str(victim))
    pwned = Path("/tmp/pwned-ap-dangerous-7f3a")
    if pwned.exists():
        pwned.unlink()
    copy = tmp_path / "ap_dangerous.py"
    shutil.copy(FIXTURES / "ap_dangerous.py", copy)

    signature = read_script(copy)

    assert signature.source == "argparse"
    assert list((signature.schema or {})["properties"]) == ["target"]
    assert not marker.exists()
    assert not pwned.exists()
    assert (victim / "keep.txt").read_text() == "still here"


ARGV_CASES = [
    (
        "ap_basic",
        {"host": "db1", "port": 2222, "dry_run": True},
        ["--host", "db1", "--port", "2222", "--dry-run"],
    ),
    ("ap_basic", {"host": "db1", "port": 22, "dry_run": False}, ["--host", "db1", "--port", "22"]),
    (
        "ap_actions",
        {"verbose": 2, "tag": ["a", "b"], "cache": False, "speed": True, "extra": False},
        ["--verbose", "--verbose", "--tag", "a", "--tag", "b", "--no-cache", "--fast"],
    ),
    (
        "ap_nargs",
        {"files": ["a.txt", "b.txt"], "exclude": [], "point": [1.5, 2], "label": ""},
        ["--point", "1.5", "2", "a.txt", "b.txt"],
    ),
    (
        "ap_subparsers",
        {"env": "prod", "command": "deploy", "version": "1.2", "force": True, "json": True},
        ["--env", "prod", "deploy", "--force", "1.2"],
    ),
    (
        "ap_subparsers",
        {"env": "dev", "command": "status", "json": True},
        ["--env", "dev", "status", "--json"],
    ),
    ("ap_boolean_optional", {"color": False}, ["--no-color"]),
    (
        "click_group",
        {"debug": True, "command": "list", "limit": 5},
        ["--debug", "list", "--limit", "5"],
    ),
    (
        "click_types",
        {"mode": "fill", "strip": "false", "source": "/tmp/in.png", "size": [3, 4]},
        ["--mode", "fill", "--input", "/tmp/in.png", "--strip", "false", "--size", "3", "4"],
    ),
    (
        "typer_run",
        {"name": "Ada", "count": 2, "formal": False, "tags": ["x"]},
        ["--count", "2", "--no-formal", "--tags", "x", "Ada"],
    ),
    (
        "typer_app",
        {"command": "remove", "username_2": "bob", "force": True},
        ["remove", "--force", "bob"],
    ),
]


@pytest.mark.parametrize(("name", "values", "expected"), ARGV_CASES)
def test_the_command_line_built_from_a_read_schema(
    name: str, values: dict[str, Any], expected: list[str]
) -> None:
    schema = read_script(FIXTURES / f"{name}.py").schema
    assert build_argv(schema, values, None) == expected
