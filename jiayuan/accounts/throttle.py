"""Counting wrong passwords per account and per client address (ASVS 2.2.1).

The counts live in Django's cache: per process on the laptop (one process), shared through Redis
in a deployment with several app nodes. Each count expires ``JIAYUAN_LOGIN_LOCK_SECONDS`` after
its first failure; while a count is at its limit, sign-in is refused even with the right password.
A successful sign-in clears the account's count (not the address's: an office behind one address
must not be able to clear the count of someone guessing from it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

__all__ = ["Status", "clear_account", "client_address", "record_failure", "status"]

_PREFIX = "jiayuan:login-fail:"


def _account_key(username: str) -> str:
    # Hashed: user names are free text (any length, any character) and cache keys are not.
    digest = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:32]
    return f"{_PREFIX}u:{digest}"


def _address_key(address: str) -> str:
    return f"{_PREFIX}a:{address}"


def client_address(request) -> str:
    """The address the request came from (the proxy's, unless Django is told to trust a header)."""
    if request is None:
        return ""
    return (request.META.get("REMOTE_ADDR") or "")[:64]


@dataclass(frozen=True)
class Status:
    account_failures: int
    address_failures: int

    @property
    def locked(self) -> bool:
        return (
            self.account_failures >= settings.JIAYUAN_LOGIN_MAX_FAILURES_PER_ACCOUNT
            or self.address_failures >= settings.JIAYUAN_LOGIN_MAX_FAILURES_PER_ADDRESS
        )

    @property
    def minutes(self) -> int:
        """The lock period in whole minutes, for the message."""
        return max(1, -(-settings.JIAYUAN_LOGIN_LOCK_SECONDS // 60))


def status(username: str, address: str) -> Status:
    keys = [_account_key(username)] + ([_address_key(address)] if address else [])
    found = cache.get_many(keys)
    return Status(
        account_failures=int(found.get(keys[0], 0)),
        address_failures=int(found.get(keys[1], 0)) if address else 0,
    )


def _incr(key: str) -> int:
    # add() sets the expiry once, at the first failure; incr() keeps it (locmem and Redis alike).
    cache.add(key, 0, timeout=settings.JIAYUAN_LOGIN_LOCK_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.JIAYUAN_LOGIN_LOCK_SECONDS)
        return 1


def record_failure(username: str, address: str) -> Status:
    account = _incr(_account_key(username))
    addr = _incr(_address_key(address)) if address else 0
    return Status(account_failures=account, address_failures=addr)


def clear_account(username: str) -> None:
    cache.delete(_account_key(username))
