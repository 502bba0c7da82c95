"""Every write of the control app: cases, contacts, quarantines, releases, health checks,
returnees, policies, zone settings and overrides. Keyword-only, inside ``transaction.atomic``,
audited; errors are ``ValidationError`` with Chinese, field-level messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiayuan.control import zones
from jiayuan.control.choices import (
    CASE_TRANSITIONS,
    CLOSED_CASE_STATUSES,
    OPEN_CASE_STATUSES,
    TEMPORARY_REASONS,
    CaseSource,
    CaseStatus,
    CaseType,
    CheckSource,
    ContactKind,
    LabResult,
    QuarantineKind,
    QuarantineReason,
    QuarantineStatus,
    RiskLevel,
    Slot,
    Symptom,
    Transport,
    ZoneLevel,
    ZoneUnit,
)
from jiayuan.control.models import (
    Case,
    CaseEvent,
    Contact,
    HealthCheck,
    Quarantine,
    QuarantinePolicy,
    QuarantineTest,
    Returnee,
    ZoneChange,
    ZoneOverride,
    ZoneSettings,
)
from jiayuan.control.policies import DEFAULT_PRESET, PRESETS
from jiayuan.core import extensions
from jiayuan.core.audit import audit_record
from jiayuan.people import normalize
from jiayuan.people.choices import Presence
from jiayuan.places.models import Building, Compound

__all__ = [
    "FEVER",
    "case_record",
    "case_transition",
    "case_void",
    "contact_add",
    "health_check_record",
    "hotline_update",
    "on_antigen_positive",
    "on_pool_positive",
    "on_retest_negative",
    "on_screening_positive",
    "policy_apply_preset",
    "policy_for",
    "policy_update",
    "quarantine_release",
    "quarantine_release_problems",
    "quarantine_start",
    "quarantine_test_record",
    "returnee_register",
    "temporary_home_control",
    "zone_override_end",
    "zone_override_set",
    "zone_settings_update",
]

FEVER = Decimal("37.3")
TEMP_MIN = Decimal("34.0")
TEMP_MAX = Decimal("43.0")


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _today() -> dt.date:
    return timezone.localdate()


def _place_of(resident) -> dict:
    household = resident.household if resident.household_id else None
    return {
        "neighbourhood_id": resident.neighbourhood_id,
        "household": household,
        "building_id": household.building_id if household else None,
    }


# --- Cases -------------------------------------------------------------------------------------


def _check_date(field: str, value, *, label: str) -> dt.date:
    if not isinstance(value, dt.date):
        raise ValidationError({field: [f"{label}格式应为 YYYY-MM-DD"]})
    if value > _today():
        raise ValidationError({field: [f"{label}不能晚于今天"]})
    return value


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


# --- Policies ----------------------------------------------------------------------------------


def policy_for(neighbourhood_id: int, reason: str) -> QuarantinePolicy:
    """The neighbourhood's policy row for ``reason``, or the default preset's (unsaved)."""
    row = QuarantinePolicy.objects.filter(neighbourhood_id=neighbourhood_id, reason=reason).first()
    if row is not None:
        return row
    preset_row = next(r for r in DEFAULT_PRESET.rows if r.reason == reason)
    return QuarantinePolicy(
        neighbourhood_id=neighbourhood_id,
        reason=reason,
        kind=preset_row.kind,
        days=preset_row.days,
        followup_kind=preset_row.followup_kind,
        followup_days=preset_row.followup_days,
        test_days=list(preset_row.test_days),
        whole_household=preset_row.whole_household,
        note=preset_row.note,
    )


@transaction.atomic
def policy_apply_preset(*, actor, neighbourhood, preset: str) -> list[QuarantinePolicy]:
    """Write a shipped preset (``shanghai_2020`` / ``shanghai_2022``) into the policy table and
    the zone day counts. Quarantines already started keep the terms they started with."""
    if preset not in PRESETS:
        raise ValidationError({"preset": ["未知的政策预设"]})
    p = PRESETS[preset]
    rows = []
    for r in p.rows:
        row, _created = QuarantinePolicy.objects.update_or_create(
            neighbourhood=neighbourhood,
            reason=r.reason,
            defaults={
                "kind": r.kind,
                "days": r.days,
                "followup_kind": r.followup_kind,
                "followup_days": r.followup_days,
                "test_days": list(r.test_days),
                "whole_household": r.whole_household,
                "note": r.note,
            },
        )
        rows.append(row)
    settings_row, _ = ZoneSettings.objects.get_or_create(neighbourhood=neighbourhood)
    settings_row.sealed_days, settings_row.controlled_days, settings_row.preset = (
        p.sealed_days,
        p.controlled_days,
        p.code,
    )
    settings_row.save()
    audit_record(
        actor=actor,
        action="policy.apply_preset",
        object_type="places.neighbourhood",
        object_id=neighbourhood.pk,
        object_repr=str(neighbourhood),
        neighbourhood_id=neighbourhood.pk,
        changes={"preset": preset},
    )
    zones.zone_recompute(actor=actor, neighbourhood_ids=[neighbourhood.pk])
    return rows


def _clean_test_days(test_days, total: int) -> list[int]:
    if isinstance(test_days, str):
        parts = [p for p in test_days.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if p]
    else:
        parts = list(test_days or [])
    try:
        days = sorted({int(p) for p in parts})
    except (TypeError, ValueError) as exc:
        raise ValidationError({"test_days": ["检测日应为数字, 以逗号分隔, 如 1,4,7"]}) from exc
    if any(d < 1 or d > total for d in days):
        raise ValidationError({"test_days": [f"检测日应在第 1 至第 {total} 天之间"]})
    return days


@transaction.atomic
def policy_update(
    *,
    actor,
    neighbourhood,
    reason: str,
    kind: str,
    days: int,
    followup_kind: str = "",
    followup_days: int = 0,
    test_days=(),
    note: str = "",
    whole_household: bool | None = None,
) -> QuarantinePolicy:
    """Set one row of the policy table (created from the default when the table is empty).
    ``whole_household`` None keeps the row's (or the default preset's) setting."""
    errors: dict[str, list[str]] = {}
    if reason not in QuarantineReason.values:
        errors["reason"] = ["未知的隔离原因"]
    if kind not in QuarantineKind.values:
        errors["kind"] = ["未知的隔离方式"]
    if followup_kind and followup_kind not in QuarantineKind.values:
        errors["followup_kind"] = ["未知的隔离方式"]
    if not isinstance(days, int) or not 1 <= days <= 60:
        errors["days"] = ["天数应在 1 至 60 之间"]
    if not isinstance(followup_days, int) or not 0 <= followup_days <= 60:
        errors["followup_days"] = ["后续天数应在 0 至 60 之间"]
    if followup_kind and not followup_days:
        errors["followup_days"] = ["设置了后续方式时, 后续天数应大于 0"]
    if errors:
        raise ValidationError(errors)
    total = days + (followup_days if followup_kind else 0)
    clean_days = _clean_test_days(test_days, total)
    row = QuarantinePolicy.objects.filter(neighbourhood=neighbourhood, reason=reason).first()
    before = None if row is None else {"summary": row.summary}
    if row is None:
        row = QuarantinePolicy(
            neighbourhood=neighbourhood,
            reason=reason,
            whole_household=policy_for(neighbourhood.pk, reason).whole_household,
        )
    if whole_household is not None:
        row.whole_household = bool(whole_household)
    row.kind, row.days = kind, days
    row.followup_kind, row.followup_days = followup_kind, followup_days if followup_kind else 0
    row.test_days, row.note = clean_days, note[:200]
    row.save()
    audit_record(
        actor=actor,
        action="policy.update",
        obj=row,
        changes={"before": before and before["summary"], "after": row.summary},
    )
    return row


@transaction.atomic
def zone_settings_update(*, actor, neighbourhood, unit: str, sealed_days: int, controlled_days: int) -> ZoneSettings:
    """Change the zone unit and day counts, then recompute the neighbourhood."""
    errors: dict[str, list[str]] = {}
    if unit not in ZoneUnit.values:
        errors["unit"] = ["分区单位应为楼栋或小区"]
    if not isinstance(sealed_days, int) or not 1 <= sealed_days <= 60:
        errors["sealed_days"] = ["封控天数应在 1 至 60 之间"]
    elif not isinstance(controlled_days, int) or not sealed_days < controlled_days <= 90:
        errors["controlled_days"] = ["管控截止天数应大于封控天数, 且不超过 90"]
    if errors:
        raise ValidationError(errors)
    row, _ = ZoneSettings.objects.select_for_update().get_or_create(neighbourhood=neighbourhood)
    before = [row.unit, row.sealed_days, row.controlled_days]
    row.unit, row.sealed_days, row.controlled_days = unit, sealed_days, controlled_days
    row.save()
    audit_record(
        actor=actor,
        action="zone.settings",
        obj=row,
        neighbourhood_id=neighbourhood.pk,
        changes={"before": before, "after": [unit, sealed_days, controlled_days]},
    )
    zones.zone_recompute(actor=actor, neighbourhood_ids=[neighbourhood.pk])
    return row


@transaction.atomic
def hotline_update(*, actor, neighbourhood, hotline: str) -> ZoneSettings:
    """Set the committee's phone number that residents told to stay home are given (the household
    link page shows it after a positive antigen report). Blank clears it."""
    hotline = (hotline or "").strip()
    clean = ""
    if hotline:
        try:
            clean = normalize.normalize_phone(hotline)
        except ValidationError as exc:
            raise ValidationError({"hotline": exc.messages}) from exc
    row, _ = ZoneSettings.objects.select_for_update().get_or_create(neighbourhood=neighbourhood)
    before = row.hotline
    row.hotline = clean
    row.save(update_fields=["hotline", "updated_at"])
    audit_record(
        actor=actor,
        action="policy.hotline",
        obj=row,
        neighbourhood_id=neighbourhood.pk,
        changes={"before": before, "after": clean},
    )
    return row


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


def _quarantine_end(*, actor, quarantine: Quarantine, status: str, reason: str, early: bool = False, on=None):
    quarantine.status = status
    quarantine.ended_on = on or _today()
    quarantine.end_reason = reason[:200]
    quarantine.early_release = early
    quarantine.ended_by = _user(actor)
    quarantine.save(update_fields=["status", "ended_on", "end_reason", "early_release", "ended_by"])
    action = {
        QuarantineStatus.RELEASED: "quarantine.release_early" if early else "quarantine.release",
        QuarantineStatus.TRANSFERRED: "quarantine.transfer",
    }[status]
    audit_record(actor=actor, action=action, obj=quarantine, changes={"reason": reason, "on": str(quarantine.ended_on)})


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


# --- Health checks -----------------------------------------------------------------------------


def _parse_temperature(value) -> Decimal:
    try:
        t = Decimal(str(value).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError({"temperature": ["体温应为数字, 如 36.5"]}) from exc
    if not TEMP_MIN <= t <= TEMP_MAX:
        raise ValidationError({"temperature": [f"体温应在 {TEMP_MIN} 至 {TEMP_MAX} °C 之间"]})
    return t


@transaction.atomic
def health_check_record(
    *,
    actor,
    on: dt.date,
    slot: str,
    temperature,
    quarantine: Quarantine | None = None,
    resident=None,
    symptoms: Iterable[str] = (),
    symptom_note: str = "",
    door_sensor: str = "",
    source: str = CheckSource.STAFF,
) -> tuple[HealthCheck, bool]:
    """Record the morning or afternoon check of a person in quarantine (or of a resident under
    monitoring). A second entry for the same slot corrects the first. A fever (≥ 37.3 °C) or any
    symptom marks the check as an alert, which the staff home page shows."""
    errors: dict[str, list[str]] = {}
    if slot not in Slot.values:
        errors["slot"] = ["时段应为上午或下午"]
    symptoms = [s for s in (symptoms or []) if s]
    unknown = [s for s in symptoms if s not in Symptom.values]
    if unknown:
        errors["symptoms"] = [f"未知症状: {', '.join(unknown)}"]
    try:
        t = _parse_temperature(temperature)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        _check_date("on", on, label="日期")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if quarantine is None and resident is None:
        errors["resident"] = ["请选择居民或隔离记录"]
    if source not in CheckSource.values:
        errors["source"] = ["未知来源"]
    if errors:
        raise ValidationError(errors)
    if quarantine is None:
        quarantine = (
            Quarantine.objects.filter(resident=resident, status=QuarantineStatus.ACTIVE).order_by("-id").first()
        )
    if quarantine is not None:
        if resident is not None and quarantine.resident_id and quarantine.resident_id != resident.pk:
            raise ValidationError({"resident": ["居民与隔离记录不符"]})
        if quarantine.status != QuarantineStatus.ACTIVE and on > (quarantine.ended_on or on):
            raise ValidationError({"quarantine": ["该隔离已结束"]})
        if on < quarantine.start_on:
            raise ValidationError({"on": [f"日期不能早于隔离开始日期({quarantine.start_on:%Y-%m-%d})"]})
        resident = resident or quarantine.resident
        lookup = {"quarantine": quarantine, "on": on, "slot": slot}
        nb, building = quarantine.neighbourhood_id, quarantine.building_id
    else:
        lookup = {"resident": resident, "quarantine": None, "on": on, "slot": slot}
        nb = resident.neighbourhood_id
        building = resident.household.building_id if resident.household_id else None
    alert = t >= FEVER or bool(symptoms) or bool(symptom_note.strip())
    check, created = HealthCheck.objects.update_or_create(
        **lookup,
        defaults={
            "neighbourhood_id": nb,
            "building_id": building,
            "resident": resident,
            "temperature": t,
            "symptoms": sorted(set(symptoms)),
            "symptom_note": symptom_note.strip()[:200],
            "door_sensor": door_sensor.strip()[:100],
            "alert": alert,
            "source": source,
            "recorded_by": _user(actor),
        },
    )
    if door_sensor.strip() and quarantine is not None and quarantine.door_sensor != door_sensor.strip()[:100]:
        quarantine.door_sensor = door_sensor.strip()[:100]
        quarantine.save(update_fields=["door_sensor"])
    audit_record(
        actor=actor if actor is not None else "household",
        action="health_check.record",
        obj=check,
        changes={"on": str(on), "slot": slot, "alert": alert, "source": source, "created": created},
    )
    return check, created


# --- Returnees ---------------------------------------------------------------------------------

RISK_REASON = {
    RiskLevel.HIGH: QuarantineReason.RETURNEE_RISK_AREA,
    RiskLevel.MEDIUM: QuarantineReason.RETURNEE_RISK_AREA,
    RiskLevel.ABROAD: QuarantineReason.ARRIVAL_ABROAD,
    RiskLevel.LOW: QuarantineReason.OTHER,
}


@transaction.atomic
def returnee_register(
    *,
    actor,
    resident,
    origin: str,
    origin_risk: str,
    arrival_on: dt.date,
    transport: str,
    transport_detail: str = "",
    commitment_signed: bool = False,
) -> Returnee:
    """Register an arrival; the quarantine the origin's risk level calls for starts on the
    arrival date (high/medium risk: returnee policy; abroad: arrival-from-abroad policy; low
    risk: home health monitoring)."""
    errors: dict[str, list[str]] = {}
    origin = (origin or "").strip()
    if not origin:
        errors["origin"] = ["请填写出发地"]
    if origin_risk not in RiskLevel.values:
        errors["origin_risk"] = ["请选择出发地风险等级"]
    if transport not in Transport.values:
        errors["transport"] = ["请选择交通方式"]
    try:
        _check_date("arrival_on", arrival_on, label="抵达日期")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    place = _place_of(resident)
    reason = RISK_REASON[origin_risk]
    quarantine = quarantine_start(actor=actor, reason=reason, resident=resident, start_on=arrival_on)
    returnee = Returnee.objects.create(
        neighbourhood_id=place["neighbourhood_id"],
        building_id=place["building_id"],
        resident=resident,
        origin=origin[:100],
        origin_risk=origin_risk,
        arrival_on=arrival_on,
        transport=transport,
        transport_detail=transport_detail.strip()[:50],
        commitment_signed=bool(commitment_signed),
        quarantine=quarantine if not hasattr(quarantine, "returnee") else None,
        registered_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="returnee.register",
        obj=returnee,
        changes={"origin_risk": origin_risk, "arrival_on": str(arrival_on), "quarantine": quarantine.pk},
    )
    return returnee


# --- Zone overrides ----------------------------------------------------------------------------


@transaction.atomic
def zone_override_set(
    *,
    actor,
    level: str,
    reason: str,
    expires_at: dt.datetime,
    building: Building | None = None,
    compound: Compound | None = None,
) -> ZoneOverride:
    """Hold a building or a compound at ``level`` until ``expires_at`` (a committee decision)."""
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if (building is None) == (compound is None):
        errors["building"] = ["请选择一个楼栋或一个小区"]
    if level not in ZoneLevel.values:
        errors["level"] = ["请选择分区等级"]
    if not reason:
        errors["reason"] = ["人工调整必须填写原因"]
    if not isinstance(expires_at, dt.datetime) or expires_at <= timezone.now():
        errors["expires_at"] = ["到期时间应晚于现在"]
    elif expires_at > timezone.now() + dt.timedelta(days=60):
        errors["expires_at"] = ["人工调整最长 60 天"]
    if errors:
        raise ValidationError(errors)
    target = building or compound
    from jiayuan.control.selectors import zone_level_of

    before = zone_level_of(building=building, compound=compound)
    now = timezone.now()
    # A new override replaces the one in force on the same place.
    lookup = {"building": building} if building else {"compound": compound}
    ZoneOverride.objects.filter(ended_at__isnull=True, expires_at__gt=now, **lookup).update(ended_at=now)
    override = ZoneOverride.objects.create(
        neighbourhood_id=target.neighbourhood_id,
        building=building,
        compound=compound,
        level=level,
        reason=reason[:200],
        starts_at=now,
        expires_at=expires_at,
        created_by=_user(actor),
    )
    ZoneChange.objects.create(
        neighbourhood_id=target.neighbourhood_id,
        building=building,
        compound=compound,
        from_level=before,
        to_level=level,
        on=_today(),
        cause=f"人工调整: {reason}"[:200],
        actor=_user(actor),
    )
    audit_record(
        actor=actor,
        action="zone.override",
        obj=override,
        changes={"level": [before, level], "reason": reason, "expires_at": expires_at.isoformat()},
    )
    building_ids = (
        [building.pk] if building else list(Building.objects.filter(compound=compound).values_list("id", flat=True))
    )
    extensions.publish(
        "control.zone_changed",
        building_ids=building_ids,
        compound_ids=[compound.pk] if compound else [],
        actor=actor,
    )
    return override


@transaction.atomic
def zone_override_end(*, actor, override: ZoneOverride) -> ZoneOverride:
    """End an override before its expiry; the computed level applies again."""
    if override.ended_at is not None:
        raise ValidationError({"__all__": ["该人工调整已结束"]})
    override.ended_at = timezone.now()
    override.save(update_fields=["ended_at"])
    audit_record(actor=actor, action="zone.override_end", obj=override)
    zones.record_override_end(override, actor=actor, cause="人工调整撤销")
    building_ids = (
        [override.building_id]
        if override.building_id
        else list(Building.objects.filter(compound_id=override.compound_id).values_list("id", flat=True))
    )
    extensions.publish(
        "control.zone_changed",
        building_ids=building_ids,
        compound_ids=[override.compound_id] if override.compound_id else [],
        actor=actor,
    )
    return override


# --- Event handlers (subscribed in ControlConfig.ready) ----------------------------------------

SCREENING_SOURCE = {"pcr": CaseSource.PCR_ROUND, "antigen": CaseSource.ANTIGEN}


def on_screening_positive(*, resident, detected_on, source="pcr", actor=None, ref="", **kwargs) -> Case:
    """``screening.positive``: an individual positive opens (or updates) the resident's case."""
    return case_record(
        actor=actor,
        resident=resident,
        detected_on=detected_on,
        source=SCREENING_SOURCE.get(source, CaseSource.PCR_ROUND),
        type=kwargs.get("type", CaseType.ASYMPTOMATIC),
        ref=str(ref or ""),
    )


