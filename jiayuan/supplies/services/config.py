"""The neighbourhood's supplies settings (how a group buy is chosen, rests, daily limits)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.core.audit import audit_record
from jiayuan.places.models import Neighbourhood
from jiayuan.supplies.choices import (
    SelectionMode,
)
from jiayuan.supplies.models import (
    SuppliesSettings,
)

# Settings ----------------------------------------------------------------------------------


def settings_for(neighbourhood_id: int, *, lock: bool = False) -> SuppliesSettings:
    obj, _created = SuppliesSettings.objects.get_or_create(neighbourhood_id=neighbourhood_id)
    if lock:
        obj = SuppliesSettings.objects.select_for_update().get(pk=obj.pk)
    return obj


@transaction.atomic
def settings_update(
    *, actor, neighbourhood: Neighbourhood, selection_mode: str, rest_minutes: int, daily_limit_per_category: int
) -> SuppliesSettings:
    errors: dict[str, list[str]] = {}
    try:
        rest_minutes, daily_limit_per_category = int(rest_minutes), int(daily_limit_per_category)
    except (TypeError, ValueError) as exc:
        raise ValidationError("静置分钟数和上限应为整数") from exc
    if selection_mode not in SelectionMode.values:
        errors["selection_mode"] = ["不是可选值之一"]
    if not 0 <= int(rest_minutes) <= 24 * 60:
        errors["rest_minutes"] = ["静置时间应在0到1440分钟之间"]
    if not 1 <= int(daily_limit_per_category) <= 20:
        errors["daily_limit_per_category"] = ["上限应在1到20之间"]
    if errors:
        raise ValidationError(errors)
    obj = settings_for(neighbourhood.pk, lock=True)
    before = {
        "selection_mode": obj.selection_mode,
        "rest_minutes": obj.rest_minutes,
        "daily_limit_per_category": obj.daily_limit_per_category,
    }
    obj.selection_mode = selection_mode
    obj.rest_minutes = int(rest_minutes)
    obj.daily_limit_per_category = int(daily_limit_per_category)
    obj.save()
    audit_record(
        actor=actor,
        action="supplies.settings_update",
        obj=obj,
        changes={"before": before, "after": {k: getattr(obj, k) for k in before}},
    )
    return obj
