"""Tubes opened and closed by hand, and a sampler's undo of their last scan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.screening.choices import (
    RetestStatus,
    TubeResult,
    TubeStatus,
)
from jiayuan.screening.models import (
    Retest,
    Round,
    Sample,
    Tube,
)
from jiayuan.screening.services._shared import MSG_TUBE_CLOSED, ScanRejected, _check_round_open, _clean_barcode

# --- Tubes and samples ----------------------------------------------------------------------------


@transaction.atomic
def tube_open(*, actor, round_: Round, barcode: str, is_retest: bool = False) -> Tube:
    """Open a tube by its barcode; an already open tube of this round is simply resumed."""
    _check_round_open(round_)
    barcode = _clean_barcode(barcode)
    tube = Tube.objects.filter(round=round_, barcode=barcode).first()
    if tube is None:
        try:
            with transaction.atomic():
                tube = Tube.objects.create(
                    round=round_,
                    neighbourhood_id=round_.neighbourhood_id,
                    barcode=barcode,
                    pool_size=1 if is_retest else round_.pool_size,
                    is_retest=is_retest,
                    opened_by=_user(actor),
                )
        except IntegrityError:  # a concurrent open of the same barcode won
            tube = Tube.objects.get(round=round_, barcode=barcode)
        else:
            audit_record(
                actor=actor,
                action="screening.tube_open",
                obj=tube,
                changes={"round": round_.pk, "pool_size": tube.pool_size, "retest": is_retest},
            )
            return tube
    if tube.status != TubeStatus.OPEN:
        raise ScanRejected(MSG_TUBE_CLOSED, status=409, code="tube_closed")
    return tube


@transaction.atomic
def tube_close(*, actor, tube: Tube) -> Tube:
    """Close a tube by hand (fewer swabs than its pool size); closing twice changes nothing."""
    tube = Tube.objects.select_for_update().get(pk=tube.pk)
    if tube.status == TubeStatus.CLOSED:
        return tube
    tube.status = TubeStatus.CLOSED
    tube.closed_at = timezone.now()
    tube.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, action="screening.tube_close", obj=tube, changes={"fill": tube.fill_count})
    return tube


UNDO_SECONDS = 60
MSG_UNDO_UNKNOWN = "没有这条采样记录, 可能已撤销"
MSG_UNDO_NOT_YOURS = "只能撤销自己扫的记录"
MSG_UNDO_NOT_LAST = "只能撤销自己最近一次扫码"
MSG_UNDO_LATE = "扫码已超过1分钟, 不能撤销; 如需更正请联系本轮负责人"
MSG_UNDO_RESULT = "该试管已有检测结果, 不能撤销"


@dataclass
class UndoOutcome:
    tube: Tube
    name: str
    reopened: bool


@transaction.atomic
def sample_undo(*, actor, round_: Round, sample_id: int) -> UndoOutcome:
    """Undo the sampler's own last scan within ``UNDO_SECONDS`` (a wrong person scanned, a swab
    dropped): the sample is deleted, its place in the tube is free again (a tube that closed
    itself on that swab opens again), a retest it answered is pending again. Audited. Refused
    (``ScanRejected``) for another user's scan, an older scan, after the minute, once the round
    is finished or the tube has a result."""
    _check_round_open(round_)
    user = _user(actor)
    sample = (
        Sample.objects.select_for_update(of=("self",))
        .select_related("resident")
        .filter(round=round_, pk=sample_id)
        .first()
        if isinstance(sample_id, int)
        else None
    )
    if sample is None:
        raise ScanRejected(MSG_UNDO_UNKNOWN, status=404, code="unknown_sample")
    if user is None or sample.sampled_by_id != user.pk:
        raise ScanRejected(MSG_UNDO_NOT_YOURS, status=403, code="not_yours")
    last = Sample.objects.filter(round=round_, sampled_by=user).order_by("-id").values_list("pk", flat=True).first()
    if last != sample.pk:
        raise ScanRejected(MSG_UNDO_NOT_LAST, status=409, code="not_last")
    if timezone.now() - sample.sampled_at > dt.timedelta(seconds=UNDO_SECONDS):
        raise ScanRejected(MSG_UNDO_LATE, status=409, code="too_late")
    tube = Tube.objects.select_for_update().get(pk=sample.tube_id)
    if tube.result != TubeResult.PENDING:
        raise ScanRejected(MSG_UNDO_RESULT, status=409, code="has_result")
    # Full and closed: it closed itself on a swab, this one being the last (a tube is closed by
    # hand only while it has room), so it opens again.
    reopened = tube.status == TubeStatus.CLOSED and tube.fill_count >= tube.pool_size
    tube.fill_count = max(tube.fill_count - 1, 0)
    fields = ["fill_count"]
    if reopened:
        tube.status, tube.closed_at = TubeStatus.OPEN, None
        fields += ["status", "closed_at"]
    tube.save(update_fields=fields)
    for row in Retest.objects.select_for_update().filter(retest_sample=sample):
        row.status, row.retest_sample = RetestStatus.PENDING, None
        if row.antigen_report_id:
            row.round = None
        row.save(update_fields=["status", "retest_sample", "round"])
    audit_record(
        actor=actor,
        action="screening.sample_undo",
        obj=sample,
        changes={
            "round": round_.pk,
            "tube": tube.barcode,
            "fill": tube.fill_count,
            "reopened": reopened,
            "retest": sample.is_retest,
        },
    )
    name = sample.display_name
    sample.delete()
    return UndoOutcome(tube=tube, name=name, reopened=reopened)
