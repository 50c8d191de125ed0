"""Inline script metadata (PEP 723): what is read, and what becomes a problem sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptdeck.catalog.inline_metadata import (
    InlineMetadata,
    normalize_requirement,
    read_file,
    read_text,
)
from scriptdeck.worker.environments import environment_key

VALID = """\
#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = [
#   "Tomli_W >= 1.0",
#   "six",
#   "six",
# ]
# ///
import tomli_w
"""


def test_it_reads_dependencies_sorted_normalized_and_deduplicated() -> None:
    reading = read_text(VALID)
    assert reading.problems == []
    assert reading.metadata == InlineMetadata(("six", "tomli-w>=1.0"), ">=3.9")


def test_a_file_without_a_block_has_no_metadata_and_no_problem() -> None:
    reading = read_text("import os\n# a comment\nprint(1)\n")
    assert reading.metadata is None
    assert reading.problems == []


def test_a_block_of_another_type_is_not_the_script_block() -> None:
    reading = read_text('# /// pyproject\n# dependencies = ["six"]\n# ///\n')
    assert reading.metadata is None
    assert reading.problems == []


def test_the_last_closing_line_of_the_comment_run_ends_the_block() -> None:
    text = '# /// script\n# dependencies = ["six"]\n# note = """\n# ///\n# """\n# ///\nx = 1\n'
    reading = read_text(text)
    assert reading.problems == []
    assert reading.metadata is not None
    assert reading.metadata.dependencies == ("six",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '# /// script\n# dependencies = ["six"]\nimport six\n',
            "the '# /// script' block of line 1 has no closing '# ///' line",
        ),
        (
            'x = 1\n# /// script\n# dependencies = ["six"\n# ///\n',
            "the '# /// script' block of line 2 is not valid TOML",
        ),
        ('# /// script\n# dependencies = "six"\n# ///\n', "'dependencies' must be a list"),
        ("# /// script\n# requires-python = 3.11\n# ///\n", "'requires-python' must be a string"),
        ('# /// script\n# requires-python = "three"\n# ///\n', "is not a version range"),
        ('# /// script\n# dependencies = ["--index-url=x"]\n# ///\n', "is not a requirement"),
        (
            '# /// script\n# dependencies = ["x @ git+https://example.invalid/x.git"]\n# ///\n',
            "'x @ git+https://example.invalid/x.git' names a URL; only packages from the index",
        ),
        (
            '# /// script\n# dependencies = ["y @ file:///tmp/y"]\n# ///\n',
            "'y @ file:///tmp/y' names a URL; only packages from the index",
        ),
        (
            "# /// script\n# dependencies = []\n# ///\nx = 1\n"
            "# /// script\n# dependencies = []\n# ///\n",
            "more than one '# /// script' block (lines 1, 5)",
        ),
    ],
)
def test_what_cannot_be_used_is_a_problem_sentence_not_a_crash(text: str, expected: str) -> None:
    reading = read_text(text, "tool.py")
    assert reading.metadata is None
    assert len(reading.problems) == 1
    assert reading.problems[0].startswith("tool.py: ")
    assert expected in reading.problems[0]


def test_read_file_skips_files_that_are_not_python(tmp_path: Path) -> None:
    shell = tmp_path / "tool.sh"
    shell.write_text('# /// script\n# dependencies = ["six"]\n# ///\n')
    assert read_file(shell).metadata is None
    python = tmp_path / "tool.py"
    python.write_text(VALID)
    assert read_file(python).metadata == InlineMetadata(("six", "tomli-w>=1.0"), ">=3.9")


def test_a_requirement_has_one_spelling() -> None:
    assert normalize_requirement(" Python.Slugify>=8 ") == "python-slugify>=8"
    assert normalize_requirement("A_B[x] ; python_version<'3.12'") == (
        'a-b[x]; python_version < "3.12"'
    )


def test_the_environment_key_follows_the_set_and_the_interpreter() -> None:
    one = InlineMetadata(("six", "tomli-w>=1.0"), ">=3.9")
    key = environment_key(one, "cpython-3.11.7")
    assert len(key) == 64 and int(key, 16) >= 0
    # Same set read from a differently written block: same environment.
    assert environment_key(read_text(VALID).metadata, "cpython-3.11.7") == key  # type: ignore[arg-type]
    assert environment_key(InlineMetadata(("six",), ">=3.9"), "cpython-3.11.7") != key
    assert environment_key(InlineMetadata(one.dependencies, ">=3.10"), "cpython-3.11.7") != key
    assert environment_key(one, "cpython-3.12.1") != key
