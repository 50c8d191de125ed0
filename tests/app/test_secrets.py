"""Secret parameters and script variables: the script gets them, nobody else ever sees them.

The script below is as careless as a script can be: it prints its password to stdout and
stderr, splits it across two flushed writes, prints it JSON-escaped, returns it in its
result and in its message. It also prints a secret variable. What it was given is proven
by digests it returns; that nothing shows the values is checked everywhere they could
land: the API, the stored rows, the live events, the audit log and the admin.
"""

from __future__ import annotations

import hashlib
import html
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from scriptdeck.access.models import AuditEvent
from scriptdeck.api import events
from scriptdeck.catalog.models import Script, ScriptVariable
from scriptdeck.catalog.registry import sync
from scriptdeck.executions.models import ExecutionEvent, ResultRecord, Status, TaskExecution
from scriptdeck.security.crypto import decrypt_json, decrypt_text, encrypt_text
from scriptdeck.worker.execute import execute

from .conftest import write_script

MASK = "••••"
# A quote, a backslash and a non-ASCII letter: its JSON-escaped forms differ from it.
PASSWORD = 'Pa"ss\\wörd-7Q9zK4'
TOKEN = "tok-Var1able-Secr3t-55"
REGION = "eu-region-plain-77"  # a variable that is not secret: shown as printed

CARELESS = '''
"""Signs in somewhere, printing everything it should not."""
import hashlib
import json
import os
import sys
import time

PARAMETERS = {
    "password": {"type": "string", "secret": True, "required": True},
    "host": {"type": "string", "required": True},
    "port": {"type": "integer", "default": 22},
}

params = json.loads(os.environ["SCRIPT_PARAMETERS"])
password = params["password"]
token = os.environ["API_TOKEN"]
half = len(password) // 2

print("password:", password, flush=True)
print("password on stderr:", password, file=sys.stderr, flush=True)
# Split across two writes, each flushed; the pause lets the worker read them apart.
sys.stdout.write("split: " + password[:half])
sys.stdout.flush()
time.sleep(0.3)
sys.stdout.write(password[half:] + "\\n")
sys.stdout.flush()
sys.stderr.write("split: " + password[:half])
sys.stderr.flush()
time.sleep(0.3)
sys.stderr.write(password[half:] + "\\n")
sys.stderr.flush()
print("as json:", json.dumps({"password": password}), flush=True)
print("token:", token, "region:", os.environ["REGION"], flush=True)


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


result = {
    "status": "success",
    "message": "signed in to " + params["host"] + " with " + password,
    "echo": password,
    "token": token,
    "password_length": len(password),
    "password_sha256": digest(password),
    "token_sha256": digest(token),
    "host": params["host"],
    "port": params["port"],
}
with open(os.environ["SCRIPT_RESULT_FILE"], "w", encoding="utf-8") as handle:
    json.dump(result, handle)
'''


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def forms(secret: str) -> set[str]:
    """The secret as printed, JSON-escaped (both ways) and HTML-escaped."""
    plain = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    return (
        plain | {html.escape(form) for form in plain} | {html.escape(form, False) for form in plain}
    )


def assert_hidden(text: str, where: str, secrets: tuple[str, ...] = (PASSWORD, TOKEN)) -> None:
    for secret in secrets:
        for form in forms(secret):
            assert form not in text, f"{form!r} shows in {where}"


def assert_hidden_in(value: object, where: str, secrets: tuple[str, ...] = (PASSWORD, TOKEN)):
    for ascii_only in (True, False):
        assert_hidden(json.dumps(value, ensure_ascii=ascii_only, default=str), where, secrets)


def add_variables(script: Script) -> None:
    ScriptVariable.objects.create(
        script=script, name="API_TOKEN", value_encrypted=encrypt_text(TOKEN), is_secret=True
    )
    ScriptVariable.objects.create(
        script=script, name="REGION", value_encrypted=encrypt_text(REGION), is_secret=False
    )


@pytest.fixture
def careless(synced, scripts_dir) -> Script:
    write_script(scripts_dir, "careless.py", CARELESS)
    sync()
    script = Script.objects.get(name="careless")
    assert script.schema_source == "declared", script.schema_problems
    add_variables(script)
    return script


