"""Cases (病例): recorded, moved along their transitions, voided; the case's events."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from jiayuan.control import zones
from jiayuan.control.choices import (
    CASE_TRANSITIONS,
    CLOSED_CASE_STATUSES,
    CaseSource,
    CaseStatus,
    CaseType,
    QuarantineStatus,
)
from jiayuan.control.models import (
    Case,
    CaseEvent,
    Contact,
    Quarantine,
)
from jiayuan.control.services._shared import (
    _check_date,
    _place_of,
    _quarantine_end,
    _today,
)
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record

# --- Cases -------------------------------------------------------------------------------------


@transaction.atomic
def case_record(
    *,
    actor,
    resident,
    detected_on: dt.date,
    source: str,
    type: str = CaseType.ASYMPTOMATIC,
    ref: str = "",
    notes: str = "",
) -> Case:
    """Open the resident's case, or update their open one (idempotent for the same resident).

    A second report for an open case keeps the earliest detection date, upgrades an
    asymptomatic case to confirmed, and changes nothing else. Opening a case ends the resident's
    active quarantines (transferred) and recomputes the zone levels of the neighbourhood.
    """
    errors: dict[str, list[str]] = {}
    if source not in CaseSource.values:
        errors["source"] = ["来源应为 pcr_round、antigen 或 district_notice"]
    if type not in CaseType.values:
        errors["type"] = ["类型应为 confirmed(确诊)或 asymptomatic(无症状)"]
    try:
        _check_date("detected_on", detected_on, label="检出日期")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    existing = (
        Case.objects.select_for_update().filter(resident=resident).exclude(status__in=CLOSED_CASE_STATUSES).first()
    )
    if existing is not None:
        changed = {}
        if detected_on < existing.detected_on:
            changed["detected_on"] = [str(existing.detected_on), str(detected_on)]
            existing.detected_on = detected_on
        if type == CaseType.CONFIRMED and existing.type != CaseType.CONFIRMED:
            changed["type"] = [existing.type, type]
            existing.type = type
        if changed:
            existing.save(update_fields=["detected_on", "type", "updated_at"])
            audit_record(actor=actor, action="case.update", obj=existing, changes={**changed, "ref": ref})
            if "detected_on" in changed:
                zones.zone_recompute(actor=actor, neighbourhood_ids=[existing.neighbourhood_id])
        return existing

    place = _place_of(resident)
    household = place["household"]
    try:
        with transaction.atomic():
            case = _case_create(resident, place, household, detected_on, source, type, ref, notes)
    except IntegrityError:
        # A concurrent report for the same resident opened the case first: update that one.
        if not Case.objects.filter(resident=resident).exclude(status__in=CLOSED_CASE_STATUSES).exists():
            raise
        return case_record(
            actor=actor, resident=resident, detected_on=detected_on, source=source, type=type, ref=ref, notes=notes
        )
    CaseEvent.objects.create(
        case=case, from_status="", to_status=CaseStatus.AT_HOME, on=detected_on, note="登记", actor=_user(actor)
    )
    audit_record(
        actor=actor,
        action="case.create",
        obj=case,
        changes={"detected_on": str(detected_on), "source": source, "type": type, "ref": ref},
    )
    for q in Quarantine.objects.select_for_update().filter(resident=resident, status=QuarantineStatus.ACTIVE):
        _quarantine_end(actor=actor, quarantine=q, status=QuarantineStatus.TRANSFERRED, reason="转为阳性病例")
    zones.zone_recompute(actor=actor, neighbourhood_ids=[case.neighbourhood_id])
    return case


def _case_create(resident, place, household, detected_on, source, type, ref, notes) -> Case:
    return Case.objects.create(
        neighbourhood_id=place["neighbourhood_id"],
        household=household,
        building_id=place["building_id"],
        compound_id=household.building.compound_id if household else None,
        resident=resident,
        detected_on=detected_on,
        source=source,
        type=type,
        status=CaseStatus.AT_HOME,
        status_on=detected_on,
        ref=ref[:100],
        notes=notes,
    )


@transaction.atomic
def case_transition(*, actor, case: Case, to_status: str, on: dt.date | None = None, note: str = "") -> Case:
    """Move a case to its next status (转运 → 治愈 → 解除), dated and audited."""
    case = Case.objects.select_for_update().select_related("resident").get(pk=case.pk)
    on = on or _today()
    if to_status not in CaseStatus.values:
        raise ValidationError({"to_status": ["未知的病例状态"]})
    if to_status not in CASE_TRANSITIONS[case.status]:
        allowed = "、".join(str(CaseStatus(s).label) for s in CASE_TRANSITIONS[case.status]) or "无"
        raise ValidationError(
            {
                "to_status": [
                    f"病例当前为「{CaseStatus(case.status).label}」, 不能变更为「{CaseStatus(to_status).label}」"
                    f"(可变更为: {allowed})"
                ]
            }
        )
    _check_date("on", on, label="日期")
    if on < case.status_on:
        raise ValidationError({"on": [f"日期不能早于上一次状态变更({case.status_on:%Y-%m-%d})"]})
    old = case.status
    case.status = to_status
    case.status_on = on
    case.save(update_fields=["status", "status_on", "updated_at"])
    CaseEvent.objects.create(
        case=case, from_status=old, to_status=to_status, on=on, note=note[:200], actor=_user(actor)
    )
    audit_record(actor=actor, action="case.transition", obj=case, changes={"status": [old, to_status], "on": str(on)})
    return case


@transaction.atomic
def case_void(*, actor, case: Case, reason: str, release_contacts: bool = False) -> Case:
    """Void a case entered by mistake (wrong person, a false antigen report …): the case stays on
    record as 「误登记已作废」 with the reason, stops counting for the zone engine, the map and the
    summary, and the neighbourhood's zone levels are recomputed. With ``release_contacts`` the
    contacts' quarantines started for this case are released early with the same reason (each
    audited); otherwise they stay for the committee to decide one by one."""
    case = Case.objects.select_for_update().select_related("resident").get(pk=case.pk)
    reason = (reason or "").strip()
    if case.status == CaseStatus.VOIDED:
        raise ValidationError({"__all__": ["该病例已作废"]})
    if not reason:
        raise ValidationError({"reason": ["作废病例必须填写原因"]})
    old = case.status
    today = _today()
    case.status = CaseStatus.VOIDED
    case.status_on = max(today, case.status_on)
    case.save(update_fields=["status", "status_on", "updated_at"])
    CaseEvent.objects.create(
        case=case,
        from_status=old,
        to_status=CaseStatus.VOIDED,
        on=case.status_on,
        note=reason[:200],
        actor=_user(actor),
    )
    audit_record(
        actor=actor, action="case.void", obj=case, changes={"status": [old, CaseStatus.VOIDED], "reason": reason}
    )
    if release_contacts:
        # A contact of another case still counting (not voided) stays in quarantine.
        still_contacts = set(
            Contact.objects.filter(resident__isnull=False)
            .exclude(case=case)
            .exclude(case__status=CaseStatus.VOIDED)
            .filter(resident__in=Contact.objects.filter(case=case).values("resident"))
            .values_list("resident_id", flat=True)
        )
        for q in Quarantine.objects.select_for_update().filter(contact__case=case, status=QuarantineStatus.ACTIVE):
            if q.resident_id and q.resident_id in still_contacts:
                continue
            _quarantine_end(
                actor=actor,
                quarantine=q,
                status=QuarantineStatus.RELEASED,
                reason=f"病例误登记已作废: {reason}",
                early=True,
            )
    zones.zone_recompute(actor=actor, neighbourhood_ids=[case.neighbourhood_id])
    return case
