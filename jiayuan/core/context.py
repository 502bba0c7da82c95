"""Where the current request came from, for audit events written deep inside services."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str = ""
    user_agent: str = ""
    channel: str = "web"  # web | api | cli | task


_OUTSIDE_REQUEST = RequestContext(channel="cli")
_current: ContextVar[RequestContext | None] = ContextVar("jiayuan_request_context", default=None)


def current() -> RequestContext:
    return _current.get() or _OUTSIDE_REQUEST


def set_current(ctx: RequestContext):
    return _current.set(ctx)


def reset(token) -> None:
    _current.reset(token)
