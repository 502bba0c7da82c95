"""What the control services share: thresholds and small helpers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from jiayuan.control.choices import (
    QuarantineStatus,
)
from jiayuan.control.models import (
    Quarantine,
)
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record

FEVER = Decimal("37.3")
TEMP_MIN = Decimal("34.0")
TEMP_MAX = Decimal("43.0")


def _today() -> dt.date:
    return timezone.localdate()


def _place_of(resident) -> dict:
    household = resident.household if resident.household_id else None
    return {
        "neighbourhood_id": resident.neighbourhood_id,
        "household": household,
        "building_id": household.building_id if household else None,
    }


def _check_date(field: str, value, *, label: str) -> dt.date:
    if not isinstance(value, dt.date):
        raise ValidationError({field: [f"{label}格式应为 YYYY-MM-DD"]})
    if value > _today():
        raise ValidationError({field: [f"{label}不能晚于今天"]})
    return value


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