def submit(client, capture, **body):
    with capture(execute=True):
        return client.post("/api/executions/", {"script": "careless", **body}, format="json")


@pytest.fixture
def ran(careless, alice_client, broker, django_capture_on_commit_callbacks) -> TaskExecution:
    response = submit(
        alice_client,
        django_capture_on_commit_callbacks,
        parameters={"password": PASSWORD, "host": "db1"},
    )
    assert response.status_code == 202, response.content
    assert_hidden(response.content.decode(), "the submission's answer")
    assert response.json()["parameters"] == {"password": MASK, "host": "db1", "port": 22}
    assert len(broker) == 1
    assert execute(response.json()["id"]) == "finished"
    return TaskExecution.objects.get(pk=response.json()["id"])


def test_the_script_receives_its_secrets(ran):
    assert ran.status == Status.SUCCESS, (ran.failure_reason, ran.error_message)
    assert ran.result["password_length"] == len(PASSWORD)
    assert ran.result["password_sha256"] == sha256(PASSWORD)
    assert ran.result["token_sha256"] == sha256(TOKEN)
    assert ran.result["host"] == "db1"
    assert ran.result["port"] == 22  # the default reached the script


def test_secrets_are_stored_apart_and_encrypted(ran):
    assert ran.parameters == {"password": MASK, "host": "db1", "port": 22}
    assert ran.secret_parameters
    assert_hidden(ran.secret_parameters, "the encrypted column")
    assert decrypt_json(ran.secret_parameters) == {"password": PASSWORD}
    for variable in ScriptVariable.objects.all():
        assert_hidden(variable.value_encrypted, "a variable's column", (TOKEN, REGION))
    assert decrypt_text(ScriptVariable.objects.get(name="API_TOKEN").value_encrypted) == TOKEN


def test_printed_and_returned_secrets_are_masked_in_what_is_stored(ran):
    assert ran.result["echo"] == MASK
    assert ran.result["token"] == MASK
    assert ran.result["message"] == f"signed in to db1 with {MASK}"
    assert f"password: {MASK}" in ran.stdout
    assert f"split: {MASK}" in ran.stdout  # masked whole, not half shown and half hidden
    assert f"split: {MASK}" in ran.stderr
    assert f"token: {MASK} region: {REGION}" in ran.stdout  # a plain variable is not masked
    row = TaskExecution.objects.filter(pk=ran.pk).values().get()
    row.pop("secret_parameters")
    assert_hidden_in(row, "the execution row")
    for field in ("stdout", "stderr", "error_message"):
        assert_hidden(getattr(ran, field) or "", f"TaskExecution.{field}")


def test_live_output_chunks_never_hold_a_secret_even_split_across_writes(ran):
    chunks = list(ExecutionEvent.objects.filter(execution=ran).order_by("seq"))
    assert chunks
    for chunk in chunks:
        assert_hidden(chunk.text, f"chunk {chunk.seq}")
        assert_hidden_in(chunk.data, f"chunk {chunk.seq} data")
    for stream in ("stdout", "stderr"):
        joined = "".join(c.text for c in chunks if c.kind == stream)
        assert_hidden(joined, f"the joined {stream} chunks")
        assert f"split: {MASK}" in joined
    # What the SSE endpoint sends is read from the same rows.
    assert_hidden_in(events.read_events(ran.pk, 0), "the event stream's output")
    assert_hidden_in(events.read_record(ran.pk), "the event stream's end record")


def test_the_result_record_holds_no_secret(ran):
    record = ResultRecord.objects.get(execution=ran)
    assert_hidden_in(ResultRecord.objects.filter(pk=record.pk).values().get(), "the record")
    assert json.loads(record.scandevresult_content)["password_sha256"] == sha256(PASSWORD)
    assert record.script_output == f"signed in to db1 with {MASK}"


