"""The client commands: ``run``, ``ls``, ``logs``, ``cancel``, ``status``, ``login``."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from typing import Any

from .config import TOKEN_ENV, config_path, read_config, resolve_url, write_config
from .errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    ClientError,
    FollowTimeout,
    guarded,
    note,
)
from .follow import OUTPUT_PAGE, Follower
from .http import Api, json_body, no_execution
from .output import Printer, exit_code_for, print_json, record_subset, summary
from .parameters import parse_parameters


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


@guarded
def cmd_run(args: argparse.Namespace) -> int:
    """Submit, follow the output, print the result; exit 0 for SUCCESS, else 1."""
    parameters = parse_parameters(args.param or [])
    deadline = _deadline(args)
    with Api.from_args(args) as api:
        submitted = json_body(
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
                not_found=no_execution(execution_id),
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
            not_found=no_execution(args.id),
        )
    detail = str(json_body(response).get("detail") or "")
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
        answer = json_body(
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
