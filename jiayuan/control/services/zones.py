"""Zone settings and overrides: the committee's sealing or controlling of a building or compound,
with its history."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.control import zones
from jiayuan.control.choices import (
    ZoneLevel,
)
from jiayuan.control.models import (
    ZoneChange,
    ZoneOverride,
)
from jiayuan.control.services._shared import (
    _today,
)
from jiayuan.core import extensions
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.places.models import Building, Compound

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
