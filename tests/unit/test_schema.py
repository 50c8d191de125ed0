"""Reading a script's parameters without running it, and the schema subset admins may write."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from scriptdeck.catalog.schema import ScriptSignature, check_schema, read_script, secret_fields


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def inferred(tmp_path: Path, signature: str, prelude: str = "") -> ScriptSignature:
    script = write(tmp_path, "job.py", f"{prelude}\ndef main({signature}):\n    return None\n")
    return read_script(script)


def only_property(signature: ScriptSignature) -> dict:
    assert signature.schema is not None
    (spec,) = signature.schema["properties"].values()
    return spec


# Inference from main's signature


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("str", {"type": "string"}),
        ("int", {"type": "integer"}),
        ("float", {"type": "number"}),
        ("bool", {"type": "boolean"}),
        ("date", {"type": "string", "format": "date"}),
        ("datetime.date", {"type": "string", "format": "date"}),
        ("datetime", {"type": "string", "format": "date-time"}),
        ("datetime.datetime", {"type": "string", "format": "date-time"}),
        ("dt.date", {"type": "string", "format": "date"}),
        ("Path", {"type": "string"}),
        ("pathlib.Path", {"type": "string"}),
        ("list[str]", {"type": "array", "items": {"type": "string"}}),
        ("List[int]", {"type": "array", "items": {"type": "integer"}}),
        ("typing.List[float]", {"type": "array", "items": {"type": "number"}}),
        ("Sequence[bool]", {"type": "array", "items": {"type": "boolean"}}),
        ("tuple[str, ...]", {"type": "array", "items": {"type": "string"}}),
        ('Literal["fast", "full"]', {"type": "string", "enum": ["fast", "full"]}),
        ("typing.Literal[1, 2]", {"type": "integer", "enum": [1, 2]}),
        ("t.Literal[True, False]", {"type": "boolean", "enum": [True, False]}),
        ("Literal[1, 2.5]", {"type": "number", "enum": [1, 2.5]}),
        (
            'list[Literal["a", "b"]]',
            {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        ),
        ('"int"', {"type": "integer"}),
        ('Annotated[int, "how many"]', {"type": "integer", "description": "how many"}),
        ("Any", {}),
    ],
)
def test_it_infers_each_supported_annotation(tmp_path, annotation, expected):
    prelude = (
        "import datetime\nimport datetime as dt\nimport pathlib\n"
        "import typing\nimport typing as t\n"
        "from datetime import date\nfrom pathlib import Path\n"
        "from typing import Annotated, Any, List, Literal, Sequence\n"
    )
    if annotation == "datetime":
        prelude = "from datetime import datetime\n"

    signature = inferred(tmp_path, f"value: {annotation}", prelude)

    assert signature.problems == []
    assert signature.source == "inferred"
    assert only_property(signature) == expected
    assert signature.schema["required"] == ["value"]


def test_it_infers_the_full_example_signature(tmp_path):
    prelude = (
        "import datetime\nfrom datetime import datetime as DateTime\n"
        "from typing import Literal, Optional\n"
    )
    signature = inferred(
        tmp_path,
        'host: str, retries: int = 3, mode: Literal["fast", "full"] = "fast", '
        "dry_run: bool = False, tags: list[str] | None = None, when: datetime.date = ..., "
        "at: DateTime = DateTime.now(), ratio: float = 0.5, notes: Optional[str] = None",
        prelude,
    )

    assert signature.problems == []
    assert signature.entrypoint is True
    assert signature.schema == {
        "type": "object",
        "properties": {
            "host": {"type": "string"},
            "retries": {"type": "integer", "default": 3},
            "mode": {"type": "string", "enum": ["fast", "full"], "default": "fast"},
            "dry_run": {"type": "boolean", "default": False},
            "tags": {"type": "array", "items": {"type": "string"}},
            "when": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "ratio": {"type": "number", "default": 0.5},
            "notes": {"type": "string"},
        },
        "required": ["host"],
    }


@pytest.mark.parametrize(
    "annotation",
    ["Optional[str]", "str | None", "None | str", "Union[str, None]", "typing.Optional[str]"],
)
def test_it_makes_optional_parameters_not_required(tmp_path, annotation):
    prelude = "import typing\nfrom typing import Optional, Union\n"

    signature = inferred(tmp_path, f"host: str, note: {annotation} = None", prelude)

    assert signature.schema["properties"]["note"] == {"type": "string"}
    assert signature.schema["required"] == ["host"]
    assert signature.problems == []


def test_it_warns_about_an_optional_parameter_without_a_default(tmp_path):
    signature = inferred(tmp_path, "note: str | None")

    assert signature.schema["required"] == []
    assert signature.schema["properties"]["note"] == {"type": "string"}
    assert any("'note'" in problem and "no default" in problem for problem in signature.problems)


def test_it_keeps_literal_defaults_and_drops_the_others(tmp_path):
    signature = inferred(
        tmp_path,
        "a: int = -2, b: tuple[int, ...] = (1, 2), c: str = str(1), d: int = 1 + 1, e=None",
    )

    properties = signature.schema["properties"]
    assert properties["a"] == {"type": "integer", "default": -2}
    assert properties["b"] == {"type": "array", "items": {"type": "integer"}, "default": [1, 2]}
    assert properties["c"] == {"type": "string"}
    assert properties["d"] == {"type": "integer"}
    assert properties["e"] == {}
    assert signature.schema["required"] == []


def test_it_reports_a_default_that_does_not_fit_the_annotation(tmp_path):
    signature = inferred(tmp_path, 'retries: int = "3"')

    assert signature.schema["properties"]["retries"] == {"type": "integer"}
    assert any("'retries'" in p and "not an integer" in p for p in signature.problems)


def test_an_unannotated_parameter_takes_any_value(tmp_path):
    signature = inferred(tmp_path, "anything, count=2")

    assert signature.schema["properties"] == {"anything": {}, "count": {"default": 2}}
    assert signature.schema["required"] == ["anything"]
    assert signature.problems == []


@pytest.mark.parametrize(
    "annotation",
    ["dict[str, int]", "int | str", "list", "list[dict]", "tuple[int, str]", "Widget"],
)
def test_an_unsupported_annotation_takes_any_value_with_a_problem(tmp_path, annotation):
    signature = inferred(tmp_path, f"host: str, odd: {annotation}")

    assert signature.schema["properties"]["odd"] == {}
    assert signature.schema["required"] == ["host", "odd"]
    (problem,) = signature.problems
    assert "'odd'" in problem and "not supported" in problem


def test_kwargs_means_extra_parameters_pass_through(tmp_path):
    with_kwargs = inferred(tmp_path, "host: str, **extra")
    without = inferred(tmp_path, "host: str")

    assert with_kwargs.schema["additionalProperties"] is True
    assert with_kwargs.problems == []
    assert "additionalProperties" not in without.schema


def test_args_and_positional_only_parameters_are_left_out_with_a_problem(tmp_path):
    signature = inferred(tmp_path, "first, /, host: str, *rest, flag: bool = False")

    assert list(signature.schema["properties"]) == ["host", "flag"]
    assert signature.schema["properties"]["flag"] == {"type": "boolean", "default": False}
    assert len(signature.problems) == 2
    assert any("'first'" in problem for problem in signature.problems)
    assert any("*rest" in problem for problem in signature.problems)


def test_a_main_without_parameters_declares_none(tmp_path):
    signature = inferred(tmp_path, "")

    assert signature.schema == {"type": "object", "properties": {}, "required": []}
    assert signature.entrypoint is True


def test_an_async_main_is_a_problem_and_not_an_entrypoint(tmp_path):
    script = write(tmp_path, "job.py", "async def main(host: str):\n    pass\n")

    signature = read_script(script)

    assert signature.entrypoint is False
    assert signature.schema is None
    assert any("async" in problem for problem in signature.problems)


# The entrypoint


def test_it_is_an_entrypoint_with_main_and_no_main_block(tmp_path):
    script = write(tmp_path, "job.py", "def main(host: str):\n    return host\n")

    assert read_script(script).entrypoint is True


@pytest.mark.parametrize("guard", ['if __name__ == "__main__":', "if '__main__' == __name__:"])
def test_it_is_not_an_entrypoint_when_the_file_calls_main_itself(tmp_path, guard):
    script = write(
        tmp_path, "job.py", f"def main(argv=None):\n    return 0\n\n{guard}\n    main()\n"
    )

    signature = read_script(script)

    assert signature.entrypoint is False
    # main's signature is what the file's own block passes, not the run's parameters.
    assert signature.schema is None
    assert signature.source == ""
    assert signature.problems == []


@pytest.mark.parametrize(
    "tail",
    [
        'if __name__ == "__main__" and not DEBUG:\n    main()\n',
        "main()\n",
        "raise SystemExit(main())\n",
        "import sys\nsys.exit(main())\n",
    ],
)
def test_a_file_that_runs_main_itself_is_not_an_entrypoint(tmp_path, tail):
    # The SDK runs the file as __main__ before calling main: it would run main twice.
    script = write(tmp_path, "job.py", f"DEBUG = False\ndef main():\n    return 0\n{tail}")

    assert read_script(script).entrypoint is False


def test_a_main_that_is_not_top_level_is_no_entrypoint(tmp_path):
    script = write(
        tmp_path,
        "job.py",
        """
        class Job:
            def main(self, host: str):
                return host
        """,
    )

    assert read_script(script) == ScriptSignature(None, "", False, [])


def test_a_script_without_main_or_declaration_declares_nothing(tmp_path):
    script = write(tmp_path, "job.py", "print('hello')\n")

    assert read_script(script) == ScriptSignature(None, "", False, [])


# Declarations: PARAMETERS and sidecar files


def test_parameters_literal_is_read_with_required_and_secret(tmp_path):
    script = write(
        tmp_path,
        "login.py",
        """
        PARAMETERS = {
            "url": {"type": "string", "pattern": "^https?://", "required": True},
            "password": {"type": "string", "secret": True, "required": True},
            "attempts": {"type": "integer", "minimum": 1, "default": 1},
            "mode": {"type": "string", "enum": ("a", "b")},
        }
        """,
    )

    signature = read_script(script)

    assert signature.source == "declared"
    assert signature.problems == []
    assert signature.entrypoint is False
    assert signature.schema == {
        "type": "object",
        "properties": {
            "url": {"type": "string", "pattern": "^https?://"},
            "password": {"type": "string", "secret": True},
            "attempts": {"type": "integer", "minimum": 1, "default": 1},
            "mode": {"type": "string", "enum": ["a", "b"]},
        },
        "required": ["url", "password"],
    }
    assert secret_fields(signature.schema) == {"password"}


def test_an_annotated_parameters_assignment_is_read(tmp_path):
    script = write(tmp_path, "job.py", 'PARAMETERS: dict = {"n": {"type": "integer"}}\n')

    signature = read_script(script)

    assert signature.source == "declared"
    assert signature.schema["properties"] == {"n": {"type": "integer"}}
    assert signature.schema["required"] == []


def test_in_mapping_form_only_required_true_makes_a_parameter_required(tmp_path):
    script = write(
        tmp_path,
        "job.py",
        'PARAMETERS = {"a": {"type": "string"}, "b": {"type": "string", "required": False}}\n',
    )

    assert read_script(script).schema["required"] == []


def test_parameters_holding_what_json_cannot_is_a_problem(tmp_path):
    script = write(tmp_path, "job.py", 'PARAMETERS = {"n": {"type": "string", "enum": {"a"}}}\n')

    signature = read_script(script)

    assert signature.schema is None
    assert len(signature.problems) == 1
    assert "PARAMETERS (line 1) holds something JSON cannot" in signature.problems[0]


def test_parameters_that_is_not_a_literal_falls_back_to_main(tmp_path):
    script = write(
        tmp_path,
        "job.py",
        """
        SPEC = {"type": "string"}
        PARAMETERS = {"host": SPEC}

        def main(host: str):
            return host
        """,
    )

    signature = read_script(script)

    assert signature.source == "inferred"
    assert signature.schema["properties"] == {"host": {"type": "string"}}
    assert any("PARAMETERS" in problem and "literal" in problem for problem in signature.problems)


def test_declared_parameters_win_over_main(tmp_path):
    script = write(
        tmp_path,
        "job.py",
        """
        PARAMETERS = {"host": {"type": "string", "title": "Host", "required": True}}

        def main(host, extra: int = 1):
            return host
        """,
    )

    signature = read_script(script)

    assert signature.source == "declared"
    assert signature.entrypoint is True
    assert signature.schema["properties"] == {"host": {"type": "string", "title": "Host"}}


def test_a_sidecar_wins_over_parameters_and_main(tmp_path):
    script = write(
        tmp_path,
        "job.py",
        """
        PARAMETERS = {"declared": {"type": "string"}}

        def main(**kwargs):
            return kwargs
        """,
    )
    write(tmp_path, "job.py.params.json", json.dumps({"side": {"type": "boolean"}}))

    signature = read_script(script)

    assert signature.source == "sidecar"
    assert signature.entrypoint is True
    assert signature.schema == {
        "type": "object",
        "properties": {"side": {"type": "boolean"}},
        "required": [],
    }


def test_a_sidecar_may_be_a_full_schema(tmp_path):
    script = write(tmp_path, "job.sh", "echo '{}'\n")
    full = {
        "type": "object",
        "title": "Job",
        "properties": {"n": {"type": "integer", "maximum": 9}, "s": {"type": "string"}},
        "required": ["n"],
    }
    write(tmp_path, "job.sh.params.json", json.dumps(full))

    signature = read_script(script)

    assert signature == ScriptSignature(
        full, "sidecar", False, [], origin="read from job.sh.params.json"
    )


def test_the_stem_sidecar_is_read_and_the_full_name_wins_over_it(tmp_path):
    script = write(tmp_path, "job.sh", "echo '{}'\n")
    write(tmp_path, "job.params.json", json.dumps({"stem": {"type": "string"}}))

    assert list(read_script(script).schema["properties"]) == ["stem"]

    write(tmp_path, "job.sh.params.json", json.dumps({"full": {"type": "string"}}))
    signature = read_script(script)

    assert list(signature.schema["properties"]) == ["full"]
    assert signature.problems == [
        "both job.sh.params.json and job.params.json exist: job.sh.params.json is used"
    ]


def test_a_shell_script_without_a_sidecar_declares_nothing(tmp_path):
    script = write(tmp_path, "job.sh", "PARAMETERS='{}'\ndef main() {\n  :\n}\n")

    assert read_script(script) == ScriptSignature(None, "", False, [])


def test_a_sidecar_that_is_not_json_is_a_problem_and_the_file_is_read_next(tmp_path):
    script = write(tmp_path, "job.py", 'PARAMETERS = {"n": {"type": "integer"}}\n')
    write(tmp_path, "job.py.params.json", "{not json")

    signature = read_script(script)

    assert signature.source == "declared"
    assert any("job.py.params.json is not valid JSON" in p for p in signature.problems)


def test_declared_mistakes_are_removed_and_reported(tmp_path):
    script = write(
        tmp_path,
        "job.py",
        """
        PARAMETERS = {
            "n": {"type": "integer", "default": "x", "widget": "slider", "required": True},
            "bad name": {"type": "string"},
            "s": {"type": "string", "pattern": "("},
        }
        """,
    )

    signature = read_script(script)

    assert signature.schema["properties"] == {"n": {"type": "integer"}, "s": {"type": "string"}}
    assert signature.schema["required"] == ["n"]
    assert len(signature.problems) == 4
    assert all(problem.startswith("PARAMETERS (line 2): ") for problem in signature.problems)
    assert check_schema(signature.schema) == []


# Never running the script


@pytest.mark.parametrize("top_level", ["create", "remove", "exit", "raise"])
def test_the_script_is_never_imported_or_run(tmp_path, top_level):
    created = tmp_path / "created-by-the-script"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    body = {
        "create": f"open({str(created)!r}, 'w').write('ran')",
        "remove": f"import os\nos.remove({str(victim)!r})",
        "exit": "raise SystemExit(3)",
        "raise": "raise RuntimeError('imported!')",
    }[top_level]
    script = write(
        tmp_path,
        "danger.py",
        f'{body}\nPARAMETERS = {{"n": {{"type": "integer"}}}}\n\ndef main(n: int):\n    pass\n',
    )

    signature = read_script(script)

    assert not created.exists()
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert signature.source == "declared"
    assert signature.entrypoint is True


def test_a_syntax_error_is_a_problem_not_an_exception(tmp_path):
    script = write(tmp_path, "broken.py", "def main(:\n")

    signature = read_script(script)

    assert signature.schema is None
    assert signature.entrypoint is False
    assert len(signature.problems) == 1
    assert "broken.py is not valid Python (line 1)" in signature.problems[0]


def test_a_file_that_is_not_utf8_is_still_read(tmp_path):
    script = tmp_path / "latin.py"
    script.write_bytes(b"# caf\xe9\ndef main(n: int):\n    return n\n")

    signature = read_script(script)

    assert signature.schema["properties"] == {"n": {"type": "integer"}}


# check_schema


def test_check_schema_accepts_the_empty_schema_and_the_whole_subset():
    schema = {
        "type": "object",
        "title": "All of it",
        "description": "every supported keyword",
        "properties": {
            "name": {
                "type": "string",
                "title": "Name",
                "description": "who",
                "minLength": 1,
                "maxLength": 20,
                "pattern": "^[a-z]+$",
                "default": "abc",
                "examples": ["abc"],
            },
            "password": {"type": "string", "secret": True},
            "notes": {"type": "string", "format": "textarea"},
            "upload": {"type": "string", "format": "file"},
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "count": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.5},
            "level": {"type": "integer", "enum": [1, 2, 3], "default": 2},
            "on": {"type": "boolean", "default": False},
            "tags": {
                "type": "array",
                "items": {"type": "string", "enum": ["a", "b"]},
                "minItems": 1,
                "maxItems": 2,
                "default": ["a"],
            },
            "anything": {},
        },
        "required": ["name", "count"],
        "additionalProperties": False,
    }

    assert check_schema({}) == []
    assert check_schema(schema) == []


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ([], "JSON object"),
        ({"properties": {}}, '"type" must be "object"'),
        ({"type": "object", "$defs": {}}, "'$defs'"),
        ({"type": "object", "properties": {"a": {"type": "object"}}}, "type 'object'"),
        ({"type": "object", "properties": {"a": {"type": "string", "oneOf": []}}}, "oneOf"),
        ({"type": "object", "properties": {"a": {"type": "string", "pattern": "(["}}}, "pattern"),
        ({"type": "object", "properties": {"a": {"type": "integer", "default": "1"}}}, "default"),
        ({"type": "object", "properties": {"a": {"type": "integer", "default": True}}}, "default"),
        ({"type": "object", "properties": {"a": {"enum": ["x"], "default": "y"}}}, "enum"),
        ({"type": "object", "properties": {"a": {"enum": ["x", 1]}}}, "enum"),
        ({"type": "object", "properties": {"a": {"type": "string", "enum": [1]}}}, "enum"),
        ({"type": "object", "properties": {"a": {"type": "integer", "secret": True}}}, "secret"),
        ({"type": "object", "properties": {"a": {"type": "string", "format": "email"}}}, "format"),
        ({"type": "object", "properties": {"a": {"type": "integer", "format": "date"}}}, "format"),
        ({"type": "object", "properties": {"a": {"type": "string", "minimum": 1}}}, "minimum"),
        ({"type": "object", "properties": {"a": {"type": "string", "minLength": -1}}}, "minLength"),
        ({"type": "object", "properties": {"a": {"type": "array"}}}, "items"),
        (
            {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "array"}}}},
            "items",
        ),
        (
            {
                "type": "object",
                "properties": {
                    "a": {"type": "array", "items": {"type": "integer"}, "default": [1, "2"]}
                },
            },
            "default",
        ),
        ({"type": "object", "properties": {"1a": {"type": "string"}}}, "'1a'"),
        ({"type": "object", "properties": {"a-b": {"type": "string"}}}, "'a-b'"),
        ({"type": "object", "properties": {"a": "string"}}, "'a'"),
        ({"type": "object", "properties": {}, "required": ["ghost"]}, "'ghost'"),
        ({"type": "object", "properties": {"a": {"type": "string", "required": True}}}, "required"),
    ],
)
def test_check_schema_refuses_what_is_outside_the_subset(schema, words):
    problems = check_schema(schema)

    assert len(problems) >= 1
    assert any(words in problem for problem in problems), problems


def test_check_schema_names_the_parameter_and_the_keyword():
    problems = check_schema(
        {"type": "object", "properties": {"host": {"type": "string", "widget": "x"}}}
    )

    assert problems == ["parameter 'host': widget is not a supported keyword"]


# secret_fields


def test_secret_fields_lists_only_parameters_marked_secret():
    schema = {
        "type": "object",
        "properties": {
            "password": {"type": "string", "secret": True},
            "token": {"type": "string", "secret": True},
            "user": {"type": "string", "secret": False},
            "plain": {"type": "string"},
        },
    }

    assert secret_fields(schema) == {"password", "token"}
    assert secret_fields(None) == set()
    assert secret_fields({}) == set()


# defaults go through the check a run's values go through


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"type": "integer", "default": 3.0}, "the default 3.0 is not an integer"),
        ({"type": "integer", "minimum": 5, "default": 3}, "the default 3 must be at least 5"),
        ({"type": "string", "pattern": "^[a-z]+$", "default": "A"}, "does not match the pattern"),
        ({"type": "string", "format": "date", "default": "2024-02-30"}, "must be a date"),
        (
            {"type": "array", "items": {"type": "string"}, "maxItems": 1, "default": ["a", "b"]},
            "must have at most 1 item",
        ),
    ],
)
def test_a_default_a_run_would_be_refused_is_refused_by_the_schema(spec, words):
    from scriptdeck.catalog.parameters import ParameterErrors, validate_parameters

    schema = {"type": "object", "properties": {"a": spec}}
    problems = check_schema(schema)

    assert any(words in problem for problem in problems), problems
    given = {"a": spec["default"]}
    with pytest.raises(ParameterErrors):
        validate_parameters(schema, given)


def test_an_inferred_float_default_of_an_int_parameter_is_dropped(tmp_path):
    signature = inferred(tmp_path, "retries: int = 3.0")

    assert signature.schema["properties"]["retries"] == {"type": "integer"}
    assert any("'retries'" in p and "not an integer" in p for p in signature.problems)
