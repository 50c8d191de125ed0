"""Body limits hold before a byte is spooled: counted as the body arrives, for every route."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterable

import pytest

from scriptdeck.access import tokens
from scriptdeck.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def closed_after_each_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)


@pytest.fixture
def spooled(monkeypatch: pytest.MonkeyPatch, tmp_path) -> list[int]:
    """Every roll-over of a spooled body to disk, and temporary files kept in ``tmp_path``."""
    rolled: list[int] = []
    original = tempfile.SpooledTemporaryFile.rollover

    def rollover(self: tempfile.SpooledTemporaryFile) -> None:
        rolled.append(self.tell())
        original(self)

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", rollover)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return rolled


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.consumed = 0

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.messages if m["type"] == "http.response.start")

    @property
    def json(self) -> dict:
        body = b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )
        return json.loads(body)

    def header(self, name: bytes) -> bytes | None:
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        return {key.lower(): value for key, value in start["headers"]}.get(name)


def post(path: str, chunks: Iterable[bytes], headers: list[tuple[bytes, bytes]]) -> Sent:
    """A POST sent chunk by chunk, with no Content-Length unless ``headers`` has one."""
    sent = Sent()
    pending = iter(chunks)
    ended = False

    async def receive() -> dict:
        nonlocal ended
        chunk = None if ended else next(pending, None)
        if chunk is None:
            if not ended:
                ended = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client stays connected
        sent.consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 80),
    }

    async def go() -> None:
        await asyncio.wait_for(application(scope, receive, send), timeout=30)

    asyncio.run(go())
    return sent


def endless() -> Iterable[bytes]:
    """Far more than any limit here (bounded, so that a server reading it all still ends)."""
    for _ in range(8 * 1024 * 1024 // CHUNK):
        yield b"x" * CHUNK


JSON = [(b"content-type", b"application/json")]


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives_and_never_spooled(
    spooled, settings, tmp_path
):
    settings.SCRIPTDECK_MAX_BODY_BYTES = 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE < 8 * 1024 * 1024  # the body would go to disk
    answer = post("/api/auth/login/", endless(), JSON)
    assert answer.status == 413
    assert "1048576 bytes" in answer.json["error"]
    assert answer.header(b"refusal-code") == b"body_too_large"
    assert answer.header(b"referrer-policy") == b"same-origin"  # the usual middleware answered
    assert answer.header(b"connection") == b"close"
    assert answer.consumed <= 1024 * 1024 + CHUNK
    assert spooled == []
    assert list(tmp_path.iterdir()) == []


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(spooled, settings):
    settings.SCRIPTDECK_MAX_BODY_BYTES = 1000
    answer = post("/api/auth/login/", endless(), [*JSON, (b"content-length", b"5000000")])
    assert answer.status == 413
    assert answer.consumed == 0


def test_every_route_has_the_limit_anonymous_or_not(spooled, settings):
    settings.SCRIPTDECK_MAX_BODY_BYTES = 100_000
    for path in ("/api/executions/", "/api/hooks/hk_nothing/", "/no-such-page/", "/myapp/api/x"):
        answer = post(path, endless(), JSON)
        assert answer.status == 413, path
        assert answer.consumed <= 100_000 + CHUNK
    assert spooled == []


def test_uploads_have_their_larger_limit_only_with_credentials(spooled, settings, alice):
    settings.SCRIPTDECK_MAX_BODY_BYTES = 100_000
    settings.SCRIPTDECK_UPLOAD_MAX_BYTES = 300_000
    multipart = [(b"content-type", b"multipart/form-data; boundary=b0undary")]

    anonymous = post("/api/uploads/", endless(), multipart)
    assert anonymous.status == 413
    assert anonymous.consumed <= 100_000 + CHUNK

    _, key = tokens.create(alice, "bodies")
    with_token = [*multipart, (b"authorization", f"Token {key}".encode())]
    # Past the general limit, inside the upload's (with its multipart envelope): read whole.
    body = b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'
    body += b"y" * 200_000 + b"\r\n--b0undary--\r\n"
    # Django's multipart parser reads a declared length only.
    declared = [*with_token, (b"content-length", str(len(body)).encode())]
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    accepted = post("/api/uploads/", chunks, declared)
    assert accepted.status == 201, accepted.json
    assert accepted.json["size"] == 200_000

    beyond = post("/api/uploads/", endless(), with_token)
    assert beyond.status == 413
    assert beyond.consumed <= 300_000 + 1024 * 1024 + CHUNK
