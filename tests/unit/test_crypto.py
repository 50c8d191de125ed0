"""Encryption at rest: round trips, rotation, derived keys, a clear error when the key changed."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from scriptdeck.security.crypto import (
    DecryptError,
    decrypt_json,
    decrypt_text,
    encrypt_json,
    encrypt_text,
    fernet_for,
    fernet_key,
    keys_from,
)

OLD = "the old secret key"
NEW = "the new secret key"


def test_it_reads_back_what_it_encrypted():
    token = encrypt_text("pa55 wörd ✓", keys=[OLD])

    assert "pa55" not in token
    assert decrypt_text(token, keys=[OLD]) == "pa55 wörd ✓"


def test_it_encrypts_the_same_text_differently_each_time():
    assert encrypt_text("same", keys=[OLD]) != encrypt_text("same", keys=[OLD])


def test_it_reads_back_json():
    value = {"token": "hunter22", "ids": [1, 2.5, None, True], "name": "zoë"}

    token = encrypt_json(value, keys=[OLD])

    assert decrypt_json(token, keys=[OLD]) == value


def test_it_decrypts_with_every_key_and_encrypts_with_the_first():
    before = encrypt_text("variable", keys=[OLD])

    rotated = [NEW, OLD]
    after = encrypt_text("variable", keys=rotated)

    assert decrypt_text(before, keys=rotated) == "variable"
    assert decrypt_text(after, keys=[NEW]) == "variable"
    with pytest.raises(DecryptError):
        decrypt_text(after, keys=[OLD])


def test_it_says_the_key_changed_and_how_to_fix_it():
    token = encrypt_text("variable", keys=[OLD])

    with pytest.raises(DecryptError) as caught:
        decrypt_text(token, keys=[NEW])

    message = str(caught.value)
    assert "SCRIPTDECK_ENCRYPTION_KEY" in message
    assert "old key first" in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("token", ["", "not a token", "été", "gAAAAA" + "A" * 80])
def test_it_refuses_a_damaged_token_with_the_same_error(token):
    with pytest.raises(DecryptError):
        decrypt_text(token, keys=[OLD])


def test_it_refuses_a_token_that_is_not_json_as_json():
    with pytest.raises(DecryptError, match="not JSON"):
        decrypt_json(encrypt_text("{oops", keys=[OLD]), keys=[OLD])


def test_it_uses_a_fernet_key_as_it_is():
    key = Fernet.generate_key().decode()

    token = encrypt_text("variable", keys=[key])

    assert Fernet(key).decrypt(token.encode()) == b"variable"


@pytest.mark.parametrize("key", ["short", "x" * 500, "ключ с пробелами", "a,b"])
def test_it_derives_a_fernet_key_from_any_string(key):
    derived = fernet_key(key)

    assert derived == fernet_key(key)
    assert derived != fernet_key(key + "!")
    Fernet(derived)  # a valid key: 32 url-safe base64 bytes


def test_it_caches_the_cipher_per_key_list():
    assert fernet_for([NEW, OLD]) is fernet_for((NEW, OLD))
    assert fernet_for([NEW, OLD]) is not fernet_for([OLD, NEW])


@pytest.mark.parametrize("keys", [[], [""], [OLD, ""]])
def test_it_refuses_to_encrypt_without_a_key(keys):
    with pytest.raises(ValueError, match="key"):
        fernet_for(keys)


@pytest.mark.parametrize(
    ("setting", "keys"),
    [
        ("", ["django secret"]),
        (None, ["django secret"]),
        (" , ", ["django secret"]),
        ("new", ["new", "django secret"]),
        ("new, old ,", ["new", "old", "django secret"]),
        (["new", "old"], ["new", "old", "django secret"]),
        ("new,django secret", ["new", "django secret"]),
    ],
)
def test_it_reads_the_keys_from_the_setting_and_keeps_the_secret_key_to_decrypt(setting, keys):
    assert keys_from(setting, "django secret") == keys
