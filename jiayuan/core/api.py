"""API plumbing shared by every app's router: bearer-token auth and JSON error shapes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination
from ninja.security import HttpBearer, django_auth

__all__ = ["API_AUTH", "ErrorOut", "Pagination", "install_error_handlers"]


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>`` from ``jiayuan create-token``."""

    def authenticate(self, request, token):
        from jiayuan.accounts.services import api_token_authenticate

        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


# A token for scanners and other systems; the session cookie for pages that call the API.
API_AUTH = [BearerToken(), django_auth]


class Pagination(LimitOffsetPagination):
    """ninja's limit/offset with bounds, for every list endpoint: an unbounded offset reached
    SQLite as a LIMIT it cannot hold and PostgreSQL as an OFFSET beyond bigint (a 500)."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=1000)
        offset: int = Field(0, ge=0, le=10**9)


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldError] = []


def _field_name(loc: list) -> str:
    # ninja locations look like ["query", "building"] or ["body", "payload", "items", 0, "tube"].
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "payload", "form")]
    return ".".join(parts) or "__all__"


def install_error_handlers(api) -> None:
    """Every error is JSON ``{"detail": ..., "errors": [{"field", "message"}]}``; none is a 500."""

    @api.exception_handler(NinjaValidationError)
    def _ninja_validation(request, exc):
        errors = [{"field": _field_name(list(e.get("loc", []))), "message": _pydantic_message(e)} for e in exc.errors]
        return api.create_response(request, {"detail": "输入有误", "errors": errors}, status=422)

    @api.exception_handler(DjangoValidationError)
    def _django_validation(request, exc):
        if hasattr(exc, "error_dict"):
            errors = [{"field": f, "message": m} for f, msgs in exc.message_dict.items() for m in msgs]
        else:
            errors = [{"field": "__all__", "message": m} for m in exc.messages]
        return api.create_response(request, {"detail": "输入有误", "errors": errors}, status=422)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return api.create_response(request, {"detail": "未找到", "errors": []}, status=404)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        return api.create_response(request, {"detail": "请先登录或提供有效的令牌", "errors": []}, status=401)

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return api.create_response(request, {"detail": str(exc) or "没有权限", "errors": []}, status=403)

    @api.exception_handler(HttpError)
    def _http_error(request, exc):
        return api.create_response(request, {"detail": str(exc), "errors": []}, status=exc.status_code)


_PYDANTIC_MESSAGES = {
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "missing": "必填",
    "string_too_long": "过长",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "enum": "不是可选值之一",
    "literal_error": "不是可选值之一",
    "json_invalid": "不是有效的 JSON",
}


def _pydantic_message(error: dict) -> str:
    return _PYDANTIC_MESSAGES.get(error.get("type", ""), error.get("msg", "输入有误"))
