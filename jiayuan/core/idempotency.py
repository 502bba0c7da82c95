"""Retried writes are stored once: the first successful answer for a key is replayed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.core.models import IdempotencyRecord

__all__ = ["MAX_KEY_LENGTH", "run_idempotent"]

MAX_KEY_LENGTH = 200
MSG_BAD_KEY = "幂等键只能是200个字符以内的可打印字符"


def _stored(scope: str, key: str) -> tuple[int, Any] | None:
    row = IdempotencyRecord.objects.filter(scope=scope, key=key).values_list("status", "body").first()
    return (row[0], row[1]) if row else None


def run_idempotent(*, scope: str, key: str, fn: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    """Run ``fn`` (which returns ``(status, body)``) once per ``(scope, key)``.

    Without a key, ``fn`` simply runs. With one, a key already answered returns the stored
    ``(status, body)`` without calling ``fn``. ``fn`` and the record commit together, so a crash
    cannot leave a write without its record or the other way round. When two retries race, the
    loser's write is rolled back (the unique key, or ``fn``'s own constraint, stops it) and it
    answers with the winner's stored answer. An exception from ``fn`` stores nothing: a retry
    runs again.
    """
    if not key:
        return fn()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        # A NUL byte would make PostgreSQL fail with a 500; a cut key could collide with another.
        raise ValidationError({"idempotency_key": [MSG_BAD_KEY]})
    scope = scope[:200]
    stored = _stored(scope, key)
    if stored is not None:
        return stored
    try:
        with transaction.atomic():
            status, body = fn()
            IdempotencyRecord.objects.create(scope=scope, key=key, status=status, body=body)
    except Exception:
        # A concurrent retry with the same key may have committed first; then its answer is ours.
        stored = _stored(scope, key)
        if stored is not None:
            return stored
        raise
    return status, body
