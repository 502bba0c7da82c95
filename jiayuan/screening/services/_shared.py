"""What the screening services share: the refusal (``ScanRejected``) and its messages, barcode and
round checks, the error body and the idempotency scope of a scan."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from jiayuan.screening.choices import (
    RoundStatus,
)
from jiayuan.screening.models import (
    Round,
    Tube,
)

BARCODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")


class ScanRejected(ValidationError):
    """A refused scan or result: ``status`` is the HTTP answer (404 unknown, 409 conflict, 422
    bad input) and ``code`` a stable name for the case (``duplicate``, ``tube_full`` …)."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.message_text = message


MSG_ROUND_FINISHED = "本轮筛查已结束, 不能再采样"
MSG_UNKNOWN_CODE = "核酸码无效或不存在, 请核对后重扫"
MSG_NOT_IN_ROUND = "该居民不属于本轮筛查的居民区"
MSG_BAD_BARCODE = "试管条码无效(只能是字母、数字、-、_, 最长40位)"
MSG_UNKNOWN_TUBE = "未找到该试管, 请先扫描试管条码开管"
MSG_TUBE_CLOSED = "该试管已封管, 请开新管"
MSG_TUBE_FULL = "该试管已满, 请开新管"
MSG_NOT_ON_RETEST = "该居民不在本轮复核名单, 不能用单采复核管"


def _msg_duplicate(barcode: str) -> str:
    return f"该居民本轮已采样(试管 {barcode}), 无需重复采样"


def _ref(round_: Round, tube: Tube) -> str:
    return f"第{round_.pk}轮 {round_.date:%m-%d} 试管 {tube.barcode}"


def _clean_barcode(barcode: str) -> str:
    barcode = (barcode or "").strip()
    if not BARCODE_RE.match(barcode):
        raise ScanRejected(MSG_BAD_BARCODE, status=422, code="bad_barcode")
    return barcode


def _check_round_open(round_: Round) -> None:
    if round_.status != RoundStatus.OPEN:
        raise ScanRejected(MSG_ROUND_FINISHED, status=409, code="round_finished")


def error_body(exc: ValidationError) -> tuple[int, dict]:
    if isinstance(exc, ScanRejected):
        return exc.status, {"detail": exc.message_text, "code": exc.code, "errors": []}
    if hasattr(exc, "error_dict"):
        errors = [{"field": f, "message": m} for f, msgs in exc.message_dict.items() for m in msgs]
    else:
        errors = [{"field": "__all__", "message": m} for m in exc.messages]
    return 422, {"detail": "输入有误", "code": "invalid", "errors": errors}


def idempotency_scope(actor, round_: Round) -> str:
    return f"screening.sample:{getattr(actor, 'pk', '-')}:{round_.pk}"
