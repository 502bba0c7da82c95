from __future__ import annotations

from django.http import HttpResponse, JsonResponse

from jiayuan.core import context

NUL_MESSAGE = "输入中不能含有空字符 (\\u0000) / Input must not contain NUL characters"


class RejectNulMiddleware:
    """A NUL character in a query string or a JSON body is a 400/422, not a 500.

    PostgreSQL text cannot hold NUL, so ``?q=%00`` reached the database as an error. Form fields
    already refuse it (Django's ``ProhibitNullCharactersValidator``); this covers the query
    string on every page and the JSON bodies of the API, once, before any view. File uploads
    (multipart) are left alone: a photo may contain zero bytes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = "\x00" in request.path or any(
            "\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()
        )
        if not bad and request.content_type == "application/json":
            body = request.body
            bad = b"\x00" in body or b"\\u0000" in body
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
