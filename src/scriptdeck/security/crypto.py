"""Encryption at rest: script variables and secret parameters, with Fernet.

Keys come from ``SCRIPTDECK_ENCRYPTION_KEY`` when set, a comma-separated list where the
first key encrypts and every key decrypts (rotation: ``new,old``), else from ``SECRET_KEY``.
A key may be a Fernet key (32 url-safe base64 bytes) used as it is, or any string, from
which a Fernet key is derived with HKDF-SHA256.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"scriptdeck encryption at rest v1"


class DecryptError(ValueError):
    """A stored value cannot be read back: the key changed, or the value is damaged."""


KEY_CHANGED = (
    "a stored secret cannot be decrypted: it was encrypted with another key (SECRET_KEY or "
    "SCRIPTDECK_ENCRYPTION_KEY changed since). Set SCRIPTDECK_ENCRYPTION_KEY to the old key "
    "first in the comma-separated list, followed by the current one (old,current): the first "
    "key encrypts, every key listed decrypts. Otherwise enter the value again."
)


def fernet_key(key: str) -> bytes:
    """The Fernet key for ``key``: itself when it is one, else derived with HKDF-SHA256."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        pass
    else:
        return key.encode("ascii")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=16)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(fernet_key(key)) for key in keys])


def fernet_for(keys: Sequence[str]) -> MultiFernet:
    """The cipher for ``keys``: the first encrypts, all decrypt. Cached per key tuple."""
    keys = tuple(keys)
    if not keys or not all(isinstance(key, str) and key for key in keys):
        raise ValueError("encryption needs at least one key, and no empty one")
    return _fernet(keys)


def keys_from(setting: str | Sequence[str] | None, secret_key: str) -> list[str]:
    """The keys a ``SCRIPTDECK_ENCRYPTION_KEY`` value names, else ``[secret_key]``.

    ``secret_key`` stays last, to decrypt only: values stored before the setting was
    turned on remain readable.
    """
    items = setting.split(",") if isinstance(setting, str) else list(setting or ())
    keys = [item.strip() for item in items if item and item.strip()]
    if secret_key and secret_key not in keys:
        keys.append(secret_key)
    return keys


def configured_keys() -> list[str]:
    """The keys from the Django settings (read on each call, so tests may override them)."""
    from django.conf import settings

    return keys_from(getattr(settings, "SCRIPTDECK_ENCRYPTION_KEY", ""), settings.SECRET_KEY)


def encrypt_text(text: str, keys: Sequence[str] | None = None) -> str:
    """``text`` encrypted with the first key (``keys``, or the configured ones)."""
    cipher = fernet_for(configured_keys() if keys is None else keys)
    return cipher.encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_text(token: str, keys: Sequence[str] | None = None) -> str:
    """The text ``token`` holds; :class:`DecryptError` when no key opens it."""
    cipher = fernet_for(configured_keys() if keys is None else keys)
    try:
        return cipher.decrypt(token.encode("utf-8")).decode("utf-8")
    except (InvalidToken, UnicodeError, AttributeError, TypeError):
        raise DecryptError(KEY_CHANGED) from None


def encrypt_json(value: object, keys: Sequence[str] | None = None) -> str:
    """``value`` as compact JSON, encrypted."""
    return encrypt_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), keys)


def decrypt_json(token: str, keys: Sequence[str] | None = None) -> object:
    """The value ``token`` holds (see :func:`encrypt_json`)."""
    text = decrypt_text(token, keys)
    try:
        return json.loads(text)
    except ValueError:
        raise DecryptError("a stored secret was decrypted but is not JSON: it is damaged") from None