def test_the_api_never_shows_a_secret(ran, alice_client, admin_client):
    pk = ran.pk
    for client in (alice_client, admin_client):
        for url in (
            f"/api/executions/{pk}/",
            f"/api/executions/{pk}/output/",
            "/api/executions/",
            "/api/results/",
            f"/api/results/{ResultRecord.objects.get(execution=ran).pk}/",
            f"/api/results/{ResultRecord.objects.get(execution=ran).pk}/download/",
            f"/myapp/api/script-task-result/?execution_id={pk}",
            f"/api/scripts/{ran.script_id}/",
            "/api/scripts/",
        ):
            response = client.get(url)
            assert response.status_code == 200, (url, response.content)
            assert_hidden(response.content.decode(), url)
        # A variable is never returned, secret or not (the script printed REGION itself,
        # so its output may show it; the script's own record must not).
        for url in (f"/api/scripts/{ran.script_id}/", "/api/scripts/"):
            assert_hidden(client.get(url).content.decode(), url, (TOKEN, REGION))
    detail = alice_client.get(f"/api/executions/{pk}/").json()
    assert detail["parameters"]["password"] == MASK
    output = alice_client.get(f"/api/executions/{pk}/output/").json()
    assert MASK in "".join(chunk["text"] for chunk in output["chunks"])
    audit = admin_client.get("/api/audit/")
    assert audit.status_code == 200
    assert_hidden(audit.content.decode(), "GET /api/audit/")


def test_the_audit_log_holds_no_secret(ran):
    events_ = list(AuditEvent.objects.all())
    assert events_
    for event in events_:
        assert_hidden_in(event.detail, f"audit {event.action} detail")
        assert_hidden(event.target_repr, f"audit {event.action} target")
    run = AuditEvent.objects.get(action="execution.run")
    assert run.detail["parameters"] == {"password": MASK, "host": "db1", "port": 22}


def test_the_admin_pages_never_show_a_secret(ran):
    superuser = get_user_model().objects.create_superuser("root", "", "root-pass-1")
    browser = Client()
    browser.force_login(superuser)
    record = ResultRecord.objects.get(execution=ran)
    run_event = AuditEvent.objects.get(action="execution.run")
    pages = [
        f"/admin/executions/taskexecution/{ran.pk}/change/",
        "/admin/executions/taskexecution/",
        f"/admin/catalog/script/{ran.script_id}/change/",
        f"/admin/executions/resultrecord/{record.pk}/change/",
        f"/admin/access/auditevent/{run_event.pk}/change/",
    ]
    for url in pages:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert_hidden(response.content.decode(), url)
    execution_page = browser.get(pages[0]).content.decode()
    assert MASK in execution_page or html.escape(MASK) in execution_page
    script_page = browser.get(pages[2]).content.decode()
    assert "API_TOKEN" in script_page  # the inline is there, its value is not
    assert_hidden(script_page, "the script's admin page", (REGION,))


def test_a_rerun_runs_with_the_same_secrets_without_showing_them(
    ran, alice_client, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/api/executions/{ran.pk}/rerun/")
    assert response.status_code == 202, response.content
    assert_hidden(response.content.decode(), "the re-run's answer")
    assert response.json()["parameters"] == {"password": MASK, "host": "db1", "port": 22}
    assert execute(response.json()["id"]) == "finished"
    again = TaskExecution.objects.get(pk=response.json()["id"])
    assert again.status == Status.SUCCESS
    assert again.result["password_sha256"] == sha256(PASSWORD)
    assert again.result["echo"] == MASK
    for event in AuditEvent.objects.all():
        assert_hidden_in(event.detail, f"audit {event.action}")


def test_a_failing_script_that_prints_its_secret_in_the_error_is_masked(
    synced, scripts_dir, alice_client, broker, django_capture_on_commit_callbacks
):
    write_script(
        scripts_dir,
        "leaky_failure.py",
        """
        import json, os, sys
        PARAMETERS = {"password": {"type": "string", "secret": True, "required": True}}
        password = json.loads(os.environ["SCRIPT_PARAMETERS"])["password"]
        raise SystemExit("could not sign in with " + password)
        """,
    )
    sync()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            "/api/executions/",
            {"script": "leaky_failure", "parameters": {"password": PASSWORD}},
            format="json",
        )
    assert response.status_code == 202, response.content
    execute(response.json()["id"])
    execution = TaskExecution.objects.get(pk=response.json()["id"])
    assert execution.status == Status.FAILURE
    assert f"could not sign in with {MASK}" in execution.stderr
    assert MASK in execution.error_message
    assert_hidden(execution.error_message, "error_message")
    assert_hidden(execution.stderr, "stderr")
    result = alice_client.get(f"/myapp/api/script-task-result/?execution_id={execution.pk}")
    assert result.json()["ready"] is True
    assert_hidden(result.content.decode(), "the compat result's error")


