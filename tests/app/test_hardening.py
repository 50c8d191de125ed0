"""Hardening: no shell, security headers, open redirects, request limits, confined paths.

Every refused request is also checked for "nothing written": no execution, no run in the
audit log, nothing sent to the broker.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from scriptdeck.access.models import AuditEvent
from scriptdeck.catalog.models import Script
from scriptdeck.executions.models import TaskExecution

SRC = Path(__file__).resolve().parents[2] / "src"
EXECUTE = "/myapp/api/execute-script/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def nothing_written(broker):
    """Assert, after the test, that no execution, run event or broker message appeared."""
    scripts = Script.objects.count()
    yield
    assert TaskExecution.objects.count() == 0
    assert not AuditEvent.objects.filter(action="execution.run").exists()
    assert broker == []
    assert Script.objects.count() == scripts


def post_raw(client, url: str, body: bytes, content_type: str = "application/json"):
    return client.generic("POST", url, body, content_type=content_type)


# --- no shell ---------------------------------------------------------------------------------


def test_no_source_file_runs_a_shell():
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 20  # the tree was found
    pattern = re.compile(r"shell\s*=\s*True")
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_no_source_file_calls_os_system_or_popen():
    pattern = re.compile(r"\bos\.(system|popen)\(")
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- security headers -------------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


@pytest.mark.parametrize(
    ("url", "signed_in"),
    [
        ("/api/auth/me/", False),
        ("/api/scripts/", True),
        ("/api/no-such-route/", True),
        ("/admin/login/", False),
        ("/healthz", False),
    ],
)
def test_every_answer_carries_the_security_headers(db, admin_user, url, signed_in):
    client = Client()
    if signed_in:
        client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code < 500
    csp = response.headers.get("Content-Security-Policy")
    assert csp, f"no CSP on {url}"
    directives = csp_directives(csp)
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src is not None
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert directives.get("frame-ancestors") == ["'none'"]
    assert directives.get("object-src") == ["'none'"]
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "same-origin"
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_the_api_answers_json_only(admin_client):
    response = admin_client.get("/api/scripts/", HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 406)
    if response.status_code == 200:
        assert response["Content-Type"].startswith("application/json")


# --- open redirects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "answered"),
    [
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("///evil.example", "/"),
        ("http://evil.example/history", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("https://testserver.evil.example/", "/"),
        ("/history?x=1", "/history?x=1"),
        ("/executions/5/", "/executions/5/"),
        ("", "/"),
    ],
)
def test_login_keeps_next_only_when_it_stays_on_the_site(alice, given, answered):
    response = APIClient().post(
        "/api/auth/login/",
        {"username": "alice", "password": "alice-pass-1", "next": given},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["next"] == answered


@pytest.mark.parametrize("given", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_the_admin_login_refuses_to_redirect_off_site(db, given):
    get_user_model().objects.create_superuser("root", "", "root-pass-1")
    response = Client().post(
        f"/admin/login/?next={given}",
        {"username": "root", "password": "root-pass-1", "next": given},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


# --- request limits ---------------------------------------------------------------------------


def big_submission(size: int) -> bytes:
    return json.dumps({"script": "scan_dev_update", "parameters": {"blob": "x" * size}}).encode()


@pytest.mark.parametrize(
    "url", ["/api/executions/", EXECUTE, "/api/auth/login/", "/api/tokens/", "/api/auth/token/"]
)
def test_a_body_over_the_limit_is_refused_with_413(
    synced, alice_client, settings, nothing_written, url
):
    settings.SCRIPTDECK_MAX_BODY_BYTES = 2048
    response = post_raw(alice_client, url, big_submission(4096))
    assert response.status_code == 413, response.content
    assert not AuditEvent.objects.exists()


def test_a_body_under_the_limit_is_accepted(
    synced, alice_client, settings, broker, django_capture_on_commit_callbacks
):
    settings.SCRIPTDECK_MAX_BODY_BYTES = 2048
    with django_capture_on_commit_callbacks(execute=True):
        response = post_raw(alice_client, "/api/executions/", big_submission(1024))
    assert response.status_code == 202, response.content
    assert len(broker) == 1


def nested(depth: int) -> bytes:
    inner = "[" * depth + "]" * depth
    return f'{{"script": "scan_dev_update", "parameters": {{"deep": {inner}}}}}'.encode()


@pytest.mark.parametrize("depth", [40, 100_000])
@pytest.mark.parametrize("url", ["/api/executions/", EXECUTE])
def test_deeply_nested_json_is_refused_with_400(synced, alice_client, nothing_written, url, depth):
    if url == EXECUTE:
        body = nested(depth).replace(b'"script"', b'"script_name"', 1)
    else:
        body = nested(depth)
    response = post_raw(alice_client, url, body)
    assert response.status_code == 400, response.content[:500]


def test_moderately_nested_json_is_accepted(
    synced, alice_client, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_raw(alice_client, "/api/executions/", nested(10))
    assert response.status_code == 202, response.content


@pytest.mark.parametrize("url", ["/api/executions/", EXECUTE, "/api/auth/login/"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"script": "scan_dev_update", "page_context": "\xff\xfe"}',
        '{"script": "scan_dev_update", "page_context": "caf\u00e9"}'.encode("latin-1"),
        b'{"script": "scan_dev_update", "page_context": "\xed\xa0\x80"}',  # a lone surrogate
    ],
    ids=["invalid-bytes", "latin-1", "surrogate"],
)
def test_a_body_that_is_not_utf8_is_refused_with_400(
    synced, alice_client, nothing_written, url, body
):
    response = post_raw(alice_client, url, body)
    assert response.status_code == 400, response.content


def test_too_many_parameters_are_refused_with_400(synced, alice_client, settings, nothing_written):
    settings.SCRIPTDECK_MAX_PARAMETERS = 10
    body = {"script": "scan_dev_update", "parameters": {f"p{i}": i for i in range(11)}}
    response = alice_client.post("/api/executions/", body, format="json")
    assert response.status_code == 400
    assert "parameters" in response.json()


# --- paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"script_name": "x", "script_path": "../x"},
        {"script_name": "x", "script_path": "../../../../etc/passwd"},
        {"script_name": "x", "script_path": "/etc/passwd"},
        {"script_name": "x", "script_path": "/bin/sh"},
        {"script_name": "x", "script_path": "fails.py\x00"},
        {"script_name": "x", "script_path": "fails.py\x00.sh"},
        {"script_name": "x", "script_path": "ops/../../fails.py"},
        {"script_name": "x", "script_path": "ops"},
        {"script_name": "x", "script_path": "notes.txt"},
        {"script_name": "../fails"},
        {"script_name": "/etc/passwd"},
        {"script_name": "fails\x00"},
    ],
    ids=lambda body: repr(body.get("script_path", body["script_name"])),
)
def test_compat_paths_that_leave_the_folder_are_refused(
    synced, alice_client, nothing_written, body
):
    response = alice_client.post(EXECUTE, body, format="json")
    assert 400 <= response.status_code < 500, response.content
    assert "error" in response.json()


def test_a_refused_path_does_not_tell_whether_a_file_exists_outside_the_folder(
    synced, alice_client, tmp_path, nothing_written
):
    """Refusing ``/etc/passwd`` differently from ``/etc/no-such-file`` lets any user who may
    run a script map the server's file system."""
    present = tmp_path / "present.txt"
    present.write_text("x")
    absent = tmp_path / "absent.txt"
    answers = {}
    for path in (present, absent):
        response = alice_client.post(
            EXECUTE, {"script_name": "x", "script_path": str(path)}, format="json"
        )
        assert response.status_code == 400
        answers[path] = json.dumps(response.json()).replace(str(path), "<path>")
    assert answers[present] == answers[absent]


# --- malformed identifiers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/executions/", {"script": "²"}),
        ("post", "/api/executions/", {"script": "9" * 30}),
        ("get", "/api/executions/?script=²", None),
        ("get", "/api/executions/?script=" + "9" * 30, None),
        ("get", "/myapp/api/script-task-result/?execution_id=²", None),
        ("get", "/myapp/api/script-task-result/?execution_id=" + "9" * 30, None),
        ("post", EXECUTE, {"script_id": "²"}),
        ("post", EXECUTE, {"script_id": "9" * 30}),
        ("get", "/api/executions/1/output/?after=²", None),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_malformed_identifiers_are_a_client_error_not_a_crash(
    synced, alice_client, nothing_written, method, url, body
):
    alice_client.raise_request_exception = False
    if method == "post":
        response = alice_client.post(url, body, format="json")
    else:
        response = alice_client.get(url)
    if "?script=" in url:
        # A filter value that is no id is a name: no script has it, so nothing matches.
        assert response.status_code == 200 and response.json()["count"] == 0
        return
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
