"""Secrets for the laptop install.

A shared deployment passes every secret in the environment. The laptop in the committee office
has no one to set environment variables, so on first start we generate the secrets once into
``var/secrets.json`` (mode 0600) and reuse them. Losing that file means losing the ability to
decrypt ID numbers and phones, which is why the operator guide tells you to back it up.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def _new_secrets() -> dict[str, str]:
    return {
        "JIAYUAN_SECRET_KEY": secrets.token_urlsafe(50),
        # Fernet keys: 32 url-safe base64-encoded bytes. A comma-separated list; the first encrypts.
        "JIAYUAN_FIELD_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "JIAYUAN_HASH_KEY": secrets.token_urlsafe(32),
    }


def load(var_dir: Path) -> dict[str, str]:
    """Return the secrets: environment first, then ``var/secrets.json``, generating it if missing."""
    names = ("JIAYUAN_SECRET_KEY", "JIAYUAN_FIELD_KEYS", "JIAYUAN_HASH_KEY")
    if all(os.environ.get(n) for n in names):
        return {n: os.environ[n] for n in names}
    path = var_dir / "secrets.json"
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    else:
        var_dir.mkdir(parents=True, exist_ok=True)
        stored = _new_secrets()
        # Write atomically with restrictive permissions: the file holds the data-encryption key.
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(stored, fh, indent=2)
        os.replace(tmp, path)
    return {n: os.environ.get(n) or stored[n] for n in names}
