"""The client commands: ``scriptdeck run``, ``ls``, ``logs``, ``cancel``, ``status``, ``login``.

They talk to a running server over its HTTP API (docs/api.md) and are described for
users in docs/cli.md. This module uses the standard library and httpx only: no Django,
no database, no SCRIPTDECK_HOME.

Exit codes: 0 the execution succeeded (or the command did its job); 1 the execution
ended FAILURE or CANCELLED, or ``cancel`` found it already ended; 2 the request was
refused or the command is misconfigured (no token, bad parameter, unknown script);
3 the server could not be reached or failed; 124 ``--timeout`` ran out while
following; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import json
import os
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from scriptdeck import __version__

DEFAULT_URL = "http://127.0.0.1:8000"
CONFIG_ENV = "SCRIPTDECK_CLIENT_CONFIG"
URL_ENV = "SCRIPTDECK_URL"
TOKEN_ENV = "SCRIPTDECK_TOKEN"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_NETWORK = 3
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130

# What ``--json`` prints of an execution.
RECORD_FIELDS = (
    "id",
    "script_name",
    "status",
    "failure_reason",
    "error_message",
    "result",
    "exit_code",
    "signal",
    "execution_time",
    "memory_usage",
)
POLL_INTERVAL = 0.5
OUTPUT_PAGE = 1000
# The server sends a keep-alive comment every 15 s; silence for longer is a dead connection.
SSE_READ_TIMEOUT = 35.0
# Consecutive failed event-stream connections before falling back to polling.
SSE_ATTEMPTS = 4
POLL_ATTEMPTS = 4


class ClientError(Exception):
    """A message for the user and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class FollowTimeout(Exception):
    """``--timeout`` ran out while the execution was still running."""


def note(message: str) -> None:
    """A line for the person at the terminal: on stderr, so stdout stays the script's."""
    print(f"scriptdeck: {message}", file=sys.stderr, flush=True)


def print_json(document: object) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False), flush=True)


def guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn a ClientError into its message and exit code, and Ctrl-C into 130."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ClientError as exc:
            note(exc.message)
            return exc.code
        except KeyboardInterrupt:
            print(file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # Piped into a reader that stopped (``| head``): no traceback at exit either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILED

    return run


# --- configuration ---------------------------------------------------------------------------


def config_path() -> Path:
    """``$SCRIPTDECK_CLIENT_CONFIG``, else ``~/.config/scriptdeck/client.json``."""
    raw = os.environ.get(CONFIG_ENV)
    if raw:
        return Path(raw).expanduser()
    return Path.home() / ".config" / "scriptdeck" / "client.json"


def read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ClientError(f"cannot read the config file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ClientError(
            f"the config file {path} is not valid JSON ({exc}); fix it, or sign in again "
            "with `scriptdeck login`"
        ) from exc
    if not isinstance(data, dict):
        raise ClientError(f'the config file {path} must hold {{"url": ..., "token": ...}}')
    try:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            note(f"warning: {path} holds a token and others may read it: chmod 600 it")
    except OSError:
        pass
    return data


def write_config(path: Path, data: dict[str, Any]) -> None:
    """Replace the config file atomically; it is created readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".client-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def resolve_url(args: argparse.Namespace, stored: dict[str, Any]) -> str:
    url = getattr(args, "url", None) or os.environ.get(URL_ENV) or stored.get("url") or DEFAULT_URL
    return str(url).rstrip("/")


def missing_token_message(url: str) -> str:
    return (
        "no API token. Sign in with `scriptdeck login --url "
        f"{url} --username NAME` (it saves a token in {config_path()}), "
        f"or set {TOKEN_ENV} (or pass --token)"
    )


# --- HTTP ------------------------------------------------------------------------------------


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _messages(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(_messages(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_messages(item)}" for key, item in value.items())
    return str(value)


def refusal(response: httpx.Response, url: str, not_found: str) -> ClientError:
    """The ClientError for an answer that is not the one hoped for."""
    code = response.status_code
    body = _body(response)
    body = body if isinstance(body, dict) else {}
    detail = _messages(body.get("detail") or body.get("error") or "") or response.reason_phrase
    if code == 400:
        fields = {
            key: value
            for key, value in body.items()
            if key not in ("error", "detail", "non_field_errors")
        }
        if fields:
            lines = "\n".join(f"  {key}: {_messages(value)}" for key, value in fields.items())
            return ClientError(f"the server refused the request:\n{lines}")
        general = body.get("non_field_errors") or body.get("error") or body or response.text
        return ClientError(f"the server refused the request: {_messages(general)}")
    if code == 401:
        return ClientError(f"the server refused the token ({detail}). " + _fix_token(url))
    if code == 403:
        return ClientError(f"not allowed: {detail}")
    if code == 404:
        return ClientError(not_found)
    if code == 429:
        wait = response.headers.get("Retry-After")
        later = f"; try again in {wait} s" if wait else ""
        return ClientError(f"too many requests: {detail}{later}", EXIT_NETWORK)
    if code >= 500:
        return ClientError(f"the server at {url} failed (HTTP {code}); see its log", EXIT_NETWORK)
    return ClientError(f"unexpected answer from the server: HTTP {code} {detail}")


def _fix_token(url: str) -> str:
    return (
        f"Sign in again with `scriptdeck login --url {url} --username NAME`, "
        f"or set {TOKEN_ENV} to a valid token"
    )


def network_error(url: str, exc: httpx.TransportError) -> ClientError:
    if isinstance(exc, httpx.TimeoutException):
        reason = "it did not answer in time"
    else:
        reason = str(exc) or type(exc).__name__
    return ClientError(
        f"cannot reach the server at {url}: {reason}. Is it running? The URL comes from "
        f"--url, {URL_ENV} or {config_path()}",
        EXIT_NETWORK,
    )


class Api:
    """An httpx client of one server, with the token, that raises ClientError."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        headers = {"Accept": "application/json", "User-Agent": f"scriptdeck-cli/{__version__}"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self.http = httpx.Client(
            base_url=url, headers=headers, timeout=httpx.Timeout(30.0, connect=10.0)
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Api:
        """The URL and token: options, else the environment, else the config file."""
        url = getattr(args, "url", None) or os.environ.get(URL_ENV)
        token = getattr(args, "token", None) or os.environ.get(TOKEN_ENV)
        stored = {} if url and token else read_config(config_path())
        url = str(url or stored.get("url") or DEFAULT_URL).rstrip("/")
        token = token or stored.get("token")
        if not token:
            raise ClientError(missing_token_message(url))
        return cls(url, str(token))

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        not_found: str = "not found (or you may not see it)",
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise network_error(self.url, exc) from exc
        if response.status_code not in expect:
            raise refusal(response, self.url, not_found)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return _body(self.request("GET", path, **kwargs))

    def pages(self, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list (``{count, next, results}``)."""
        items: list[dict[str, Any]] = []
        url: str | None = path
        while url:
            page = self.get(url, **kwargs)
            kwargs.pop("params", None)  # ``next`` carries them
            items.extend(page.get("results", []))
            url = page.get("next")
        return items

    def execution(self, execution_id: int) -> dict[str, Any]:
        return self.get(f"/api/executions/{execution_id}/", not_found=_no_execution(execution_id))


def _no_execution(execution_id: int) -> str:
    return f"no execution {execution_id} (or you may not see it)"


# --- following an execution ------------------------------------------------------------------


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str, str | None]]:
    """``(event, data, id)`` for each event of a ``text/event-stream``."""
    kind, data, event_id = "", [], None
    for line in lines:
        if not line:
            if kind or data:
                yield kind or "message", "\n".join(data), event_id
            kind, data, event_id = "", [], None
            continue
        if line.startswith(":"):
            continue  # a comment: the keep-alive
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode("utf-8", "replace")


Chunk = dict[str, Any]


class Follower:
    """Follows one execution until it ends and returns its final record.

    The event stream is read first; a dropped connection is resumed with Last-Event-ID,
    so nothing is lost or repeated. When the stream cannot be had, ``/output/`` is
    polled every 0.5 s instead.
    """

    def __init__(
        self,
        api: Api,
        execution_id: int,
        on_chunk: Callable[[Chunk], None],
        deadline: float | None = None,
    ) -> None:
        self.api = api
        self.execution_id = execution_id
        self.on_chunk = on_chunk
        self.deadline = deadline
        self.last_id = 0  # output and samples share one sequence
        self.last_output = 0
        self.use_stream = True
        self.cancel_sent = False

    def follow(self, cancel_on_interrupt: bool) -> dict[str, Any]:
        """The final record. The first Ctrl-C cancels the execution (when asked to) and
        keeps following; the next one raises KeyboardInterrupt."""
        with _alarm(self.deadline):
            return self._follow(cancel_on_interrupt)

    def _follow(self, cancel_on_interrupt: bool) -> dict[str, Any]:
        while True:
            try:
                if self.use_stream:
                    record = self._stream()
                    if record is not None:
                        return record
                    continue
                return self._poll()
            except KeyboardInterrupt:
                if self.cancel_sent or not cancel_on_interrupt:
                    raise
                self.cancel_sent = True
                note(
                    f"interrupted: cancelling execution {self.execution_id} and waiting for "
                    "it to end (Ctrl-C again to stop waiting)"
                )
                answer = self.api.request(
                    "POST",
                    f"/api/executions/{self.execution_id}/cancel/",
                    expect=(202, 409),
                    not_found=_no_execution(self.execution_id),
                )
                note(str(_body(answer).get("detail", "")))

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise FollowTimeout
        return remaining

    def _emit(self, chunk: Chunk) -> None:
        if chunk["seq"] > self.last_output:
            self.last_output = chunk["seq"]
            self.on_chunk(chunk)

    def _stream(self) -> dict[str, Any] | None:
        """The final record, or None to poll instead."""
        path = f"/api/executions/{self.execution_id}/events/"
        failures = 0
        while True:
            remaining = self._remaining()
            read = SSE_READ_TIMEOUT if remaining is None else min(SSE_READ_TIMEOUT, remaining)
            received = False
            try:
                with self.api.http.stream(
                    "GET",
                    path,
                    headers={"Accept": "text/event-stream", "Last-Event-ID": str(self.last_id)},
                    timeout=httpx.Timeout(10.0, read=max(read, 0.05)),
                ) as response:
                    if response.status_code in (401, 403, 404):
                        response.read()
                        raise refusal(response, self.api.url, _no_execution(self.execution_id))
                    kind = response.headers.get("content-type", "")
                    if response.status_code != 200 or not kind.startswith("text/event-stream"):
                        self.use_stream = False
                        return None
                    for event, data, event_id in parse_sse(_lines(response.iter_bytes())):
                        received = True
                        if event_id and event_id.isdigit():
                            self.last_id = max(self.last_id, int(event_id))
                        if event == "output":
                            self._emit(json.loads(data))
                        elif event == "end":
                            return json.loads(data)
                        elif event == "error":
                            break  # the server gave up on this connection: resume
                        self._remaining()
            except httpx.TimeoutException:
                self._remaining()  # raises FollowTimeout when that is why
            except httpx.TransportError:
                pass
            failures = 0 if received else failures + 1
            if failures >= SSE_ATTEMPTS:
                self.use_stream = False
                return None
            if failures:
                time.sleep(min(0.25 * 2**failures, 2.0))

    def _poll(self) -> dict[str, Any]:
        path = f"/api/executions/{self.execution_id}/output/"
        failures = 0
        while True:
            remaining = self._remaining()
            try:
                page = self.api.get(
                    path,
                    params={"after": self.last_id, "limit": OUTPUT_PAGE},
                    not_found=_no_execution(self.execution_id),
                )
            except ClientError as exc:
                failures += 1
                if exc.code != EXIT_NETWORK or failures >= POLL_ATTEMPTS:
                    raise
                time.sleep(POLL_INTERVAL)
                continue
            failures = 0
            chunks = page.get("chunks", [])
            for chunk in chunks:
                self._emit(chunk)
            self.last_id = max(self.last_id, int(page.get("last_seq") or 0))
            if page.get("finished"):
                return self.api.execution(self.execution_id)
            if len(chunks) < OUTPUT_PAGE:
                time.sleep(POLL_INTERVAL if remaining is None else min(POLL_INTERVAL, remaining))


@contextlib.contextmanager
def _alarm(deadline: float | None) -> Iterator[None]:
    """Raise FollowTimeout at ``deadline``, even in the middle of a blocking read."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if deadline is None or not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise FollowTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Printer:
    """Writes chunks as they come (stdout to stdout, stderr to stderr), or keeps them."""

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.chunks: list[Chunk] = []
        self.at_line_start = True

    def chunk(self, chunk: Chunk) -> None:
        if self.keep:
            self.chunks.append(
                {key: chunk.get(key) for key in ("seq", "stream", "text", "at") if key in chunk}
            )
            return
        text = chunk.get("text") or ""
        if chunk.get("stream") == "stderr":
            sys.stderr.write(text)
            sys.stderr.flush()
            return
        sys.stdout.write(text)
        sys.stdout.flush()
        if text:
            self.at_line_start = text.endswith("\n")

    def result(self, record: dict[str, Any]) -> None:
        if record.get("result") is None:
            return
        if not self.at_line_start:
            sys.stdout.write("\n")
        print_json(record["result"])


def record_subset(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record.get(key) for key in RECORD_FIELDS}


def exit_code_for(record: dict[str, Any]) -> int:
    """SUCCESS is 0; FAILURE, CANCELLED (and anything else) are 1."""
    return EXIT_OK if record.get("status") == "SUCCESS" else EXIT_FAILED


def summary(record: dict[str, Any]) -> str:
    parts = []
    if record.get("exit_code") is not None:
        parts.append(f"exit {record['exit_code']}")
    if record.get("signal"):
        parts.append(f"signal {record['signal']}")
    if record.get("execution_time") is not None:
        parts.append(f"{record['execution_time']:.2f} s")
    if record.get("memory_usage") is not None:
        parts.append(f"{record['memory_usage']:.1f} MB")
    text = f"execution {record.get('id')} {record.get('status')}"
    if parts:
        text += f" ({', '.join(parts)})"
    if record.get("status") != "SUCCESS" and record.get("error_message"):
        text += f": {record['error_message']}"
    return text


def _deadline(args: argparse.Namespace) -> float | None:
    timeout = getattr(args, "timeout", None)
    if timeout is None:
        return None
    if timeout <= 0:
        raise ClientError("--timeout must be a number of seconds above 0")
    return time.monotonic() + timeout


def _still_running(execution_id: int, seconds: float) -> ClientError:
    return ClientError(
        f"execution {execution_id} is still running after {seconds:g} s; it goes on: "
        f"watch it with `scriptdeck logs {execution_id} --follow`, stop it with "
        f"`scriptdeck cancel {execution_id}`",
        EXIT_TIMEOUT,
    )


# --- parameters ------------------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity stay strings: JSON has no such numbers


def parse_value(raw: str) -> Any:
    """``@file``: the file's text; ``@@x``: the string ``@x``; JSON when it parses; else
    the string as given."""
    if raw.startswith("@@"):
        return raw[1:]
    if raw.startswith("@"):
        path = Path(raw[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ClientError(f"cannot read {path}: {reason}") from exc
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except ValueError:
        return raw


def parse_parameters(items: Iterable[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for item in items:
        name, equals, raw = item.partition("=")
        if not equals or not name.strip():
            raise ClientError(f"-p {item!r}: write a parameter as name=value")
        parameters[name.strip()] = parse_value(raw)
    return parameters


# --- commands --------------------------------------------------------------------------------


@guarded
def cmd_run(args: argparse.Namespace) -> int:
    """Submit, follow the output, print the result; exit 0 for SUCCESS, else 1."""
    parameters = parse_parameters(args.param or [])
    deadline = _deadline(args)
    with Api.from_args(args) as api:
        submitted = _body(
            api.request(
                "POST",
                "/api/executions/",
                json={
                    "script": args.script,
                    "parameters": parameters,
                    "page_context": args.page_context,
                },
                expect=(202,),
                not_found=f"no such script {args.script!r} (or you may not run it)",
            )
        )
        execution_id = submitted["id"]
        if not args.follow:
            if args.json:
                print_json(record_subset(submitted))
            else:
                print(execution_id, flush=True)
            return EXIT_OK
        if not args.json:
            note(
                f"execution {execution_id} of {submitted.get('script_name') or args.script} "
                "submitted; Ctrl-C cancels it"
            )
        printer = Printer(keep=args.json)
        follower = Follower(api, execution_id, printer.chunk, deadline)
        try:
            record = follower.follow(cancel_on_interrupt=True)
        except FollowTimeout:
            raise _still_running(execution_id, args.timeout) from None
        except KeyboardInterrupt:
            print(file=sys.stderr)
            if follower.cancel_sent:
                note(f"stopped waiting; execution {execution_id} is being cancelled")
            else:
                note(f"stopped waiting; execution {execution_id} goes on")
            return EXIT_INTERRUPTED
        if args.json:
            print_json(record_subset(record))
        else:
            printer.result(record)
            note(summary(record))
        return exit_code_for(record)


@guarded
def cmd_ls(args: argparse.Namespace) -> int:
    """The active scripts you may see."""
    with Api.from_args(args) as api:
        scripts = api.pages("/api/scripts/", params={"is_active": "true"})
    if args.json:
        print_json(scripts)
        return EXIT_OK
    if not scripts:
        note("there is no script you may see")
        return EXIT_OK
    rows = [("NAME", "LEVEL", "PARAMETERS", "DESCRIPTION")]
    for script in sorted(scripts, key=lambda s: s.get("name") or ""):
        rows.append(
            (
                script.get("name") or "",
                script.get("my_level") or "-",
                _parameter_names(script.get("parameter_schema") or {}),
                _first_line(script.get("description") or ""),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        print("  ".join([*cells, row[3]]).rstrip())
    return EXIT_OK


def _parameter_names(schema: dict[str, Any]) -> str:
    if not schema:
        return "(free-form)"
    required = set(schema.get("required") or [])
    names = [f"{name}*" if name in required else name for name in schema.get("properties") or {}]
    return ", ".join(names) or "-"


def _first_line(text: str, width: int = 72) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


@guarded
def cmd_logs(args: argparse.Namespace) -> int:
    """The stored output; with --follow, live until the end (exit as ``run``)."""
    execution_id = args.id
    with Api.from_args(args) as api:
        printer = Printer(keep=args.json)
        if args.follow:
            follower = Follower(api, execution_id, printer.chunk, _deadline(args))
            try:
                record = follower.follow(cancel_on_interrupt=False)
            except FollowTimeout:
                raise _still_running(execution_id, args.timeout) from None
            if args.json:
                print_json({**record_subset(record), "chunks": printer.chunks})
            else:
                note(summary(record))
            return exit_code_for(record)
        after, finished = 0, False
        while True:
            page = api.get(
                f"/api/executions/{execution_id}/output/",
                params={"after": after, "limit": OUTPUT_PAGE},
                not_found=_no_execution(execution_id),
            )
            chunks = page.get("chunks", [])
            for chunk in chunks:
                printer.chunk(chunk)
            after = int(page.get("last_seq") or after)
            finished = bool(page.get("finished"))
            if finished or len(chunks) < OUTPUT_PAGE:
                break
        if args.json:
            print_json({"id": execution_id, "finished": finished, "chunks": printer.chunks})
        elif not finished:
            note(f"execution {execution_id} is still running: add --follow to keep watching")
        return EXIT_OK


@guarded
def cmd_cancel(args: argparse.Namespace) -> int:
    """Ask the server to cancel: 0 when it accepted, 1 when the execution had ended."""
    with Api.from_args(args) as api:
        response = api.request(
            "POST",
            f"/api/executions/{args.id}/cancel/",
            expect=(202, 409),
            not_found=_no_execution(args.id),
        )
    detail = str(_body(response).get("detail") or "")
    if response.status_code == 409:
        note(f"execution {args.id} was not cancelled: {detail}")
        return EXIT_FAILED
    print(f"execution {args.id}: {detail}", flush=True)
    return EXIT_OK


STATUS_FIELDS = (
    "id",
    "script_name",
    "status",
    "failure_reason",
    "user",
    "parameters",
    "page_context",
    "created_at",
    "started_at",
    "completed_at",
    "exit_code",
    "signal",
    "execution_time",
    "memory_usage",
    "waiting_reason",
    "error_message",
)


@guarded
def cmd_status(args: argparse.Namespace) -> int:
    """The execution's record: a summary, or all of it with --json."""
    with Api.from_args(args) as api:
        record = api.execution(args.id)
    if args.json:
        print_json(record)
        return EXIT_OK
    for key in STATUS_FIELDS:
        value = record.get(key)
        if value in (None, "", {}):
            continue
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        print(f"{key + ':':<16}{shown}")
    if record.get("result") is not None:
        print("result:")
        print_json(record["result"])
    return EXIT_OK


@guarded
def cmd_login(args: argparse.Namespace) -> int:
    """Trade a user name and password for a token; save it with the URL."""
    path = config_path()
    stored = read_config(path)
    url = resolve_url(args, stored)
    username = args.username or input("user name: ").strip()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password of {username} at {url}: ")
    with Api(url, None) as api:
        answer = _body(
            api.request(
                "POST",
                "/api/auth/token/",
                json={"username": username, "password": password},
                not_found=f"{url} has no /api/auth/token/: is it a scriptdeck server?",
            )
        )
    try:
        write_config(path, {**stored, "url": url, "token": answer["token"]})
    except OSError as exc:
        raise ClientError(f"cannot write {path}: {exc.strerror}") from exc
    expires = answer.get("expires_at")
    print(
        f"signed in to {url} as {username}; the token is saved in {path}"
        + (f" (it expires {expires})" if expires else ""),
        flush=True,
    )
    if os.environ.get(TOKEN_ENV):
        note(f"{TOKEN_ENV} is set in this shell and is used before the saved token")
    return EXIT_OK