@transaction.atomic
def temporary_home_control(*, actor, residents, reason: str, detected_on=None, ref: str = "") -> list[Quarantine]:
    """Keep ``residents`` home (居家) under the temporary control ``reason`` (one of
    ``TEMPORARY_REASONS``) until their PCR retest: no case is opened and no zone level changes.

    A resident with an open case is left alone (the case rules apply). When the neighbourhood's
    policy for ``reason`` keeps the whole household home, each other present member of the
    household gets the same control, marked ``via_household``; a member who later has a result of
    their own (a second report, their own pooled tube) holds it as their own from then on.
    Idempotent: a second event for the same people starts nothing new.
    """
    start_on = min(detected_on or _today(), _today())
    started: list[Quarantine] = []
    households: dict[int, list[int]] = {}
    for resident in residents:
        if Case.objects.filter(resident=resident, status__in=OPEN_CASE_STATUSES).exists():
            continue
        q = quarantine_start(
            actor=actor, reason=reason, resident=resident, start_on=start_on, kind=QuarantineKind.HOME, ref=str(ref)
        )
        if q.via_household:
            q.via_household = False
            q.save(update_fields=["via_household"])
        started.append(q)
        if resident.household_id and policy_for(resident.neighbourhood_id, reason).whole_household:
            households.setdefault(resident.household_id, []).append(resident.pk)
    if households:
        from jiayuan.people.models import Resident

        housemates = (
            Resident.objects.filter(household_id__in=list(households), presence=Presence.PRESENT)
            .exclude(pk__in=[pk for pks in households.values() for pk in pks])
            .exclude(control_cases__status__in=OPEN_CASE_STATUSES)
            .select_related("household")
            .order_by("household_id", "id")
        )
        for mate in housemates:
            started.append(
                quarantine_start(
                    actor=actor,
                    reason=reason,
                    resident=mate,
                    start_on=start_on,
                    kind=QuarantineKind.HOME,
                    ref=f"同住人{ref}"[:100],
                    via_household=True,
                )
            )
    return started


