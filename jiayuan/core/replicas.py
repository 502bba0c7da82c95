"""Read replicas: which database a read is served by (ADR 0008).

With ``DATABASE_REPLICA_URLS`` set, ``settings.DATABASES`` holds ``replica1``, ``replica2`` … beside
``default`` (the primary), and ``ReplicaRouter`` is installed. The rule is opt-in:

- Every read goes to the primary unless the code that makes it said it tolerates a few seconds of
  lag: a view decorated with ``@replica_ok`` (dashboards, roll-ups, exports, missed lists) or a
  block inside ``with replica_reads():`` (a Celery roll-up). A hot path that decides something (a
  scan, a gate passage, a quota, an order) says nothing and so always reads the primary.
- Every write goes to the primary; so does every read inside a transaction on the primary.
- Read-your-writes: a client that wrote (any POST/PUT/PATCH/DELETE, or any ORM write) is *pinned*
  to the primary for ``JIAYUAN_REPLICA_PIN_SECONDS`` (default 10). The client is its bearer token,
  its session cookie or its household link, whichever it sent; pins live in the cache (Redis in a
  shared deployment, so every app node sees them).
- A replica that cannot be reached is skipped for ``JIAYUAN_REPLICA_RETRY_SECONDS`` with a warning in
  the log, and the read is served by the primary: a replica down is never an error.

Without a replica configured none of this runs: no router, and the middleware passes through.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

__all__ = [
    "ReplicaRouter",
    "ReplicaRoutingMiddleware",
    "replica_aliases",
    "replica_ok",
    "replica_reads",
]

log = logging.getLogger(__name__)

PRIMARY = "default"
PIN_PREFIX = "jy:pin:"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass
class _Routing:
    lag_ok: bool = False  # the code making the reads said they may lag
    pinned: bool = False  # the client wrote a moment ago: read your writes
    wrote: bool = False  # this request or block wrote through the ORM
    replica: str | None = None  # the replica chosen for this request, once checked
    checked: bool = False


_state: ContextVar[_Routing | None] = ContextVar("jiayuan_replica_routing", default=None)
_down_until: dict[str, float] = {}


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block may be served by a replica (unless the client is pinned)."""
    outer = _state.get()
    routing = _Routing(lag_ok=True, pinned=bool(outer and (outer.pinned or outer.wrote)))
    token = _state.set(routing)
    try:
        yield
    finally:
        _state.reset(token)
        if outer is not None and routing.wrote:
            outer.wrote = True


def replica_ok(view):
    """Decorate a view whose reads tolerate a few seconds of lag (dashboards, exports, lists)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped


def _usable(alias: str) -> bool:
    conn = connections[alias]
    try:
        if conn.connection is None:
            conn.ensure_connection()
            return True
        if conn.is_usable():
            return True
        conn.close()
        conn.ensure_connection()
        return True
    except DatabaseError as exc:
        retry = getattr(settings, "JIAYUAN_REPLICA_RETRY_SECONDS", 10)
        _down_until[alias] = time.monotonic() + retry
        log.warning("replica %s unreachable, reads go to the primary for %ss: %s", alias, retry, exc)
        with suppress(DatabaseError):
            conn.close()
        return False


def _pick_replica(routing: _Routing) -> str | None:
    if routing.checked:
        return routing.replica
    routing.checked = True
    now = time.monotonic()
    candidates = [a for a in replica_aliases() if _down_until.get(a, 0.0) <= now]
    random.shuffle(candidates)  # spreading load, not security
    for alias in candidates:
        if _usable(alias):
            routing.replica = alias
            return alias
    return None


class ReplicaRouter:
    """Primary for writes and for every read that did not opt in; a healthy replica otherwise."""

    def db_for_read(self, model, **hints):
        routing = _state.get()
        if routing is None or not routing.lag_ok or routing.pinned or routing.wrote:
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return _pick_replica(routing) or PRIMARY

    def db_for_write(self, model, **hints):
        routing = _state.get()
        if routing is not None:
            routing.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replicas hold the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


def _client_keys(request, response=None) -> list[str]:
    """Who the client is, for pinning: token, session cookie or household link (hashed)."""
    keys = []
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth:
        keys.append("a:" + auth)
    session_cookie = settings.SESSION_COOKIE_NAME
    if request.COOKIES.get(session_cookie):
        keys.append("s:" + request.COOKIES[session_cookie])
    if response is not None and session_cookie in response.cookies and response.cookies[session_cookie].value:
        keys.append("s:" + response.cookies[session_cookie].value)  # signed in just now: a new session
    if request.path.startswith("/h/"):
        keys.append("h:" + request.path.split("/")[2])
    return [PIN_PREFIX + hashlib.sha256(k.encode()).hexdigest()[:32] for k in keys]


class ReplicaRoutingMiddleware:
    """Pin a client that wrote to the primary for a few seconds; nothing at all without replicas."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.enabled = bool(replica_aliases())

    def __call__(self, request):
        if not self.enabled:
            return self.get_response(request)
        keys = _client_keys(request)
        pinned = bool(keys) and bool(cache.get_many(keys))
        routing = _Routing(pinned=pinned)
        token = _state.set(routing)
        try:
            response = self.get_response(request)
        finally:
            _state.reset(token)
        if routing.wrote or request.method not in _SAFE_METHODS:
            seconds = getattr(settings, "JIAYUAN_REPLICA_PIN_SECONDS", 10)
            cache.set_many(dict.fromkeys(_client_keys(request, response), 1), timeout=seconds)
        return response
