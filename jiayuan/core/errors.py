"""The database is restarting or unreachable: 503 with ``Retry-After``, never a 500.

Scanners and phones retry a 503 (with the same idempotency key, so nothing is stored twice); a
500 with an HTML page told them the request itself had failed for good. The API answers JSON
``{"detail", "code": "db_unavailable"}``, pages a short Chinese/English notice.

Two hooks, one answer: ``DatabaseUnavailableMiddleware`` for an error raised by a view (also with
DEBUG on), and ``server_error`` (``handler500``) for one raised in a middleware (the session or the
user loaded before the view).
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template import loader

__all__ = ["RETRY_AFTER", "DatabaseUnavailableMiddleware", "db_unavailable_response", "not_found", "server_error"]

RETRY_AFTER = 5  # seconds: a PostgreSQL restart or failover takes a few
log = logging.getLogger(__name__)

_PAGE = (
    "<!doctype html><html lang=zh-hans><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width, initial-scale=1'><title>请稍后重试 · 家园</title>"
    "<h1>系统繁忙, 请稍后重试</h1><p>数据库正在重启, 您刚才的操作没有完成, 请过几秒再试一次。</p>"
    "<p>The database is restarting. Please try again in a few seconds.</p></html>"
)


def _is_db_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def db_unavailable_response(request, exc: BaseException) -> HttpResponse:
    log.warning("database unavailable (%s): %s", request.path, exc)
    for conn in connections.all(initialized_only=True):
        conn.close_if_unusable_or_obsolete()  # the next request reconnects
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": "系统繁忙, 请稍后重试 / Service busy, please retry", "code": "db_unavailable", "errors": []},
            status=503,
        )
    else:
        response = HttpResponse(_PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if _is_db_unavailable(exception):
            return db_unavailable_response(request, exception)
        return None


def server_error(request):
    """``handler500``: the 503 above for a database outage, else the usual 500 page."""
    exc = sys.exc_info()[1]
    if _is_db_unavailable(exc):
        return db_unavailable_response(request, exc)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "系统出错了 / Server error", "code": "server_error", "errors": []}, status=500)
    return HttpResponse(loader.get_template("500.html").render(), status=500)


def not_found(request, exception=None):
    """``handler404``: JSON on the API (``{"detail", "code": "not_found"}``), the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "未找到", "code": "not_found", "errors": []}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