PIN = "pin-default-0420"


@pytest.mark.parametrize("source", ["declared", "override"])
def test_a_secret_default_is_as_hidden_as_a_given_secret(
    synced,
    scripts_dir,
    alice_client,
    admin_client,
    broker,
    django_capture_on_commit_callbacks,
    source,
):
    schema = {"pin": {"type": "string", "secret": True, "default": PIN}}
    declared = schema if source == "declared" else {}
    write_script(
        scripts_dir,
        "uses_pin.py",
        f"""
        import hashlib, json, os
        PARAMETERS = {declared!r}
        pin = json.loads(os.environ["SCRIPT_PARAMETERS"])["pin"]
        print("pin is", pin)
        with open(os.environ["SCRIPT_RESULT_FILE"], "w") as handle:
            json.dump({{"pin_sha256": hashlib.sha256(pin.encode()).hexdigest()}}, handle)
        """,
    )
    sync()
    script = Script.objects.get(name="uses_pin")
    if source == "override":
        full = {"type": "object", "properties": schema, "required": []}
        patched = admin_client.patch(
            f"/api/scripts/{script.pk}/", {"parameter_schema_override": full}, format="json"
        )
        assert patched.status_code == 200, patched.content
    shown = alice_client.get(f"/api/scripts/{script.pk}/")
    assert shown.json()["parameter_schema"]["properties"]["pin"]["secret"] is True
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/api/executions/", {"script": "uses_pin"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["parameters"] == {"pin": MASK}
    execute(response.json()["id"])
    execution = TaskExecution.objects.get(pk=response.json()["id"])
    assert execution.status == Status.SUCCESS, execution.error_message
    assert execution.result["pin_sha256"] == sha256(PIN)  # the default reached the script
    assert f"pin is {MASK}" in execution.stdout
    # Every place it could show, gathered first so one run names every leak.
    seen = {
        "GET /api/scripts/{id}/ (as a runner)": shown.content.decode(),
        "GET /api/scripts/ (as a runner)": alice_client.get("/api/scripts/").content.decode(),
        "GET /api/executions/{id}/": alice_client.get(
            f"/api/executions/{execution.pk}/"
        ).content.decode(),
        "GET /api/audit/": admin_client.get("/api/audit/").content.decode(),
        **{
            f"audit row {event.action}": json.dumps(event.detail, ensure_ascii=False)
            for event in AuditEvent.objects.all()
        },
    }
    leaks = sorted(where for where, text in seen.items() if any(f in text for f in forms(PIN)))
    assert not leaks, leaks


# --- script variables in the admin ----------------------------------------------------------


def script_form(script: Script, **inline: str) -> dict[str, str]:
    """The Script admin's change form as a browser posts it, with one new variable."""
    return {
        "description": script.description,
        "is_active": "on",
        "soft_time_limit": str(script.soft_time_limit),
        "time_limit": str(script.time_limit),
        "queue": script.queue,
        "max_concurrent": "",
        "max_retries": str(script.max_retries),
        "retry_on": json.dumps(script.retry_on),
        "retry_exit_codes": json.dumps(script.retry_exit_codes),
        "retry_backoff": str(script.retry_backoff),
        "parameter_schema": json.dumps(script.parameter_schema),
        "argv": json.dumps(script.argv),
        "variables-TOTAL_FORMS": "1",
        "variables-INITIAL_FORMS": "0",
        "variables-MIN_NUM_FORMS": "0",
        "variables-MAX_NUM_FORMS": "1000",
        "variables-0-id": "",
        "variables-0-script": str(script.pk),
        **{f"variables-0-{key}": value for key, value in inline.items()},
    }


