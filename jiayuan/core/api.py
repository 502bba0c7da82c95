"""API plumbing shared by every app's router: bearer-token auth, JSON error shapes, the error
answers each operation declares, and the input types whose OpenAPI format matches what they accept.

The OpenAPI document is a contract: every status code an endpoint really returns is declared with
its schema (``answers``), and ``jiayuan/tests/test_schemathesis.py`` checks it with generated
requests on every run of the suite.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination
from ninja.security import HttpBearer, django_auth
from pydantic import BaseModel, BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

__all__ = [
    "API_AUTH",
    "MAX_ID",
    "Day",
    "ErrorOut",
    "HotView",
    "Id",
    "LocalTime",
    "Pagination",
    "answered",
    "answers",
    "hot_urls",
    "install_error_handlers",
    "scanner_payload",
]

# Ids are bigint on PostgreSQL: a larger number is bad input (422), not an overflow (500).
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# A date someone types for something that happened or will happen during an epidemic: ISO text
# only (pydantic would read ``0`` as 1970-01-01), within a plausible range.
EARLIEST_DAY = dt.date(2020, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_format", "日期格式应为 YYYY-MM-DD")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and _DAY_RE.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_invalid", "不是有效的日期") from None
    else:
        raise PydanticCustomError("date_format", "日期格式应为 YYYY-MM-DD")
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise PydanticCustomError("date_range", "日期应在 2020-01-01 至 2099-12-31 之间")
    return day


Day = Annotated[
    dt.date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD, 2020-01-01 至 2099-12-31"}),
]

# A wall-clock time in the neighbourhood (a round's opening hours): "HH:MM" or "HH:MM:SS",
# no zone. JSON Schema's ``format: time`` requires a zone, so the document says the pattern.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_TIME_RE = re.compile(TIME_PATTERN)


def _local_time(value: Any) -> dt.time:
    if isinstance(value, dt.time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and _TIME_RE.fullmatch(value):
        return dt.time.fromisoformat(value)
    raise PydanticCustomError("time_format", "时间格式应为 HH:MM(当地时间, 不带时区)")


LocalTime = Annotated[
    dt.time,
    BeforeValidator(_local_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "example": "08:00", "description": "当地时间 HH:MM"}),
]


class _Bearer(HttpBearer):
    """ninja's ``HttpBearer`` reading the header straight from ``request.META``: ``request.headers``
    builds a dict of every header on first use, which a scanner's request would otherwise pay for
    this one header (the hot paths, ADR 0023)."""

    def __call__(self, request):
        auth_value = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _sep, token = auth_value.partition(" ")
        if not auth_value or scheme.lower() != self.openapi_scheme:
            return None
        return self.authenticate(request, token)


class BearerToken(_Bearer):
    """``Authorization: Bearer <token>`` from ``jiayuan create-token``."""

    def authenticate(self, request, token):
        from jiayuan.accounts.services import api_token_authenticate

        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


# A token for scanners and other systems; the session cookie for pages that call the API.
API_AUTH = [BearerToken(), django_auth]


class PendingToken:
    """A bearer key not looked up yet (``DeferredBearerToken``): the endpoint reads it in its own
    statement and raises ``AuthenticationError`` (401) when it names no live token."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


class DeferredBearerToken(_Bearer):
    """``Authorization: Bearer <token>`` for a hot path that reads the token together with its
    own rows, in one statement (the gate's scan, ADR 0023): what cannot be a token is refused
    here, the rest is looked up by the endpoint (``request.auth`` is a ``PendingToken`` until
    then). A request whose body is invalid is still answered 401 first when its token is not live
    (``install_error_handlers``), as with ``BearerToken``."""

    def authenticate(self, request, token):
        if not token or not token.startswith("jy_"):
            return None
        return PendingToken(token)


# The same two ways in, for the endpoints that look their token up themselves.
_DEFERRED_BEARER = DeferredBearerToken()
DEFERRED_AUTH = [_DEFERRED_BEARER, django_auth]


