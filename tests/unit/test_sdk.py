"""The script SDK: the source's result formats, parameters, exit codes and both import paths."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from scriptdeck import sdk
from scriptdeck.compat import sdk_pythonpath
from scriptdeck.sdk import ScriptBase

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scripts"
SDK_FILE = Path(sdk.__file__).resolve()
SCRIPT_ENVIRONMENT = (
    "SCRIPT_NAME",
    "SCRIPT_PARAMETERS",
    "PAGE_CONTEXT",
    "EXECUTION_ID",
    "SCRIPT_RESULT_FILE",
)


@pytest.fixture(autouse=True)
def clean_script_environment(monkeypatch):
    for name in SCRIPT_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "argv", ["/opt/scripts/nightly_report.py"])


def child_env(**variables: str) -> dict[str, str]:
    """A script's environment built from scratch: PATH, the compat folder, the given variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": sdk_pythonpath(),
        "PYTHONIOENCODING": "utf-8",
    }
    env.update(variables)
    return env


def run_python(argv: list[str], cwd: Path, **variables: str) -> subprocess.CompletedProcess:
    # -S keeps site-packages (and the editable install of scriptdeck) out of the child, so only
    # the compat folder can provide the SDK.
    return subprocess.run(
        [sys.executable, "-S", *argv],
        cwd=cwd,
        env=child_env(**variables),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def write_script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def as_source_prints_it(result: object) -> str:
    return json.dumps(result, ensure_ascii=True, indent=2) + "\n"


# ScriptBase attributes


def test_script_name_prefers_the_argument_then_script_name_variable(monkeypatch):
    monkeypatch.setenv("SCRIPT_NAME", "from_env")
    assert ScriptBase("given").script_name == "given"
    assert ScriptBase().script_name == "from_env"


def test_script_name_falls_back_to_the_main_file_stem():
    assert ScriptBase().script_name == "nightly_report"


def test_context_attributes_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SCRIPT_PARAMETERS", json.dumps({"target": "全部", "n": 2}))
    monkeypatch.setenv("PAGE_CONTEXT", "/scanDevUpdate")
    monkeypatch.setenv("EXECUTION_ID", "42")
    before = datetime.now().timestamp()

    script = ScriptBase()

    assert script.parameters == {"target": "全部", "n": 2}
    assert script.page_context == "/scanDevUpdate"
    assert script.execution_id == "42"
    assert before <= script.start_time <= datetime.now().timestamp()


def test_context_attributes_default_to_empty_when_not_given():
    script = ScriptBase()

    assert script.parameters == {}
    assert script.page_context == ""
    assert script.execution_id == ""


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', "3", "null", ""])
def test_parameters_are_empty_when_not_a_json_object(monkeypatch, raw):
    monkeypatch.setenv("SCRIPT_PARAMETERS", raw)
    assert ScriptBase().parameters == {}


def test_get_parameter_returns_the_value_or_the_default(monkeypatch):
    monkeypatch.setenv("SCRIPT_PARAMETERS", '{"target": "dev", "zero": 0}')
    script = ScriptBase()

    assert script.get_parameter("target", "all") == "dev"
    assert script.get_parameter("zero", 5) == 0
    assert script.get_parameter("missing", "all") == "all"
    assert script.get_parameter("missing") is None


def test_param_arguments_override_and_extend_the_parameters(monkeypatch):
    monkeypatch.setenv("SCRIPT_PARAMETERS", '{"target": "env", "kept": 1}')
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "tool.py",
            "--verbose",
            "--param",
            "target=cli",
            "--param=count=3",
            "--param",
            "flag=true",
            "--param",
            'quoted="x"',
            "--param",
            "words=hello world",
            "--param",
            "equation=a=b",
            "positional",
            "--param",
            "no_equals_sign",
            "--param",
        ],
    )

    assert ScriptBase().parameters == {
        "target": "cli",
        "kept": 1,
        "count": 3,
        "flag": True,
        "quoted": "x",
        "words": "hello world",
        "equation": "a=b",
    }


# Result formats


