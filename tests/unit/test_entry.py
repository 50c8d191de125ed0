"""The entrypoint: a script's main(...) called with the run's parameters, its return the result."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from scriptdeck.compat import sdk_pythonpath
from scriptdeck.runner import RunSpec, build_environment, command_for, run
from scriptdeck.runner.spec import ENTRY_FILE


def write_script(folder: Path, body: str, name: str = "job.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def run_entry(
    script: Path, *args: str, parameters: object = None, **variables: str
) -> subprocess.CompletedProcess:
    # -S keeps site-packages (and the editable install of scriptdeck) out of the child: only
    # the compat folder on PYTHONPATH provides the SDK, as in a real run.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": sdk_pythonpath(),
        "PYTHONIOENCODING": "utf-8",
        "SCRIPT_RESULT_FILE": str(script.parent / "result.json"),
        "SCRIPT_PARAMETERS": json.dumps(parameters if parameters is not None else {}),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-S", ENTRY_FILE, str(script), *args],
        cwd=script.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def result_of(script: Path) -> object:
    return json.loads((script.parent / "result.json").read_text(encoding="utf-8"))


ECHO = """
def main(host: str, retries: int = 3):
    print("working on", host)
    return {"host": host, "retries": retries}
"""


def test_it_calls_main_with_the_parameters_as_keyword_arguments(tmp_path):
    script = write_script(tmp_path, ECHO)

    done = run_entry(script, parameters={"host": "db1", "retries": 5})

    assert done.returncode == 0, done.stderr
    assert result_of(script) == {"host": "db1", "retries": 5}
    printed = json.dumps({"host": "db1", "retries": 5}, ensure_ascii=True, indent=2)
    assert done.stdout == f"working on db1\n{printed}\n"


def test_main_defaults_apply_and_param_arguments_override_the_environment(tmp_path):
    script = write_script(tmp_path, ECHO)

    done = run_entry(script, "--param", "host=db2", parameters={"host": "db1"})

    assert done.returncode == 0, done.stderr
    assert result_of(script) == {"host": "db2", "retries": 3}


def test_parameters_main_does_not_accept_are_left_out(tmp_path):
    script = write_script(tmp_path, ECHO)

    done = run_entry(script, parameters={"host": "db1", "unknown": True})

    assert done.returncode == 0, done.stderr
    assert result_of(script) == {"host": "db1", "retries": 3}


def test_kwargs_receives_every_parameter(tmp_path):
    script = write_script(
        tmp_path,
        """
        def main(host, **rest):
            return {"host": host, "rest": rest}
        """,
    )

    done = run_entry(script, parameters={"host": "h", "a": 1, "b": [True, None]})

    assert done.returncode == 0, done.stderr
    assert result_of(script) == {"host": "h", "rest": {"a": 1, "b": [True, None]}}


def test_returning_none_gives_a_null_result(tmp_path):
    script = write_script(tmp_path, "def main():\n    pass\n")

    done = run_entry(script)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "result.json").read_text(encoding="utf-8") == "null"
    assert done.stdout == "null\n"


def test_values_json_cannot_hold_are_written_as_text(tmp_path):
    script = write_script(
        tmp_path,
        """
        import datetime

        def main():
            return {"day": datetime.date(2024, 5, 1), "items": ["a"]}
        """,
    )

    done = run_entry(script)

    assert done.returncode == 0, done.stderr
    assert result_of(script) == {"day": "2024-05-01", "items": ["a"]}


def test_an_exception_in_main_exits_1_with_an_error_result_and_the_traceback(tmp_path):
    script = write_script(
        tmp_path,
        """
        def main(n: int):
            raise ValueError(f"bad n {n}")
        """,
    )

    done = run_entry(script, parameters={"n": 7}, SCRIPT_NAME="broken")

    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ValueError: bad n 7" in done.stderr
    result = result_of(script)
    assert result["status"] == "error"
    assert result["error_type"] == "ValueError"
    assert result["script_name"] == "broken"
    assert "bad n 7" in result["message"]
    assert json.loads(done.stdout) == result


def test_an_exception_at_the_top_level_exits_1_with_an_error_result(tmp_path):
    script = write_script(tmp_path, "raise KeyError('boom')\ndef main():\n    pass\n")

    done = run_entry(script)

    assert done.returncode == 1
    assert "KeyError" in done.stderr
    assert result_of(script)["error_type"] == "KeyError"


def test_an_error_result_returned_by_main_exits_1(tmp_path):
    script = write_script(
        tmp_path, "def main():\n    return {'status': 'error', 'message': 'nope'}\n"
    )

    done = run_entry(script)

    assert done.returncode == 1
    assert result_of(script) == {"status": "error", "message": "nope"}


def test_system_exit_in_main_keeps_its_code(tmp_path):
    script = write_script(tmp_path, "import sys\ndef main():\n    sys.exit(4)\n")

    done = run_entry(script)

    assert done.returncode == 4
    assert done.stderr == ""
    assert not (tmp_path / "result.json").exists()


def test_a_missing_required_parameter_exits_2_with_a_clear_message(tmp_path):
    script = write_script(tmp_path, ECHO)

    done = run_entry(script, parameters={"retries": 1})

    assert done.returncode == 2
    assert "main() needs the parameter host, which this run did not give" in done.stderr
    assert "Traceback" not in done.stderr
    assert "working on" not in done.stdout
    assert result_of(script)["status"] == "error"


def test_a_script_without_main_exits_2(tmp_path):
    script = write_script(tmp_path, "main = 'not a function'\nprint('top level ran')\n")

    done = run_entry(script)

    assert done.returncode == 2
    assert done.stdout.startswith("top level ran\n")
    assert "job.py defines no main(...) function to call" in done.stderr


def test_the_file_runs_as_main_with_its_own_argv_and_folder_first_on_the_path(tmp_path):
    (tmp_path / "helper_mod.py").write_text("VALUE = 'from beside the script'\n")
    script = write_script(
        tmp_path,
        """
        import sys
        import helper_mod

        SEEN = {"name": __name__, "argv": list(sys.argv), "path0": sys.path[0],
                "file": __file__}

        def main():
            return dict(SEEN, helper=helper_mod.VALUE)
        """,
    )

    done = run_entry(script, "--verbose", "--param", "x=1")

    assert done.returncode == 0, done.stderr
    assert result_of(script) == {
        "name": "__main__",
        "argv": [str(script), "--verbose", "--param", "x=1"],
        "path0": os.path.realpath(tmp_path),
        "file": str(script),
        "helper": "from beside the script",
    }


def test_entry_file_is_python_3_8_and_importable_by_path_only():
    source = Path(ENTRY_FILE).read_text(encoding="utf-8")

    ast.parse(source, ENTRY_FILE, feature_version=(3, 8))
    assert Path(ENTRY_FILE).is_absolute()
    assert Path(ENTRY_FILE).parent == Path(sdk_pythonpath()).parent.parent / "sdk"


def test_command_for_starts_the_entry_file_only_for_python_entrypoints(tmp_path):
    script = write_script(tmp_path, ECHO)
    shell = write_script(tmp_path, "echo '{}'\n", name="job.sh")

    assert command_for(script, entrypoint=True) == [sys.executable, ENTRY_FILE, str(script)]
    assert command_for(script, "/opt/py", entrypoint=True) == ["/opt/py", ENTRY_FILE, str(script)]
    assert command_for(script) == [sys.executable, str(script)]
    assert command_for(shell, entrypoint=True) == ["bash", str(shell)]


def run_with_the_runner(tmp_path: Path, script: Path, parameters: dict):
    result_file = tmp_path / "result.json"
    env = build_environment(
        parameters=parameters,
        page_context="",
        script_name="job",
        execution_id="1",
        result_file=str(result_file),
        pythonpath=sdk_pythonpath(),
    )
    spec = RunSpec(
        argv=command_for(script, entrypoint=True),
        cwd=str(tmp_path),
        env=env,
        script_name="job",
        result_file=str(result_file),
    )
    return run(spec)


def test_the_runner_reads_what_main_returns(tmp_path):
    script = write_script(tmp_path, ECHO)

    outcome = run_with_the_runner(tmp_path, script, {"host": "db1"})

    assert outcome.succeeded, outcome.error_message
    assert outcome.result_source == "file"
    assert outcome.result["host"] == "db1"
    assert outcome.result["retries"] == 3


def test_the_runner_reads_none_as_a_null_result(tmp_path):
    script = write_script(tmp_path, "def main():\n    print('no result')\n")

    outcome = run_with_the_runner(tmp_path, script, {})

    assert outcome.succeeded, outcome.error_message
    assert outcome.result_source == "file"
    assert outcome.result is None