def test_a_variable_set_in_the_admin_is_encrypted_audited_by_name_and_never_shown(
    synced, alice_client, admin_user
):
    script = Script.objects.get(name="scan_dev_update")
    browser = Client()
    browser.force_login(admin_user)
    url = f"/admin/catalog/script/{script.pk}/change/"
    response = browser.post(
        url, script_form(script, name="DB_PASSWORD", value=PASSWORD, is_secret="on")
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    variable = ScriptVariable.objects.get(script=script)
    assert variable.name == "DB_PASSWORD" and variable.is_secret
    assert_hidden(variable.value_encrypted, "the stored variable")
    assert decrypt_text(variable.value_encrypted) == PASSWORD
    event = AuditEvent.objects.get(action="script.variable")
    assert event.detail["set"] == ["DB_PASSWORD"]
    assert_hidden_in(event.detail, "the variable's audit row")
    page = browser.get(url)
    assert page.status_code == 200
    assert "DB_PASSWORD" in page.content.decode()
    assert_hidden(page.content.decode(), "the script's admin page")
    assert_hidden(alice_client.get(f"/api/scripts/{script.pk}/").content.decode(), "the API")


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "fields"),
    [
        ({"password": PASSWORD, "host": 5}, {"host"}),
        ({"password": PASSWORD, "host": "db1", "port": "22"}, {"port"}),
        ({"password": 1234, "host": "db1"}, {"password"}),
        ({"password": PASSWORD, "host": "db1", "nope": 1}, {"nope"}),
        ({"password": PASSWORD}, {"host"}),
        ({}, {"password", "host"}),
    ],
    ids=["wrong-type", "integer-as-string", "secret-not-a-string", "unknown", "missing", "none"],
)
@pytest.mark.parametrize("route", ["native", "compat"])
def test_invalid_parameters_are_refused_naming_each_field_and_nothing_is_written(
    careless, alice_client, broker, django_capture_on_commit_callbacks, parameters, fields, route
):
    with django_capture_on_commit_callbacks(execute=True):
        if route == "native":
            body = {"script": "careless", "parameters": parameters}
            response = alice_client.post("/api/executions/", body, format="json")
        else:
            body = {"script_name": "careless", "parameters": parameters}
            response = alice_client.post("/myapp/api/execute-script/", body, format="json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert set(data) - {"error"} == fields
    for field in fields:
        assert isinstance(data[field], list) and data[field]
        assert field in data["error"]
    assert_hidden(response.content.decode(), "the refusal")
    assert TaskExecution.objects.count() == 0
    assert not AuditEvent.objects.filter(action="execution.run").exists()
    assert broker == []


def test_defaults_are_filled_in_stored_and_given_values_win(
    careless, alice_client, broker, django_capture_on_commit_callbacks
):
    default = submit(
        alice_client,
        django_capture_on_commit_callbacks,
        parameters={"password": PASSWORD, "host": "db1"},
    )
    given = submit(
        alice_client,
        django_capture_on_commit_callbacks,
        parameters={"password": PASSWORD, "host": "db2", "port": 2222},
    )
    null = submit(
        alice_client,
        django_capture_on_commit_callbacks,
        parameters={"password": PASSWORD, "host": "db3", "port": None},
    )
    stored = {
        e.parameters["host"]: e.parameters["port"]
        for e in TaskExecution.objects.filter(
            pk__in=[r.json()["id"] for r in (default, given, null)]
        )
    }
    assert stored == {"db1": 22, "db2": 2222, "db3": 22}
    runs = AuditEvent.objects.filter(action="execution.run")
    assert sorted(e.detail["parameters"]["port"] for e in runs) == [22, 22, 2222]


def test_an_internal_error_s_message_holds_no_secret(
    careless, alice_client, broker, django_capture_on_commit_callbacks, monkeypatch
):
    import scriptdeck.worker.execute as worker_execute

    def broken(execution, path, run_dir, secret_values, variables):
        raise RuntimeError(f"cannot use {secret_values['password']}")

    monkeypatch.setattr(worker_execute, "build_spec", broken)
    with django_capture_on_commit_callbacks(execute=False):
        response = alice_client.post(
            "/api/executions/",
            {"script": "careless", "parameters": {"password": PASSWORD, "host": "db1"}},
            format="json",
        )
    assert response.status_code == 202, response.content
    with pytest.raises(RuntimeError):
        execute(response.json()["id"])
    failed = TaskExecution.objects.get(pk=response.json()["id"])
    assert failed.failure_reason == "internal_error"
    assert "cannot use" in failed.error_message
    assert PASSWORD not in failed.error_message