def test_success_result_has_the_source_format():
    script = ScriptBase("scanner_file")

    result = script.success_result("扫描完成", {"count": 1})

    assert list(result) == ["status", "message", "timestamp", "data", "metadata"]
    assert result["status"] == "success"
    assert result["message"] == "扫描完成"
    assert isinstance(result["timestamp"], float)
    assert result["data"] == {"count": 1}
    metadata = result["metadata"]
    assert list(metadata) == [
        "script_name",
        "execution_time",
        "execution_duration",
        "version",
        "method",
    ]
    assert metadata["script_name"] == "scanner_file"
    datetime.fromisoformat(metadata["execution_time"])
    assert 0 <= metadata["execution_duration"] < 60
    assert metadata["version"] == "1.0.0"
    assert metadata["method"] == "subprocess_execution"


def test_success_result_data_defaults_to_an_empty_object():
    assert ScriptBase("s").success_result("done")["data"] == {}


def test_error_result_has_the_source_format():
    result = ScriptBase("scanner_file").error_result("文件不存在")

    assert list(result) == [
        "status",
        "message",
        "timestamp",
        "script_name",
        "error_type",
        "execution_duration",
    ]
    assert result["status"] == "error"
    assert result["message"] == "文件不存在"
    assert isinstance(result["timestamp"], float)
    assert result["script_name"] == "scanner_file"
    assert result["error_type"] == "Error"
    assert 0 <= result["execution_duration"] < 60


def test_error_result_names_the_exception_class_or_the_given_type():
    script = ScriptBase("s")

    from_exception = script.error_result(FileNotFoundError("no such file"))
    from_type = script.error_result("bad input", error_type="ValidationError")

    assert from_exception["message"] == "no such file"
    assert from_exception["error_type"] == "FileNotFoundError"
    assert from_type["error_type"] == "ValidationError"


def test_run_with_error_handling_returns_what_the_function_returns():
    script = ScriptBase("s")
    assert script.run_with_error_handling(lambda s: {"seen": s.script_name}) == {"seen": "s"}


def test_run_with_error_handling_turns_an_exception_into_an_error_result(capsys):
    def main_logic(script):
        raise FileNotFoundError("文件不存在")

    result = ScriptBase("scanner_file").run_with_error_handling(main_logic)

    assert result["status"] == "error"
    assert result["message"] == "scanner_file执行出错: 文件不存在"
    assert result["error_type"] == "FileNotFoundError"
    assert "Traceback" in capsys.readouterr().err


# Output


def test_output_result_prints_ascii_json_indented_by_two(capsys):
    result = {"status": "success", "message": "扫描完成", "data": {"n": [1, 2]}}

    ScriptBase("s").output_result(result)

    assert capsys.readouterr().out == as_source_prints_it(result)


def test_output_result_writes_the_result_file_atomically_and_prints_too(
    monkeypatch, tmp_path, capsys
):
    result_file = tmp_path / "result.json"
    result_file.write_bytes(b"")
    monkeypatch.setenv("SCRIPT_RESULT_FILE", str(result_file))
    renames = []
    real_replace = os.replace

    def recording_replace(source, destination):
        renames.append((Path(source), Path(destination), Path(source).read_bytes()))
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", recording_replace)
    result = {"status": "success", "message": "扫描完成", "data": {}}

    ScriptBase("s").output_result(result)

    [(source, destination, written)] = renames
    assert source.parent == tmp_path and source != result_file
    assert destination == result_file
    assert json.loads(written) == result
    assert "扫描完成" in result_file.read_text(encoding="utf-8")
    assert json.loads(result_file.read_text(encoding="utf-8")) == result
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
    assert capsys.readouterr().out == as_source_prints_it(result)


