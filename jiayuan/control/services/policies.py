"""Quarantine policies: the neighbourhood's preset and its rules, which decide each quarantine."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.control import zones
from jiayuan.control.choices import (
    QuarantineKind,
    QuarantineReason,
    ZoneUnit,
)
from jiayuan.control.models import (
    QuarantinePolicy,
    ZoneSettings,
)
from jiayuan.control.policies import DEFAULT_PRESET, PRESETS
from jiayuan.core.audit import audit_record
from jiayuan.people import normalize

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
