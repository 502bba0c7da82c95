"""Contacts and quarantines: contacts traced from a case, quarantines started, extended, moved to
follow-up and released, with their tests."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from jiayuan.control.choices import (
    TEMPORARY_REASONS,
    ContactKind,
    LabResult,
    QuarantineKind,
    QuarantineReason,
    QuarantineStatus,
)
from jiayuan.control.models import (
    Case,
    Contact,
    Quarantine,
    QuarantineTest,
)
from jiayuan.control.services._shared import (
    _check_date,
    _place_of,
    _quarantine_end,
    _today,
)
from jiayuan.control.services.policies import policy_for
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.people import normalize

# --- Contacts and quarantines ------------------------------------------------------------------


@transaction.atomic
def quarantine_start(
    *,
    actor,
    reason: str,
    resident=None,
    contact: Contact | None = None,
    neighbourhood_id: int | None = None,
    start_on: dt.date | None = None,
    kind: str = "",
    place: str = "",
    door_sensor: str = "",
    ref: str = "",
    via_household: bool = False,
) -> Quarantine:
    """Start a quarantine planned by the neighbourhood's policy for ``reason``.

    Idempotent: a resident already in an active quarantine for the same reason gets that one back.
    ``kind`` overrides the policy's first stage (e.g. home instead of centralised for a frail
    resident); the duration and test days stay the policy's.
    """
    start_on = start_on or _today()
    errors: dict[str, list[str]] = {}
    if reason not in QuarantineReason.values:
        errors["reason"] = ["未知的隔离原因"]
    if kind and kind not in QuarantineKind.values:
        errors["kind"] = ["未知的隔离方式"]
    if resident is None and contact is None:
        errors["resident"] = ["请选择居民"]
    if start_on > _today() + dt.timedelta(days=1):
        errors["start_on"] = ["开始日期不能晚于明天"]
    if errors:
        raise ValidationError(errors)
    if resident is not None:
        existing = (
            Quarantine.objects.select_for_update()
            .filter(resident=resident, reason=reason, status=QuarantineStatus.ACTIVE)
            .first()
        )
        if existing is not None:
            return existing
        place_info = _place_of(resident)
    else:
        place_info = {"neighbourhood_id": contact.neighbourhood_id, "household": None, "building_id": None}
    nb = neighbourhood_id or place_info["neighbourhood_id"]
    policy = policy_for(nb, reason)
    q = Quarantine(
        neighbourhood_id=nb,
        household=place_info["household"],
        building_id=place_info["building_id"],
        resident=resident,
        contact=contact,
        kind=kind or policy.kind,
        reason=reason,
        start_on=start_on,
        days=policy.days,
        followup_kind=policy.followup_kind,
        followup_days=policy.followup_days if policy.followup_kind else 0,
        test_days=list(policy.test_days),
        planned_end=start_on + dt.timedelta(days=policy.total_days),
        place=place[:100],
        door_sensor=door_sensor[:100],
        ref=ref[:100],
        via_household=via_household,
        created_by=_user(actor),
    )
    try:
        with transaction.atomic():
            q.save()
    except IntegrityError:
        # A concurrent start for the same resident and reason won: that one is the answer.
        return Quarantine.objects.get(resident=resident, reason=reason, status=QuarantineStatus.ACTIVE)
    audit_record(
        actor=actor,
        action="quarantine.start",
        obj=q,
        changes={
            "reason": reason,
            "kind": q.kind,
            "start_on": str(start_on),
            "planned_end": str(q.planned_end),
            **({"via_household": True} if via_household else {}),
        },
    )
    return q


@transaction.atomic
def contact_add(
    *,
    actor,
    case: Case,
    kind: str = ContactKind.CLOSE,
    resident=None,
    name: str = "",
    phone: str = "",
    start_on: dt.date | None = None,
    quarantine_kind: str = "",
    place: str = "",
) -> Contact:
    """Link a close or secondary contact to a case and start their quarantine by policy."""
    errors: dict[str, list[str]] = {}
    if kind not in ContactKind.values:
        errors["kind"] = ["类别应为密接或次密接"]
    name = (name or "").strip()
    if resident is None and not name:
        errors["name"] = ["请选择本居民区居民, 或填写非本居民区人员姓名"]
    if resident is not None and resident.neighbourhood_id != case.neighbourhood_id:
        errors["resident"] = ["该居民不在本居民区, 请按非本居民区人员登记"]
    clean_phone = ""
    if phone and resident is None:
        try:
            clean_phone = normalize.normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if resident is not None and resident.pk == case.resident_id:
        errors["resident"] = ["病例本人不能登记为自己的密接"]
    if resident is not None and Contact.objects.filter(case=case, resident=resident).exists():
        errors["resident"] = ["该居民已登记为此病例的密接"]
    if errors:
        raise ValidationError(errors)
    contact = Contact.objects.create(
        neighbourhood_id=case.neighbourhood_id,
        building_id=resident.household.building_id if resident is not None and resident.household_id else None,
        case=case,
        kind=kind,
        resident=resident,
        name="" if resident is not None else name[:64],
        phone=clean_phone,
    )
    audit_record(actor=actor, action="contact.create", obj=contact, changes={"case": case.pk, "kind": kind})
    reason = QuarantineReason.CLOSE_CONTACT if kind == ContactKind.CLOSE else QuarantineReason.SECONDARY_CONTACT
    quarantine_start(
        actor=actor,
        reason=reason,
        resident=resident,
        contact=contact,
        neighbourhood_id=case.neighbourhood_id,
        start_on=start_on,
        kind=quarantine_kind,
        place=place,
        ref=f"case:{case.pk}",
    )
    if resident is not None:
        # A housemate kept home while the case's antigen result awaited its PCR retest is now a
        # contact: the contact's quarantine replaces that temporary control.
        for q in Quarantine.objects.select_for_update().filter(
            resident=resident, reason__in=TEMPORARY_REASONS, via_household=True, status=QuarantineStatus.ACTIVE
        ):
            _quarantine_end(actor=actor, quarantine=q, status=QuarantineStatus.TRANSFERRED, reason="转为密接隔离")
    return contact


@transaction.atomic
def quarantine_test_record(*, actor, quarantine: Quarantine, on: dt.date, result: str = LabResult.NEGATIVE):
    """Record (or correct) the test of one day of a quarantine."""
    if result not in LabResult.values:
        raise ValidationError({"result": ["结果应为阴性或阳性"]})
    _check_date("on", on, label="检测日期")
    if on < quarantine.start_on:
        raise ValidationError({"on": ["检测日期不能早于隔离开始日期"]})
    row, created = QuarantineTest.objects.update_or_create(
        quarantine=quarantine, on=on, defaults={"result": result, "recorded_by": _user(actor)}
    )
    audit_record(
        actor=actor,
        action="quarantine.test",
        obj=quarantine,
        changes={"on": str(on), "result": result, "created": created},
    )
    return row


def quarantine_release_problems(quarantine: Quarantine, on: dt.date | None = None) -> list[str]:
    """What the policy still requires before ``quarantine`` may be released on ``on``."""
    on = on or _today()
    problems = []
    if quarantine.status != QuarantineStatus.ACTIVE:
        return [f"该隔离已{QuarantineStatus(quarantine.status).label}"]
    if on < quarantine.planned_end:
        problems.append(f"未满隔离期: 计划解除日期为 {quarantine.planned_end:%Y-%m-%d}")
    results = {t.on: t.result for t in quarantine.tests.all()}
    for n, day in quarantine.test_dates():
        if day > on:
            continue
        if results.get(day) != LabResult.NEGATIVE:
            problems.append(f"缺少第 {n} 天({day:%m-%d})核酸阴性结果")
    if LabResult.POSITIVE in results.values():
        problems.append("隔离期间有阳性结果")
    return problems


@transaction.atomic
def quarantine_release(*, actor, quarantine: Quarantine, early: bool = False, reason: str = "") -> Quarantine:
    """Release a quarantine when the policy's conditions hold (full term, negative tests on the
    required days). An early release skips the conditions but needs a reason; both are audited."""
    quarantine = Quarantine.objects.select_for_update().get(pk=quarantine.pk)
    if quarantine.status != QuarantineStatus.ACTIVE:
        raise ValidationError({"__all__": [f"该隔离已{QuarantineStatus(quarantine.status).label}, 不能再次解除"]})
    reason = (reason or "").strip()
    if early:
        if not reason:
            raise ValidationError({"reason": ["提前解除必须填写原因"]})
    else:
        problems = quarantine_release_problems(quarantine)
        if problems:
            raise ValidationError({"__all__": problems})
    _quarantine_end(
        actor=actor,
        quarantine=quarantine,
        status=QuarantineStatus.RELEASED,
        reason=reason or "期满解除",
        early=early,
    )
    return quarantine


@transaction.atomic
def quarantine_transfer(*, actor, quarantine: Quarantine, reason: str) -> Quarantine:
    """End a quarantine because the person moved on (to hospital, to a centralised site …)."""
    quarantine = Quarantine.objects.select_for_update().get(pk=quarantine.pk)
    if quarantine.status != QuarantineStatus.ACTIVE:
        raise ValidationError({"__all__": ["该隔离已结束"]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请填写转运原因"]})
    _quarantine_end(actor=actor, quarantine=quarantine, status=QuarantineStatus.TRANSFERRED, reason=reason.strip())
    return quarantine
