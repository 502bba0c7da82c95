"""Medical trips: treatment schedules (dialysis…) and emergency calls (120)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.accounts.models import User
from jiayuan.care.choices import (
    EmergencyOutcome,
    TreatmentKind,
)
from jiayuan.care.models import (
    EmergencyCall,
    TreatmentSchedule,
)
from jiayuan.care.services._shared import _clean_text
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.people.models import Resident

# Medical trips ---------------------------------------------------------------------------------


@transaction.atomic
def schedule_create(
    *,
    actor,
    resident: Resident,
    kind: str,
    hospital: str,
    weekdays: list[int],
    time: dt.time,
    transport: str = "",
    escort: User | None = None,
    pass_note: str = "",
) -> TreatmentSchedule:
    if resident.household_id is None:
        raise ValidationError({"resident": [_("该居民没有登记住户")]})
    if kind not in TreatmentKind.values:
        raise ValidationError({"kind": [_("请选择治疗类型")]})
    days = sorted({int(d) for d in weekdays})
    if not days or any(d < 1 or d > 7 for d in days):
        raise ValidationError({"weekdays": [_("请选择每周哪几天")]})
    schedule = TreatmentSchedule.objects.create(
        neighbourhood_id=resident.neighbourhood_id,
        building_id=resident.household.building_id,
        resident=resident,
        kind=kind,
        hospital=_clean_text(hospital, "hospital", limit=100),
        weekdays=days,
        time=time,
        transport=_clean_text(transport, "transport", required=False, limit=100),
        escort=escort,
        pass_note=_clean_text(pass_note, "pass_note", required=False, limit=200),
    )
    audit_record(actor=actor, action="care.schedule_create", obj=schedule, changes={"weekdays": days, "kind": kind})
    return schedule


def trips_on(schedules, day: dt.date) -> list[TreatmentSchedule]:
    return [s for s in schedules if s.active and day.isoweekday() in s.weekdays]


@transaction.atomic
def emergency_log(*, actor, resident: Resident, reason: str, hospital: str = "", called_at=None) -> EmergencyCall:
    if resident.household_id is None:
        raise ValidationError({"resident": [_("该居民没有登记住户")]})
    call = EmergencyCall.objects.create(
        neighbourhood_id=resident.neighbourhood_id,
        building_id=resident.household.building_id,
        resident=resident,
        reason=_clean_text(reason, "reason", limit=200),
        hospital=_clean_text(hospital, "hospital", required=False, limit=100),
        called_at=called_at or timezone.now(),
        logged_by=_user(actor),
    )
    audit_record(actor=actor, action="care.emergency_log", obj=call)
    return call


@transaction.atomic
def emergency_outcome(*, actor, call: EmergencyCall, outcome: str, note: str = "", hospital: str = "") -> EmergencyCall:
    if outcome not in EmergencyOutcome.values:
        raise ValidationError({"outcome": [_("请选择结果")]})
    call.outcome = outcome
    call.outcome_note = _clean_text(note, "outcome_note", required=False, limit=200)
    if hospital:
        call.hospital = _clean_text(hospital, "hospital", limit=100)
    call.save(update_fields=["outcome", "outcome_note", "hospital"])
    audit_record(actor=actor, action="care.emergency_outcome", obj=call, changes={"outcome": outcome})
    return call