class Pagination(LimitOffsetPagination):
    """ninja's limit/offset with bounds, for every list endpoint: an unbounded offset reached
    SQLite as a LIMIT it cannot hold and PostgreSQL as an OFFSET beyond bigint (a 500)."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=1000)
        offset: int = Field(0, ge=0, le=10**9)


class ScannerInput(BaseModel):
    """The body of a scanner's hot path (the gate scan, the sample scan and its batch): a plain
    pydantic model, not a ninja ``Schema``. A ``Schema`` validates through a wrapper that reads
    Django objects' attributes, which a JSON body never needs; the OpenAPI document is the same
    (ADR 0023)."""


Body = TypeVar("Body", bound=BaseModel)


def scanner_payload(request: HttpRequest, model: type[Body]) -> Body | None:
    """A hot view's body as its ninja operation reads it (the JSON parsed as ninja's parser does,
    then validated by the operation's own input model), or None when it is not valid: the hot view
    then hands the request to ninja's operation, which answers the 400 or 422 as for any other
    endpoint (``hot_urls``)."""
    if not request.body:
        return None
    try:
        return model.model_validate(json.loads(request.body))
    except (ValueError, PydanticValidationError):  # ValueError: not JSON (or not UTF-8)
        return None


# A hot view: ``(request, **path parameters) -> HttpResponse``, or None to let ninja's operation
# answer the request after all (a body it did not accept).
HotView = Callable[..., HttpResponse | None]


def hot_urls(api, views: dict[str, HotView]) -> tuple[list, str, str]:
    """``api.urls`` with some paths' bearer-token POSTs served by a plain Django view first.

    For a morning peak's hot path (the gate scan, ADR 0023): ninja's operation around a view
    (finding the operation, the auth callbacks, the parameter models, a response to copy headers
    from) cost a scan more CPU than the rest of Django's request handling does for the ceiling.
    The operation stays what the OpenAPI document describes, and serves everything else at that
    path: other methods, a session's requests (CSRF checked there), any other kind of token, a
    body the hot view does not accept (its 400/422), so those answers are ninja's own. The hot view
    gets ``request.auth`` as ninja's ``DeferredBearerToken`` would set it (a ``PendingToken``), and
    its exceptions go to ``api.on_exception``, the same handlers as every operation's.

    ``views`` maps a route as ninja writes it (``"gate-passages"``) to its hot view."""
    patterns, app_name, namespace = api.urls
    unknown = set(views) - {str(p.pattern) for p in patterns}
    if unknown:
        raise ValueError(f"no API path {', '.join(sorted(unknown))}")
    out = []
    for p in patterns:
        hot = views.get(str(p.pattern))
        if hot is not None:
            p = URLPattern(p.pattern, _hot_view(api, hot, p.callback), p.default_args, p.name)
        out.append(p)
    return out, app_name, namespace


def _hot_view(api, hot: HotView, operation_view):
    @functools.wraps(operation_view)  # csrf_exempt as ninja's: the operation checks CSRF for sessions
    def view(request, *args, **kwargs):
        # The header read as the operation's own auth reads it: a PendingToken, or None.
        pending = _DEFERRED_BEARER(request) if request.method == "POST" else None
        if pending is None:
            return operation_view(request, *args, **kwargs)
        request.auth = pending
        try:
            response = hot(request, *args, **kwargs)
        except Exception as exc:  # as ninja's Operation.run: its handlers, or raised again
            return api.on_exception(request, exc)
        return response if response is not None else operation_view(request, *args, **kwargs)

    return view


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    """Every error: ``detail`` for people, ``code`` for programs, ``errors`` per field (422)."""

    detail: str
    code: str = ""
    errors: list[FieldError] = []


# Any operation may answer these: no or a bad token, bad input, the database restarting. Every
# write also declares 403: a caller signed in by session cookie without the CSRF token gets one.
COMMON_ERRORS = (401, 422, 503)


def answers(ok: dict[int, Any] | Any, *errors: int) -> dict[int, Any]:
    """``response=`` for an endpoint: its success answers plus each error it may give, with the
    common ones (401, 422, 503); e.g. ``answers({201: RoundOut}, 403, 404, 409)``."""
    declared = dict(ok) if isinstance(ok, dict) else {200: ok}
    for code in sorted({*COMMON_ERRORS, *errors}):
        declared[code] = ErrorOut
    return declared


def answered(status: int, data: dict) -> HttpResponse:
    """A hot path's answer, already in the shape its operation declares (``answers``), rendered
    as ninja renders it but without ninja validating it again against its schema (a scan at a
    gate: ADR 0023). The OpenAPI document still declares the schema; the endpoint's tests check
    the answer against it."""
    try:
        body = json.dumps(data)  # plain values: json's own encoder, built once per process
    except TypeError:
        body = json.dumps(data, cls=DjangoJSONEncoder)  # lazy translations, dates and decimals as ninja writes them
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")


def _field_name(loc: list) -> str:
    # ninja locations look like ["query", "building"] or ["body", "payload", "items", 0, "tube"].
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "payload", "form")]
    return ".".join(parts) or "__all__"


def _error(api, request, status: int, detail: str, code: str, errors: list | None = None):
    return api.create_response(request, {"detail": detail, "code": code, "errors": errors or []}, status=status)


_CODES = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 409: "conflict", 429: "throttled"}


def install_error_handlers(api) -> None:
    """Every error is JSON ``{"detail", "code", "errors": [{"field", "message"}]}``; none is a 500."""

    def _token_not_live(request) -> bool:
        """A deferred token (``PendingToken``) that names no live token: its request is answered
        401 before anything is said about its body."""
        pending = getattr(request, "auth", None)
        if not isinstance(pending, PendingToken):
            return False
        from jiayuan.accounts.services import api_token_authenticate

        return api_token_authenticate(pending.key) is None

    @api.exception_handler(NinjaValidationError)
    def _ninja_validation(request, exc):
        if _token_not_live(request):
            return _error(api, request, 401, "请先登录或提供有效的令牌", "unauthenticated")
        errors = [{"field": _field_name(list(e.get("loc", []))), "message": _pydantic_message(e)} for e in exc.errors]
        return _error(api, request, 422, "输入有误", "invalid", errors)

    @api.exception_handler(DjangoValidationError)
    def _django_validation(request, exc):
        if hasattr(exc, "error_dict"):
            errors = [{"field": f, "message": m} for f, msgs in exc.message_dict.items() for m in msgs]
        else:
            errors = [{"field": "__all__", "message": m} for m in exc.messages]
        return _error(api, request, 422, "输入有误", "invalid", errors)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return _error(api, request, 404, "未找到", "not_found")

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        return _error(api, request, 401, "请先登录或提供有效的令牌", "unauthenticated")

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return _error(api, request, 403, str(exc) or "没有权限", "forbidden")

    @api.exception_handler(HttpError)
    def _http_error(request, exc):
        if exc.status_code == 400:
            if _token_not_live(request):
                return _error(api, request, 401, "请先登录或提供有效的令牌", "unauthenticated")
            # A body that is not JSON is bad input like any other: 422 with the field.
            return _error(api, request, 422, "输入有误", "invalid", [{"field": "body", "message": "不是有效的 JSON"}])
        return _error(api, request, exc.status_code, str(exc), _CODES.get(exc.status_code, "error"))


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
    kind = error.get("type", "")
    message = _PYDANTIC_MESSAGES.get(kind, error.get("msg", "输入有误"))
    expected = (error.get("ctx") or {}).get("expected")
    if kind in ("enum", "literal_error") and expected:
        # A bad choice names the allowed values.
        message = f"{message}: {expected}"
    return message
