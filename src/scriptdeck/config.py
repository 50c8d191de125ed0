"""Reading configuration from the environment, strictly, with the embedded defaults."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import secrets
from pathlib import Path
from typing import Any


class ConfigurationError(RuntimeError):
    """An environment variable holds a value scriptdeck cannot use."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {raw!r}") from None


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None


def env_limit(name: str, default: int) -> int:
    """A resource limit: a whole number of at least 0, where 0 (or empty) is no limit."""
    value = env_int(name, default)
    if value < 0:
        raise ConfigurationError(f"{name} must be 0 (no limit) or more, not {value}")
    return value


def env_hours(name: str, default: float) -> float:
    """A number of hours of at least 0, where 0 (or empty for a default of 0) is never."""
    value = env_float(name, default)
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{name} must be 0 (never) or a number of hours, not {value}")
    return value


def env_json(name: str, default: Any) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{name} must be JSON: {exc}") from None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str, name: str = "") -> tuple[Network, ...]:
    """Comma-separated addresses and CIDR ranges (``127.0.0.1, 10.0.0.0/8, ::1``)."""
    networks = []
    for part in raw.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigurationError(
                    f"{name} must list IP addresses or ranges (CIDR), not {part.strip()!r}"
                ) from None
    return tuple(networks)


def env_networks(name: str) -> tuple[Network, ...]:
    return parse_networks(os.environ.get(name, ""), name)


def home_dir() -> Path:
    """``SCRIPTDECK_HOME``: where the embedded database, broker and keys live."""
    home = Path(env_str("SCRIPTDECK_HOME", "var")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def secret_key(home: Path) -> str:
    """``SECRET_KEY`` from the environment, else one generated once and kept in the home folder."""
    explicit = env_str("SECRET_KEY")
    if explicit:
        return explicit
    key_file = home / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting together agree on one key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def default_scripts_dir() -> Path:
    """The repository's ``examples/scripts`` when run from a checkout."""
    return Path(__file__).resolve().parents[2] / "examples" / "scripts"


def embedded_broker_dir(home: Path) -> Path:
    folder = home / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return folder
