"""Where the client finds its server and token: options, the environment, the config file."""

from __future__ import annotations

import argparse
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from .errors import ClientError, note

DEFAULT_URL = "http://127.0.0.1:8000"
CONFIG_ENV = "SCRIPTDECK_CLIENT_CONFIG"
URL_ENV = "SCRIPTDECK_URL"
TOKEN_ENV = "SCRIPTDECK_TOKEN"


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