def on_pool_positive(*, residents, detected_on=None, actor=None, ref="", **kwargs) -> list[Quarantine]:
    """``screening.pool_positive``: everyone in a positive pooled tube stays home (居家) until
    their individual retest (``temporary_home_control``, reason 混管阳性待复核)."""
    return temporary_home_control(
        actor=actor, residents=residents, reason=QuarantineReason.POSITIVE_POOL, detected_on=detected_on, ref=str(ref)
    )


def on_antigen_positive(*, resident, detected_on=None, actor=None, ref="", **kwargs) -> list[Quarantine]:
    """``screening.antigen_positive``: a positive antigen self-report is not a case. The resident
    (and, per the policy, the household) stays home under 抗原阳性待核酸复核 until the PCR retest
    (``temporary_home_control``); the case opens on a positive retest or when staff confirm the
    report (``screening.positive``)."""
    return temporary_home_control(
        actor=actor,
        residents=[resident],
        reason=QuarantineReason.ANTIGEN_POSITIVE,
        detected_on=detected_on,
        ref=str(ref or ""),
    )


@transaction.atomic
def on_retest_negative(*, resident, actor=None, ref="", **kwargs) -> list[Quarantine]:
    """``screening.retest_negative``: the individual PCR retest is negative; the resident's own
    temporary home control (pooled tube or antigen) ends (released, audited). The housemates kept
    home for it go free too once nobody of the household still awaits a retest of their own or
    is a case waiting at home."""
    ended = []
    for q in Quarantine.objects.select_for_update().filter(
        resident=resident, reason__in=TEMPORARY_REASONS, status=QuarantineStatus.ACTIVE
    ):
        _quarantine_end(
            actor=actor, quarantine=q, status=QuarantineStatus.RELEASED, reason=f"单管复核阴性 {ref}".strip()
        )
        ended.append(q)
    if resident.household_id:
        household_id = resident.household_id
        waiting = (
            Quarantine.objects.filter(
                household_id=household_id,
                reason__in=TEMPORARY_REASONS,
                via_household=False,
                status=QuarantineStatus.ACTIVE,
            ).exists()
            or Case.objects.filter(household_id=household_id, status=CaseStatus.AT_HOME).exists()
        )
        if not waiting:
            for q in Quarantine.objects.select_for_update().filter(
                household_id=household_id,
                reason__in=TEMPORARY_REASONS,
                via_household=True,
                status=QuarantineStatus.ACTIVE,
            ):
                _quarantine_end(
                    actor=actor,
                    quarantine=q,
                    status=QuarantineStatus.RELEASED,
                    reason=f"同住人单管复核阴性 {ref}".strip(),
                )
                ended.append(q)
    return ended
