"""Scripts that declare their dependencies (PEP 723), run by a real server and its worker.

The package used, tomli-w, is small, pure Python, and not in the server's own environment,
so a script can only import it from the environment built for it. The environments live
under the test server's own home.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import SANDBOXED, ProcessStack, Server, start_serve, write_scripts

PACKAGE = "tomli_w"

USES_TOMLI_W = """\
# /// script
# requires-python = ">=3.8"
# dependencies = ["tomli-w>=1.0"]
# ///
import importlib.util, json, sys
import tomli_w
print(json.dumps({
    "toml": tomli_w.dumps({"answer": 42}),
    "prefix": sys.prefix,
    "sees_django": importlib.util.find_spec("django") is not None,
}))
"""

# The same set, spelled differently: it shares the environment.
SAME_SET = """\
# /// script
# dependencies = [
#   "Tomli_W >= 1.0",
# ]
# requires-python = '>=3.8'
# ///
import json, sys, tomli_w
print(json.dumps({"toml": tomli_w.dumps({"b": True}), "prefix": sys.prefix}))
"""

NO_SUCH_PACKAGE = """\
# /// script
# dependencies = ["scriptdeck-no-such-package-zz"]
# ///
print("never printed")
"""

TOO_NEW_PYTHON = """\
# /// script
# requires-python = ">=9.0"
# dependencies = ["tomli-w"]
# ///
print("never printed")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    assert importlib.util.find_spec(PACKAGE) is None, f"{PACKAGE} must not be installed here"
    base = tmp_path_factory.mktemp("dependencies")
    stack = ProcessStack(base)
    scripts = write_scripts(
        base / "scripts",
        {
            "uses_tomli_w.py": USES_TOMLI_W,
            "same_set.py": SAME_SET,
            "no_such_package.py": NO_SUCH_PACKAGE,
            "too_new_python.py": TOO_NEW_PYTHON,
        },
    )
    try:
        yield start_serve(stack, scripts, env=SANDBOXED)
    finally:
        stack.close()


def stderr_chunks(server: Server, execution_id: int) -> list[str]:
    chunks = server.api.get(f"/api/executions/{execution_id}/output/").json()["chunks"]
    return [c["text"] for c in chunks if c["stream"] == "stderr"]


def test_a_script_runs_in_its_own_environment_and_a_second_run_reuses_it(server: Server):
    first = server.api.wait(server.api.submit("uses_tomli_w")["id"], timeout=180)
    assert first["status"] == "SUCCESS", first
    built = first["details"]["dependencies"]
    assert built["packages"] == ["tomli-w>=1.0"]
    assert built["built"] is True
    environment = server.home / "envs" / built["environment"]
    assert first["result"]["toml"] == "answer = 42\n"
    assert first["result"]["prefix"] == str(environment)
    assert first["result"]["sees_django"] is False  # not the server's site-packages
    # The build was shown on the run's stderr, before anything of the script's own.
    live = "".join(stderr_chunks(server, first["id"]))
    assert live.startswith("[dependencies] building environment ")
    assert "tomli-w" in live and "Installed 1 package" in live
    assert first["stderr"].startswith("[dependencies] building environment ")

    second = server.api.wait(server.api.submit("uses_tomli_w")["id"], timeout=60)
    assert second["status"] == "SUCCESS", second
    reused = second["details"]["dependencies"]
    assert (reused["built"], reused["environment"]) == (False, built["environment"])
    assert reused["seconds"] < built["seconds"]
    assert second["result"]["prefix"] == str(environment)
    assert "".join(stderr_chunks(server, second["id"])).startswith(
        "[dependencies] using environment "
    )


def test_scripts_with_the_same_set_share_it(server: Server):
    first = server.api.wait(server.api.submit("uses_tomli_w")["id"], timeout=180)
    twin = server.api.wait(server.api.submit("same_set")["id"], timeout=60)
    assert twin["status"] == "SUCCESS", twin
    shared = twin["details"]["dependencies"]
    assert shared["environment"] == first["details"]["dependencies"]["environment"]
    assert shared["built"] is False
    assert (twin["result"]["toml"], twin["result"]["prefix"]) == (
        "b = true\n",
        first["result"]["prefix"],
    )


def test_an_environment_s_python_gets_a_warm_server_of_its_own(stack: ProcessStack):
    scripts = write_scripts(stack.base / "warm-scripts", {"same_set.py": SAME_SET})
    # A sandboxed run always starts cold (docs/architecture.md, "Warm starts"): warm starts
    # are what a server without the sandbox gives.
    warm = start_serve(
        stack,
        scripts,
        name="warm",
        env={"SCRIPTDECK_WARM_START": "true", "SCRIPTDECK_SANDBOX": "off"},
    )
    runs = [warm.api.wait(warm.api.submit("same_set")["id"], timeout=180) for _ in range(2)]
    for run in runs:
        assert run["status"] == "SUCCESS", run
        assert run["details"]["start"] == "warm"
        assert run["result"]["toml"] == "b = true\n"
        assert run["result"]["prefix"].startswith(str(warm.home / "envs"))
    assert [run["details"]["dependencies"]["built"] for run in runs] == [True, False]


def test_a_dependency_that_does_not_exist_fails_with_the_installers_sentence(server: Server):
    failed = server.api.wait(server.api.submit("no_such_package")["id"], timeout=180)
    assert failed["status"] == "FAILURE"
    assert failed["failure_reason"] == "dependencies_failed"
    message = failed["error_message"]
    assert message.startswith("Installing the script's dependencies failed (uv exited with")
    assert "scriptdeck-no-such-package-zz was not found in the package registry" in message
    assert failed["details"]["dependencies"]["failed"] is True
    assert "never printed" not in failed["stdout"]
    assert any("no-such-package" in text for text in stderr_chunks(server, failed["id"]))
    envs = Path(server.home / "envs")
    assert not (envs / failed["details"]["dependencies"]["environment"]).exists()
    assert not [p for p in envs.iterdir() if p.name.startswith(".build-")]


def test_a_requires_python_the_worker_lacks_fails_with_a_clear_sentence(server: Server):
    failed = server.api.wait(server.api.submit("too_new_python")["id"], timeout=60)
    assert (failed["status"], failed["failure_reason"]) == ("FAILURE", "dependencies_failed")
    assert failed["error_message"].startswith(
        "The script requires Python >=9.0 (its requires-python), but the worker's interpreter "
    )
