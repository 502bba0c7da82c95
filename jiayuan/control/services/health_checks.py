"""Health checks of people under quarantine or home health monitoring (twice a day, fever ≥ 37.3 ℃)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.control.choices import (
    CheckSource,
    QuarantineStatus,
    Slot,
    Symptom,
)
from jiayuan.control.models import (
    HealthCheck,
    Quarantine,
)
from jiayuan.control.services._shared import (
    FEVER,
    TEMP_MAX,
    TEMP_MIN,
    _check_date,
)
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record

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
