"""Notifications: queued in the run's own transaction, sent once, signed, retried, recorded."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from scriptdeck.automation import delivery, notifications
from scriptdeck.automation.delivery import deliver_due
from scriptdeck.automation.models import NotificationDelivery, NotificationRule, Schedule
from scriptdeck.automation.notifications import sign, verify
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import sync
from scriptdeck.config import parse_networks
from scriptdeck.executions import services
from scriptdeck.executions.models import Status, TaskExecution, Trigger
from scriptdeck.security.crypto import decrypt_text, encrypt_text
from scriptdeck.worker.execute import execute

from .conftest import write_script

SECRET = "whsec-test-0123456789"
PASSWORD = "hunter2-Sup3r-S3cret-pw"
MASK = "••••"


@pytest.fixture(autouse=True)
def mail_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "deck@example.com"
    settings.SCRIPTDECK_PUBLIC_URL = "https://deck.example"
    settings.SCRIPTDECK_NOTIFY_ATTEMPTS = 5
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The local receiver stands in for a real one: its loopback address is allowed here.
    settings.SCRIPTDECK_ALLOW_PRIVATE_TARGETS = parse_networks("127.0.0.1")
    mail.outbox = []


class Receiver:
    """A local HTTP server that records each request and checks its signature."""

    def __init__(self, secret: str = SECRET, answers: list[int] | None = None) -> None:
        self.secret = secret
        self.answers = list(answers or [])
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": headers,
                        "body": body,
                        "json": json.loads(body),
                        "verified": verify(
                            receiver.secret,
                            headers.get("x-scriptdeck-timestamp", ""),
                            body,
                            headers.get("x-scriptdeck-signature", ""),
                        ),
                    }
                )
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def rule(
    name="ops",
    *,
    script=None,
    schedule=None,
    channel="email",
    target="ops@example.com",
    secret="",
    **fields,
) -> NotificationRule:
    return NotificationRule.objects.create(
        name=name,
        script=Script.objects.get(name=script) if isinstance(script, str) else script,
        schedule=schedule,
        channel=channel,
        target=target,
        signing_secret=encrypt_text(secret) if secret else "",
        **fields,
    )


def run(name: str, user, **submit) -> TaskExecution:
    execution = services.submit(script=Script.objects.get(name=name), user=user, **submit)
    execute(execution.pk)
    return TaskExecution.objects.get(pk=execution.pk)


def deliveries(execution: TaskExecution | None = None) -> list[NotificationDelivery]:
    rows = NotificationDelivery.objects.order_by("pk")
    return list(rows.filter(execution=execution) if execution else rows)


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


# --- the test ---------------------------------------------------------------------


def test_a_failing_script_sends_one_email_and_one_signed_http_post(synced, alice, broker, receiver):
    rule("mail", script="fails", target="ops@example.com, oncall@example.com")
    hook = rule("hook", script="fails", channel="webhook", target=receiver.url, secret=SECRET)

    execution = run("fails", alice, page_context="/nightly")
    assert execution.status == Status.FAILURE
    queued = deliveries(execution)
    assert sorted(d.channel for d in queued) == ["email", "webhook"]
    assert {d.event for d in queued} == {"failure"}
    assert not mail.outbox and not receiver.requests  # queued, not sent yet

    assert deliver_due() == 2
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ops@example.com", "oncall@example.com"]
    assert email.from_email == "deck@example.com"
    assert email.subject == f"[scriptdeck] fails failed (execution {execution.pk})"
    assert "Status: FAILURE" in email.body
    assert "exit_code" in email.body and "Exit code: 2" in email.body
    assert "boom" in email.body  # the error message
    assert "Started by: alice" in email.body
    assert "Peak memory:" in email.body and "Duration:" in email.body
    assert f"https://deck.example/executions/{execution.pk}" in email.body

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["verified"] is True
    headers = request["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "scriptdeck"
    assert headers["x-scriptdeck-event"] == "failure"
    webhook_row = NotificationDelivery.objects.get(rule=hook)
    assert headers["x-scriptdeck-delivery"] == str(webhook_row.pk)
    assert headers["x-scriptdeck-signature"] == sign(
        SECRET, headers["x-scriptdeck-timestamp"], request["body"]
    )
    body = request["json"]
    assert body["event"] == "failure"
    assert body["rule"] == {"id": hook.pk, "name": "hook", "duration_over": None}
    sent = body["execution"]
    assert sent["id"] == execution.pk and sent["task_id"] == str(execution.task_id)
    assert sent["script"] == "fails" and sent["status"] == "FAILURE"
    assert sent["failure_reason"] == "exit_code" and sent["exit_code"] == 2
    assert sent["trigger"] == "manual" and sent["page_context"] == "/nightly"
    assert sent["url"] == f"https://deck.example/executions/{execution.pk}"
    assert sent["completed_at"] and sent["created_at"]

    for row in deliveries(execution):
        assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
        assert row.sent_at is not None
    assert webhook_row.response_status == 200

    # A second pass, even much later, sends nothing more.
    assert deliver_due() == 0
    assert deliver_due(now=later(86400)) == 0
    assert len(mail.outbox) == 1 and len(receiver.requests) == 1


# --- which events ---------------------------------------------------------------------------


def test_a_success_is_only_notified_to_rules_that_ask_for_it(synced, alice, broker):
    rule("failures only", script="scan_dev_update")
    execution = run("scan_dev_update", alice)
    assert execution.status == Status.SUCCESS
    assert deliveries() == [] and deliver_due() == 0 and mail.outbox == []

    rule("successes too", script="scan_dev_update", on_success=True, target="a@example.com")
    again = run("scan_dev_update", alice)
    [row] = deliveries(again)
    assert row.event == "success"
    assert deliver_due() == 1
    [email] = mail.outbox
    assert email.to == ["a@example.com"]
    assert email.subject == f"[scriptdeck] scan_dev_update succeeded (execution {again.pk})"


def test_a_slow_run_is_notified_over_the_threshold_only(synced, alice, broker):
    rule("slow", script="scan_dev_update", on_failure=False, duration_over=0.0)
    rule("patient", script="scan_dev_update", on_failure=False, duration_over=3600.0)
    execution = run("scan_dev_update", alice)
    assert execution.status == Status.SUCCESS and execution.execution_time > 0
    [row] = deliveries(execution)
    assert (row.rule.name, row.event) == ("slow", "slow")
    deliver_due()
    [email] = mail.outbox
    assert email.subject == f"[scriptdeck] scan_dev_update was slow (execution {execution.pk})"
    assert "over the 0 s threshold" in email.body


def test_a_slow_failure_is_one_failure_message_that_says_it_was_slow(synced, alice, broker):
    rule("both", script="fails", duration_over=0.0)
    execution = run("fails", alice)
    [row] = deliveries(execution)
    assert row.event == "failure"
    deliver_due()
    [email] = mail.outbox
    assert email.subject == f"[scriptdeck] fails failed and was slow (execution {execution.pk})"


def test_a_cancelled_run_is_not_notified(synced, alice, broker):
    rule("everything", script="fails", on_success=True, duration_over=0.0)
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    assert services.cancel(execution.pk, alice) == Status.CANCELLED
    assert deliveries() == []


def test_a_failure_that_is_retried_is_notified_once_its_last_attempt_fails(synced, alice, broker):
    script = Script.objects.get(name="fails")
    script.max_retries, script.retry_exit_codes, script.retry_backoff = 1, [2], 0
    script.save()
    rule("mail", script="fails")
    first = run("fails", alice)
    assert first.retried_by_id is not None
    assert deliveries() == []  # another attempt follows
    TaskExecution.objects.filter(pk=first.retried_by_id).update(dispatch_after=None)
    execute(first.retried_by_id)
    [row] = deliveries()
    assert (row.execution_id, row.event) == (first.retried_by_id, "failure")


def test_a_disabled_rule_or_another_scripts_rule_queues_nothing(synced, alice, broker):
    rule("off", script="fails", enabled=False)
    rule("other", script="scan_dev_update", on_success=True)
    run("fails", alice)
    assert deliveries() == []


def test_no_matching_rule_costs_one_query(synced, alice, broker, django_assert_num_queries):
    execution = run("fails", alice)
    # As the worker sends it: the run's script and trigger come with the signal.
    known = {
        "script_id": execution.script_id,
        "trigger": execution.trigger,
        "trigger_ref": execution.trigger_ref,
    }
    with django_assert_num_queries(1):
        assert (
            notifications.queue_deliveries(TaskExecution, execution_id=execution.pk, **known) == 0
        )
    rule("other", script="scan_dev_update")
    with django_assert_num_queries(1):
        assert (
            notifications.queue_deliveries(TaskExecution, execution_id=execution.pk, **known) == 0
        )
    # Without them (a run ended by the sweeper or a cancel), they are read first.
    with django_assert_num_queries(2):
        assert notifications.queue_deliveries(TaskExecution, execution_id=execution.pk) == 0


def test_a_bad_rule_is_logged_and_never_breaks_the_end_of_a_run(
    synced, alice, broker, monkeypatch, caplog
):
    rule("fine", script="fails")
    broken = rule("broken", script="fails", target="b@example.com")
    real = notifications.event_for

    def event_for(r, *args, **kwargs):
        if r.pk == broken.pk:
            raise ValueError("bad rule data")
        return real(r, *args, **kwargs)

    monkeypatch.setattr(notifications, "event_for", event_for)
    execution = run("fails", alice)
    assert execution.status == Status.FAILURE
    assert [r.rule.name for r in deliveries(execution)] == ["fine"]
    assert "notification rule" in caplog.text and "unusable" in caplog.text


# --- schedules --------------------------------------------------------------------------------


def test_a_schedule_rule_fires_only_for_that_schedules_runs(synced, alice, broker):
    script = Script.objects.get(name="fails")
    nightly = Schedule.objects.create(name="nightly", script=script, owner=alice, cron="0 3 * * *")
    hourly = Schedule.objects.create(name="hourly", script=script, owner=alice, cron="0 * * * *")
    rule("nightly only", schedule=nightly, target="night@example.com")

    manual = run("fails", alice)
    other = run("fails", alice, trigger=Trigger.SCHEDULE, trigger_ref=str(hourly.pk))
    assert deliveries(manual) == [] and deliveries(other) == []

    mine = run("fails", alice, trigger=Trigger.SCHEDULE, trigger_ref=str(nightly.pk))
    [row] = deliveries()
    assert row.execution_id == mine.pk
    deliver_due()
    [email] = mail.outbox
    assert email.to == ["night@example.com"]
    assert f"Started by: schedule 'nightly' (id {nightly.pk}) as alice" in email.body

    # A script's rule hears about every run of it, the scheduled ones included.
    rule("all of fails", script="fails", target="all@example.com")
    again = run("fails", alice, trigger=Trigger.SCHEDULE, trigger_ref=str(nightly.pk))
    assert sorted(r.rule.name for r in deliveries(again)) == ["all of fails", "nightly only"]


# --- retries ------------------------------------------------------------------------------------


def test_a_receiver_answering_500_then_200_is_retried_and_recorded(synced, alice, broker):
    server = Receiver(answers=[500, 200])
    try:
        rule("hook", script="fails", channel="webhook", target=server.url, secret=SECRET)
        run("fails", alice)
        start = timezone.now()
        assert deliver_due(now=start) == 1
        [row] = deliveries()
        assert (row.status, row.attempts, row.response_status) == ("pending", 1, 500)
        assert "HTTP 500" in row.last_error
        assert row.next_attempt_at == start + timedelta(seconds=30)

        assert deliver_due(now=start + timedelta(seconds=20)) == 0  # backing off
        assert deliver_due(now=start + timedelta(seconds=31)) == 1
        row.refresh_from_db()
        assert (row.status, row.attempts, row.response_status) == ("sent", 2, 200)
        assert row.last_error == "" and row.sent_at is not None
        assert len(server.requests) == 2 and all(r["verified"] for r in server.requests)
        assert deliver_due(now=start + timedelta(days=1)) == 0
    finally:
        server.close()


def test_backoff_grows_30s_2min_8min_30min():
    assert [delivery.backoff(n).total_seconds() for n in range(1, 7)] == [
        30,
        120,
        480,
        1800,
        1800,
        1800,
    ]


def test_exhausted_attempts_end_failed_with_the_last_error(synced, alice, broker, settings):
    settings.SCRIPTDECK_NOTIFY_ATTEMPTS = 3
    server = Receiver(answers=[503] * 10)
    try:
        rule("hook", script="fails", channel="webhook", target=server.url)
        run("fails", alice)
        now = timezone.now()
        for _ in range(6):
            deliver_due(now=now)
            now += timedelta(hours=1)
        [row] = deliveries()
        assert (row.status, row.attempts, row.response_status) == ("failed", 3, 503)
        assert row.last_error.startswith("attempt 3:") and "HTTP 503" in row.last_error
        assert len(server.requests) == 3
        # Without a secret, nothing is signed.
        assert "x-scriptdeck-signature" not in server.requests[0]["headers"]
    finally:
        server.close()


def test_a_receiver_that_is_down_is_retried_then_failed(synced, alice, broker, settings):
    settings.SCRIPTDECK_NOTIFY_ATTEMPTS = 2
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rule("hook", script="fails", channel="webhook", target=f"http://127.0.0.1:{port}/")
    run("fails", alice)
    deliver_due()
    [row] = deliveries()
    assert (row.status, row.attempts, row.response_status) == ("pending", 1, None)
    assert "ConnectError" in row.last_error
    deliver_due(now=later(3600))
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 2)


@pytest.mark.parametrize(
    "target",
    ["ftp://example.com/hook", "file:///etc/passwd", "example.com/hook", "http:///nohost"],
)
def test_an_http_target_that_is_not_an_http_url_is_refused(synced, alice, broker, target):
    rule("hook", script="fails", channel="webhook", target=target)
    run("fails", alice)
    assert deliver_due() == 1
    [row] = deliveries()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "http(s) URL" in row.last_error


def test_a_bad_email_target_is_refused(synced, alice, broker):
    rule("mail", script="fails", target="ops@example.com, not an address")
    run("fails", alice)
    deliver_due()
    [row] = deliveries()
    assert row.status == "failed" and "not an email address" in row.last_error
    assert mail.outbox == []


def test_a_rule_disabled_before_sending_sends_nothing(synced, alice, broker):
    mail_rule = rule("mail", script="fails")
    run("fails", alice)
    NotificationRule.objects.filter(pk=mail_rule.pk).update(enabled=False)
    deliver_due()
    [row] = deliveries()
    assert row.status == "failed" and "disabled" in row.last_error
    assert mail.outbox == []


# --- claims -------------------------------------------------------------------------------------


def test_two_delivery_passes_at_once_never_send_twice(synced, alice, broker, monkeypatch):
    rule("mail", script="fails")
    run("fails", alice)
    sent, inner = [], []

    def sender(row):
        # Another process passes while this one is sending: the row is taken.
        inner.append(deliver_due())
        inner.append(deliver_due(now=later(delivery.LEASE_SECONDS - 5)))
        sent.append(row.pk)
        return None

    monkeypatch.setitem(delivery.SENDERS, "email", sender)
    assert deliver_due() == 1
    assert inner == [0, 0] and len(sent) == 1
    assert deliver_due(now=later(3600)) == 0  # sent: never again
    assert len(sent) == 1


def test_a_claim_is_won_once_for_one_read_of_the_row(synced, alice, broker):
    rule("mail", script="fails")
    run("fails", alice)
    [row] = deliveries()
    now = timezone.now()
    seen = row.next_attempt_at  # both processes read the same row…
    assert delivery.claim(row.pk, seen, now) is True
    assert delivery.claim(row.pk, seen, now) is False  # …only one UPDATE matches
    row.refresh_from_db()
    assert row.attempts == 1
    assert row.next_attempt_at == now + timedelta(seconds=delivery.LEASE_SECONDS)
    # The claimer died mid-send: once the lease lapses, the row is attempted again.
    assert deliver_due(now=now) == 0
    assert deliver_due(now=row.next_attempt_at) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


# --- secrets ----------------------------------------------------------------------------------


def test_no_secret_value_is_ever_sent(synced, scripts_dir, alice, broker, monkeypatch):
    write_script(
        scripts_dir,
        "login.py",
        """
        import json, os
        PARAMETERS = {
            "password": {"type": "string", "secret": True},
            "host": {"type": "string"},
        }
        params = json.loads(os.environ["SCRIPT_PARAMETERS"])
        raise SystemExit("could not sign in to " + params["host"] + " with " + params["password"])
        """,
    )
    sync()
    rule("mail", script="login")
    rule("hook", script="login", channel="webhook", target="http://127.0.0.1:9/")
    bodies = []
    monkeypatch.setitem(
        delivery.SENDERS,
        "webhook",
        lambda d: bodies.append(json.dumps(notifications.compose(d).payload)) or 200,
    )
    execution = run("login", alice, parameters={"password": PASSWORD, "host": "db1"})
    assert execution.status == Status.FAILURE
    assert deliver_due() == 2
    [email] = mail.outbox
    assert PASSWORD not in email.body and PASSWORD not in email.subject
    assert f'"password": "{MASK}"' in email.body  # the masked parameters
    assert f"could not sign in to db1 with {MASK}" in email.body
    [body] = bodies
    assert PASSWORD not in body and "db1" in body


# --- signatures ----------------------------------------------------------------------------


def test_verify_checks_the_body_the_secret_and_the_timestamp():
    body = b'{"event":"failure"}'
    stamp = str(int(time.time()))
    signature = sign(SECRET, stamp, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(SECRET, stamp, body, signature)
    assert verify(SECRET, stamp, body, signature.removeprefix("sha256="))
    assert not verify(SECRET, stamp, body + b" ", signature)
    assert not verify("another secret", stamp, body, signature)
    assert not verify(SECRET, str(int(stamp) + 1), body, signature)
    assert not verify(SECRET, stamp, body, "")
    assert not verify(SECRET, "not a number", body, signature)
    old = str(int(time.time()) - 600)
    assert not verify(SECRET, old, body, sign(SECRET, old, body))
    assert verify(SECRET, old, body, sign(SECRET, old, body), tolerance=900)
    assert verify(SECRET, "1000", body, sign(SECRET, "1000", body), now=1100)


# --- admin ----------------------------------------------------------------------------------


def test_the_admin_encrypts_a_signing_secret_and_never_shows_it(synced, admin_user):
    browser = Client()
    browser.force_login(admin_user)
    script = Script.objects.get(name="fails")
    form = {
        "name": "hook",
        "script": script.pk,
        "schedule": "",
        "on_failure": "on",
        "duration_over": "",
        "channel": "webhook",
        "target": "https://hooks.example/x",
        "new_signing_secret": SECRET,
        "enabled": "on",
    }
    response = browser.post("/admin/automation/notificationrule/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = NotificationRule.objects.get(name="hook")
    assert saved.signing_secret and SECRET not in saved.signing_secret
    assert decrypt_text(saved.signing_secret) == SECRET

    page = browser.get(f"/admin/automation/notificationrule/{saved.pk}/change/").content.decode()
    assert SECRET not in page and saved.signing_secret not in page

    form.update(new_signing_secret="", name="hook renamed")  # empty keeps it
    url = f"/admin/automation/notificationrule/{saved.pk}/change/"
    assert browser.post(url, form).status_code == 302
    saved.refresh_from_db()
    assert saved.name == "hook renamed" and decrypt_text(saved.signing_secret) == SECRET

    form.update(remove_signing_secret="on")
    assert browser.post(url, form).status_code == 302
    saved.refresh_from_db()
    assert saved.signing_secret == ""

    refused = browser.post(
        "/admin/automation/notificationrule/add/", {**form, "target": "ftp://x/", "name": "bad"}
    )
    assert refused.status_code == 200 and "http(s) URL" in refused.content.decode()
    assert browser.get("/admin/automation/notificationdelivery/").status_code == 200
