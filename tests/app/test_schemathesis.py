"""Property-based API test: schemathesis over the OpenAPI schema the app itself serves.

Every operation is called through the real WSGI application (in this process, inside the
test's transaction) as a staff user authenticated with a personal API token, with data
that fits the schema (checked for no 5xx, and a response that matches its documented
schema and content type) and data that does not (checked for no 5xx). Deterministic
(``derandomize``, no example database) and small, so it stays well under a minute.

Every failing operation is collected, so one run names them all.
"""

from __future__ import annotations

import json

import schemathesis
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from scriptdeck.access import tokens
from scriptdeck.access.models import ApiToken
from scriptdeck.catalog.models import Script
from scriptdeck.executions import services
from scriptdeck.worker.execute import execute

# Left out, on purpose:
# - the Server-Sent Events stream: it is a long-lived streaming response (it ends only when
#   the execution does), which a request/response fuzzer cannot consume;
# - the sign-in doors (session login and password → token): every failed attempt is an audit
#   row that throttles the address, so after five generated attempts they answer 429 and the
#   rest of the run exercises only the throttle. tests/app/test_access.py covers them.
EXCLUDED_PATHS = {
    "/api/executions/{id}/events/",
    "/api/auth/login/",
    "/api/auth/token/",
}
POSITIVE_EXAMPLES = 25
NEGATIVE_EXAMPLES = 15
POSITIVE_CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
NEGATIVE_CHECKS = [not_a_server_error]


def seed(staff) -> None:
    """Some real objects for the generated ids to land on: scripts, a finished run, a record."""
    alice = get_user_model().objects.create_user("alice", "", "alice-pass-1")
    script = Script.objects.get(name="scan_dev_update")
    finished = services.submit(script=script, user=staff, parameters={"target": "x"})
    assert execute(finished.pk) == "finished"
    services.submit(script=Script.objects.get(name="fails"), user=alice)
    tokens.create(alice, "someone else's")


def served_schema(key: str) -> dict:
    response = APIClient().get(
        "/api/schema/", {"format": "json"}, HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def test_schemathesis_no_server_errors_and_no_schema_violations(synced, broker):
    staff = get_user_model().objects.create_user("fuzzer", "", "fuzzer-pass-1", is_staff=True)
    token, key = tokens.create(staff, "schemathesis")
    seed(staff)
    schema = schemathesis.openapi.from_dict(served_schema(key))
    app = get_wsgi_application()
    headers = {"Authorization": f"Token {key}"}
    failures: list[str] = []
    operations = 0

    def run(operation, mode: GenerationMode, examples: int, checks: list) -> None:
        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case) -> None:
            # A generated DELETE /api/tokens/{id}/ may revoke the very token in use.
            ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
            # A savepoint per call: a request that breaks the transaction is rolled back
            # alone instead of failing every call after it.
            with transaction.atomic():
                response = case.call(app=app, headers=headers)
            case.validate_response(response, checks=checks, headers=headers)

        try:
            call()
        except Unsatisfiable:
            # Nothing to negate: the operation takes no parameter and no body.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, BaseExceptionGroup) as exc:  # collected, reported together below
            failures.append(f"{operation.label} [{mode.value}]\n{exc}")

    # Like Django's own test client: the handler must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path in EXCLUDED_PATHS:
                continue
            operations += 1
            run(operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES, POSITIVE_CHECKS)
            run(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, NEGATIVE_CHECKS)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert operations > 25  # the schema was read whole
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