def test_output_result_still_prints_when_the_result_file_cannot_be_written(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("SCRIPT_RESULT_FILE", str(tmp_path / "gone" / "result.json"))
    result = {"status": "success"}

    ScriptBase("s").output_result(result)

    captured = capsys.readouterr()
    assert captured.out == as_source_prints_it(result)
    assert "SCRIPT_RESULT_FILE" in captured.err


# create_simple_script and run, in a real child process


def test_create_simple_script_exits_0_and_prints_the_result_as_the_source_did(tmp_path):
    script = write_script(
        tmp_path,
        "ok.py",
        "from scriptdeck.sdk import create_simple_script\n"
        "def main_logic(script):\n"
        "    return script.success_result('处理完成', {'n': script.get_parameter('n')})\n"
        "create_simple_script('ok', main_logic)\n",
    )

    done = run_python([str(script)], tmp_path, SCRIPT_PARAMETERS='{"n": 7}')

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert done.stdout == as_source_prints_it(result)
    assert result["message"] == "处理完成"
    assert result["data"] == {"n": 7}
    assert result["metadata"]["script_name"] == "ok"


@pytest.mark.parametrize(
    "body",
    [
        "    return script.error_result('nope')\n",
        "    raise KeyError('missing')\n",
    ],
    ids=["error_result", "exception"],
)
def test_create_simple_script_exits_1_on_an_error_result(tmp_path, body):
    script = write_script(
        tmp_path,
        "bad.py",
        "from celery_app.script_base import create_simple_script\n"
        f"def main_logic(script):\n{body}"
        "create_simple_script('bad', main_logic)\n",
    )

    done = run_python([str(script)], tmp_path)

    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status"] == "error"
    assert result["script_name"] == "bad"


def test_create_simple_script_outputs_a_non_dict_result_as_json(tmp_path):
    script = write_script(
        tmp_path,
        "listing.py",
        "from scriptdeck.sdk import create_simple_script\n"
        "create_simple_script('listing', lambda script: ['a', 1])\n",
    )

    done = run_python([str(script)], tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout == as_source_prints_it(["a", 1])


def test_run_names_the_script_after_its_file_without_script_name(tmp_path):
    script = write_script(
        tmp_path,
        "weekly_cleanup.py",
        "from scriptdeck.sdk import run\nrun(lambda script: script.success_result('ok'))\n",
    )

    done = run_python([str(script)], tmp_path)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["metadata"]["script_name"] == "weekly_cleanup"


def test_create_simple_script_writes_the_result_file_when_asked(tmp_path):
    result_file = tmp_path / "out" / "result.json"
    result_file.parent.mkdir()
    script = write_script(
        tmp_path,
        "chatty.py",
        "from scriptdeck.sdk import create_simple_script\n"
        "def main_logic(script):\n"
        "    print('a log line', flush=True)\n"
        "    return script.success_result('完成')\n"
        "create_simple_script('chatty', main_logic)\n",
    )

    done = run_python([str(script)], tmp_path, SCRIPT_RESULT_FILE=str(result_file))

    assert done.returncode == 0, done.stderr
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert result["message"] == "完成"
    assert done.stdout == "a log line\n" + as_source_prints_it(result)
    assert [p.name for p in result_file.parent.iterdir()] == ["result.json"]


# The compat folder


def test_both_import_paths_work_with_only_the_compat_folder_on_pythonpath(tmp_path):
    probe = (
        "import json, celery_app.script_base as legacy, scriptdeck, scriptdeck.sdk as sdk\n"
        "try:\n"
        "    import django\n"
        "    leaked = True\n"
        "except ImportError:\n"
        "    leaked = False\n"
        "print(json.dumps({'package': scriptdeck.__file__, 'sdk': sdk.__file__,\n"
        "    'same': legacy.ScriptBase is sdk.ScriptBase\n"
        "        and legacy.create_simple_script is sdk.create_simple_script\n"
        "        and legacy.run is sdk.run,\n"
        "    'leaked': leaked}))\n"
    )

    done = run_python(["-c", probe], tmp_path)

    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    shim = Path(sdk_pythonpath()) / "scriptdeck" / "__init__.py"
    assert Path(seen["package"]).resolve() == shim.resolve()
    assert Path(seen["sdk"]).resolve() == SDK_FILE
    assert seen["same"] is True
    assert seen["leaked"] is False


def test_sdk_pythonpath_is_an_absolute_folder_with_both_packages():
    folder = Path(sdk_pythonpath())

    assert folder.is_absolute()
    assert (folder / "celery_app" / "script_base.py").is_file()
    assert (folder / "scriptdeck" / "__init__.py").is_file()


def test_sdk_and_compat_files_parse_as_python_3_8():
    files = [SDK_FILE, *Path(sdk_pythonpath()).rglob("*.py")]

    for file in files:
        ast.parse(file.read_text(encoding="utf-8"), str(file), feature_version=(3, 8))
    assert len(files) >= 4


# The example scripts, run as the runner runs them (cwd = the scripts folder)


def run_example(name: str, *args: str, **variables: str) -> subprocess.CompletedProcess:
    variables.setdefault("SCRIPT_NAME", Path(name).stem)
    return run_python([str(EXAMPLES / name), *args], EXAMPLES, **variables)


def test_scan_dev_update_echoes_its_parameters_and_page():
    done = run_example(
        "scan_dev_update.py",
        SCRIPT_PARAMETERS='{"target": "核心交换机"}',
        PAGE_CONTEXT="/scanDevUpdate",
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "success"
    assert result["message"] == "扫描完成"
    assert result["data"] == {
        "script_name": "scan_dev_update",
        "execution_context": "/scanDevUpdate",
        "processed_parameters": {"target": "核心交换机", "mode": "quick"},
    }


def test_scan_dev_update_runs_by_hand_with_param_arguments():
    done = run_python(
        [str(EXAMPLES / "scan_dev_update.py"), "--param", "target=x", "--param=mode=full"],
        EXAMPLES,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["metadata"]["script_name"] == "scan_dev_update"
    assert result["data"]["processed_parameters"] == {"target": "x", "mode": "full"}


def test_disk_usage_table_returns_a_row_per_file_system(tmp_path):
    done = run_example(
        "disk_usage_table.py", SCRIPT_PARAMETERS=json.dumps({"paths": [str(tmp_path), "/"]})
    )

    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert data["rows"]
    assert data["rows"][0]["path"] == str(tmp_path)
    for row in data["rows"]:
        assert list(row) == data["columns"]
        assert row["total_gib"] > 0
        assert 0 <= row["used_percent"] <= 100


def test_disk_usage_table_fails_for_a_missing_path(tmp_path):
    done = run_example(
        "disk_usage_table.py", SCRIPT_PARAMETERS=json.dumps({"paths": str(tmp_path / "nope")})
    )

    assert done.returncode == 1
    assert json.loads(done.stdout)["error_type"] == "FileNotFoundError"


def test_long_task_logs_each_step_and_writes_its_result_to_the_result_file(tmp_path):
    result_file = tmp_path / "result.json"

    done = run_example(
        "long_task.py",
        SCRIPT_PARAMETERS='{"steps": 3, "interval": 0}',
        SCRIPT_RESULT_FILE=str(result_file),
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" done")[0] for line in lines[:3]] == ["step 1/3", "step 2/3", "step 3/3"]
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert result["status"] == "success"
    assert result["data"]["steps"] == 3


def test_always_fails_exits_1_with_the_source_error_message():
    done = run_example("always_fails.py")

    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status"] == "error"
    assert result["message"] == "always_fails执行出错: this script fails on purpose"
    assert result["error_type"] == "RuntimeError"
    assert "Traceback" in done.stderr


def test_memory_hog_holds_the_memory_it_reports():
    done = run_example("memory_hog.py", SCRIPT_PARAMETERS='{"mb": 32, "seconds": 0}')

    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert data["mb"] == 32
    assert data["bytes"] == 32 * 1024 * 1024
    assert data["peak_rss_mb"] >= 32


def test_hello_sh_prints_only_a_json_result():
    done = subprocess.run(
        ["bash", str(EXAMPLES / "hello.sh")],
        cwd=EXAMPLES,
        env=child_env(
            SCRIPT_NAME="hello",
            SCRIPT_PARAMETERS=json.dumps({"name": "Zoë", "n": 1}, ensure_ascii=False),
            PAGE_CONTEXT="/tools",
        ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "success"
    assert result["message"] == "Hello, Zoë! (from hello)"
    assert result["data"]["parameters"] == {"name": "Zoë", "n": 1}
    assert result["data"]["page_context"] == "/tools"
    assert "Hello, Zoë!" in done.stderr


def test_hello_sh_replaces_parameters_that_are_not_an_object():
    done = subprocess.run(
        ["bash", str(EXAMPLES / "hello.sh")],
        cwd=EXAMPLES,
        env=child_env(SCRIPT_PARAMETERS="not json"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["data"]["parameters"] == {}
    assert result["data"]["script_name"] == "hello"


def test_every_example_has_a_one_line_description():
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix == ".py":
            docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            assert docstring and "\n" not in docstring.strip(), path.name
        elif path.suffix == ".sh":
            lines = path.read_text(encoding="utf-8").splitlines()
            assert lines[0].startswith("#!") and lines[1].startswith("# "), path.name
            assert os.access(path, os.X_OK), path.name
