"""Encryption at rest and keyed hashes for ID numbers and phone numbers.

Values are encrypted with MultiFernet so keys can be rotated: the first key in
``JIAYUAN_FIELD_KEYS`` encrypts, every key decrypts, and ``jiayuan rotate-keys`` re-encrypts
stored values under the first key. Beside each ciphertext we store an HMAC-SHA256 of the
normalised value under ``JIAYUAN_HASH_KEY``: it supports exact lookup and de-duplication
without decrypting, and is useless to someone who has the database but not the key.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["DecryptionError", "decrypt", "encrypt", "keyed_hash", "reset_keys", "rotate"]


class DecryptionError(Exception):
    """The stored value cannot be decrypted with any configured key."""


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = settings.JIAYUAN_FIELD_KEYS
    if not keys:
        raise RuntimeError("JIAYUAN_FIELD_KEYS is empty: no key to encrypt personal data with")
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


@lru_cache(maxsize=1)
def _hash_key() -> bytes:
    return settings.JIAYUAN_HASH_KEY.encode()


def reset_keys() -> None:
    """Forget cached keys (after settings change in tests or key rotation)."""
    _fernet.cache_clear()
    _hash_key.cache_clear()


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DecryptionError("stored value cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the primary key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of an already-normalised value, hex; '' for an empty value."""
    if not value:
        return ""
    # One-shot hmac.digest runs in C: it matters when an import hashes 200,000 values.
    return hmac.digest(_hash_key(), value.encode("utf-8"), "sha256").hex()
