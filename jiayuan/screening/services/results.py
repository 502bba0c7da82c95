"""Tube results: one, or many at once, with the pooled-positive retests they start."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.core.audit import audit_event, audit_record
from jiayuan.core.extensions import publish
from jiayuan.core.models import AuditEvent
from jiayuan.screening.choices import (
    RetestStatus,
    TubeResult,
    TubeStatus,
)
from jiayuan.screening.models import (
    Retest,
    Round,
    Tube,
)
from jiayuan.screening.services._shared import ScanRejected, _ref, error_body

# --- Results --------------------------------------------------------------------------------------


@dataclass
class ResultOutcome:
    tube: Tube
    changed: bool
    retests: int = 0


MSG_RESULT_CONFLICT = "该试管已有结果({old}), 不能改为{new}; 如需更正请联系居委会负责人"


@transaction.atomic
def tube_result_record(*, actor, round_: Round, barcode: str, result: str) -> ResultOutcome:
    """Record a tube's lab result and fan it out.

    - pooled tube (pool size > 1) positive: every member goes on the retest list under temporary
      home control, and ``screening.pool_positive`` is published;
    - tube of one positive: ``screening.positive`` for that resident;
    - individual retest tube: positive → ``screening.positive``; negative → the member's home
      control ends and ``screening.retest_negative`` is published.

    The same result twice changes nothing; a different result for a tube that has one is refused.
    """
    barcode = (barcode or "").strip()
    if result not in (TubeResult.NEGATIVE, TubeResult.POSITIVE):
        raise ScanRejected("结果应为阴性或阳性", status=422, code="bad_result")
    tube = Tube.objects.select_for_update().filter(round=round_, barcode=barcode).first()
    if tube is None:
        raise ScanRejected(f"本轮没有试管 {barcode}" if barcode else "请填写试管条码", status=404, code="unknown_tube")
    if tube.status != TubeStatus.CLOSED:
        raise ScanRejected(f"试管 {barcode} 尚未封管, 不能录入结果", status=409, code="tube_open")
    if tube.result == result:
        return ResultOutcome(tube=tube, changed=False)
    if tube.result != TubeResult.PENDING:
        raise ScanRejected(
            MSG_RESULT_CONFLICT.format(old=tube.get_result_display(), new=TubeResult(result).label),
            status=409,
            code="result_conflict",
        )
    tube.result = result
    tube.result_at = timezone.now()
    tube.save(update_fields=["result", "result_at"])
    audit_record(actor=actor, action="screening.tube_result", obj=tube, changes={"result": result, "round": round_.pk})
    samples = list(tube.samples.select_related("resident"))
    today = timezone.localdate()
    ref = _ref(round_, tube)
    retests = 0
    if tube.is_retest:
        for sample in samples:
            rows = list(Retest.objects.select_for_update().filter(retest_sample=sample).order_by("id"))
            if not rows:
                continue
            for row in rows:
                if row.status == RetestStatus.CONFIRMED:
                    continue  # staff confirmed the antigen result meanwhile: the case is open
                row.status = RetestStatus.POSITIVE if result == TubeResult.POSITIVE else RetestStatus.NEGATIVE
                row.resolved_at = timezone.now()
                if result == TubeResult.NEGATIVE:
                    row.home_control = False
                row.save(update_fields=["status", "resolved_at", "home_control"])
                audit_record(actor=actor, action="screening.retest_result", obj=row, changes={"result": result})
            if sample.resident_id:
                if result == TubeResult.POSITIVE:
                    publish(
                        "screening.positive",
                        resident=sample.resident,
                        detected_on=today,
                        source="pcr",
                        actor=actor,
                        ref=ref + " 单采复核",
                    )
                else:
                    publish("screening.retest_negative", resident=sample.resident, actor=actor, ref=ref)
    elif result == TubeResult.POSITIVE and tube.pool_size == 1:
        for sample in samples:
            if sample.resident_id:
                publish(
                    "screening.positive",
                    resident=sample.resident,
                    detected_on=today,
                    source="pcr",
                    actor=actor,
                    ref=ref,
                )
    elif result == TubeResult.POSITIVE:
        rows = [
            Retest(
                round=round_,
                neighbourhood_id=round_.neighbourhood_id,
                building_id=s.building_id,
                resident_id=s.resident_id,
                sample=s,
                source_tube=tube,
                home_control=True,
            )
            for s in samples
        ]
        Retest.objects.bulk_create(rows)
        retests = len(rows)
        audit_record(
            actor=actor,
            action="screening.retest_list",
            obj=tube,
            changes={"members": retests, "home_control": True},
        )
        residents = [s.resident for s in samples if s.resident_id]
        publish("screening.pool_positive", residents=residents, detected_on=today, actor=actor, ref=ref)
    return ResultOutcome(tube=tube, changed=True, retests=retests)


def tube_result_one(*, actor, round_: Round, barcode: str, result: str) -> tuple[int, dict]:
    """One result as ``(status, body)``, in its own savepoint (for item-by-item answers)."""
    try:
        with transaction.atomic():
            outcome = tube_result_record(actor=actor, round_=round_, barcode=barcode, result=result)
    except ValidationError as exc:
        return error_body(exc)
    return 200, {
        "tube": outcome.tube.barcode,
        "result": outcome.tube.result,
        "changed": outcome.changed,
        "retests": outcome.retests,
    }


@transaction.atomic
def tube_results_record_many(*, actor, round_: Round, items: list[tuple[str, str]]) -> list[tuple[int, dict]]:
    """Many ``(barcode, result)`` at once, answered item by item as ``tube_result_one`` would.

    A lab sends thousands of results in one file, nearly all negative: those are written in a few
    statements whatever their number (the tubes locked and read in one query, one UPDATE per
    result, the audit rows in one INSERT). A result that fans out (a positive, or any retest tube)
    goes through ``tube_result_record`` in its own savepoint, as before.
    """
    answers: list[tuple[int, dict] | None] = [None] * len(items)
    barcodes = [(b or "").strip() for b, _r in items]
    seen = Counter(barcodes)
    tubes = {
        t.barcode: t for t in Tube.objects.select_for_update().filter(round=round_, barcode__in=set(barcodes) - {""})
    }
    negatives: list[Tube] = []  # every other result fans out and goes the one-by-one way
    for i, (barcode, (_raw, result)) in enumerate(zip(barcodes, items, strict=True)):
        tube = tubes.get(barcode)
        simple = (
            tube is not None
            and seen[barcode] == 1  # a tube named twice is answered in order, one by one
            and tube.status == TubeStatus.CLOSED
            and tube.result == TubeResult.PENDING
            and not tube.is_retest
            and result == TubeResult.NEGATIVE
        )
        if not simple:
            answers[i] = tube_result_one(actor=actor, round_=round_, barcode=barcode, result=result)
            continue
        negatives.append(tube)
        answers[i] = (200, {"tube": barcode, "result": result, "changed": True, "retests": 0})
    if negatives:
        Tube.objects.filter(pk__in=[t.pk for t in negatives]).update(
            result=TubeResult.NEGATIVE, result_at=timezone.now()
        )
    audit_rows = [
        audit_event(
            actor=actor,
            action="screening.tube_result",
            obj=t,
            neighbourhood_id=round_.neighbourhood_id,
            changes={"result": TubeResult.NEGATIVE, "round": round_.pk},
        )
        for t in negatives
    ]
    AuditEvent.objects.bulk_create(audit_rows, batch_size=1000)
    return [a for a in answers if a is not None]
