from __future__ import annotations

import json

from django.http import HttpResponse, JsonResponse

from jiayuan.core import context

NUL_MESSAGE = "输入中不能含有空字符 (\\u0000) / Input must not contain NUL characters"


def _has_nul(value) -> bool:
    """A NUL anywhere in a decoded JSON value: keys, strings, nested lists and objects."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _fields_have_nul(data) -> bool:
    """A NUL in any key or value of a QueryDict (every value of a repeated key)."""
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


def _body_has_nul(request) -> bool:
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        return False  # file uploads: a photo may contain zero bytes; the form fields are checked below
    if content_type == "application/x-www-form-urlencoded":
        return False  # checked as request.POST
    body = request.body
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body:  # the cheap test first: the scanner's hot path rarely has a backslash
        return False
    try:
        return _has_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: whoever parses it refuses it


class RejectNulMiddleware:
    """A NUL character in what a client sends is a 400/422, not a 500.

    PostgreSQL text cannot hold NUL, so ``?q=%00`` reached the database as an error. This looks
    once, before any view, at the query string, at form fields (urlencoded or multipart, not the
    uploaded files) and at any other body as JSON (the API parses bodies whatever their declared
    type), so views that read ``request.POST`` directly are covered too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = "\x00" in request.path or _fields_have_nul(request.GET)
        if not bad and request.method not in ("GET", "HEAD", "OPTIONS"):
            bad = _body_has_nul(request) or (
                request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
                and _fields_have_nul(request.POST)
            )
        if bad:
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "输入有误", "code": "invalid", "errors": [{"field": "__all__", "message": NUL_MESSAGE}]},
                    status=422,
                )
            return HttpResponse(NUL_MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class RequestContextMiddleware:
    """Record the client address and channel for audit events written during this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        channel = "api" if request.path.startswith("/api/") else "web"
        token = context.set_current(
            context.RequestContext(
                ip=request.META.get("REMOTE_ADDR", "")[:64],
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
                channel=channel,
            )
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)
