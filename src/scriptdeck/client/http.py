"""The HTTP client of one server, and the ClientError for each answer it did not hope for."""

from __future__ import annotations

import argparse
import os
from typing import Any

import httpx

from scriptdeck import __version__

from .config import (
    DEFAULT_URL,
    TOKEN_ENV,
    URL_ENV,
    config_path,
    missing_token_message,
    read_config,
)
from .errors import EXIT_NETWORK, ClientError


def json_body(response: httpx.Response) -> Any:
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
    body = json_body(response)
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
        return json_body(self.request("GET", path, **kwargs))

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
        return self.get(f"/api/executions/{execution_id}/", not_found=no_execution(execution_id))


def no_execution(execution_id: int) -> str:
    return f"no execution {execution_id} (or you may not see it)"
