"""Handouts (free distributions) and their per-household receipts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.people.models import Resident
from jiayuan.places.models import Household, Neighbourhood
from jiayuan.supplies.choices import (
    HandoutUnit,
)
from jiayuan.supplies.models import (
    HandoutReceipt,
    HandoutRound,
)

# Handouts ----------------------------------------------------------------------------------


@transaction.atomic
def handout_round_create(
    *, actor, neighbourhood: Neighbourhood, title: str, package: str, unit: str = HandoutUnit.HOUSEHOLD, compound=None
) -> HandoutRound:
    errors: dict[str, list[str]] = {}
    if not (title or "").strip():
        errors["title"] = ["请填写名称"]
    if not (package or "").strip():
        errors["package"] = ["请填写物资内容"]
    if unit not in HandoutUnit.values:
        errors["unit"] = ["不是可选值之一"]
    if compound is not None and compound.neighbourhood_id != neighbourhood.pk:
        errors["compound"] = ["小区不属于该居民区"]
    if errors:
        raise ValidationError(errors)
    rnd = HandoutRound.objects.create(
        neighbourhood=neighbourhood,
        compound=compound,
        title=title.strip()[:100],
        package=package.strip()[:200],
        unit=unit,
        created_by=_user(actor),
    )
    audit_record(actor=actor, action="supplies.handout_round_create", obj=rnd, changes={"unit": unit})
    return rnd


@transaction.atomic
def handout_mark_received(
    *, actor, round: HandoutRound, household: Household, resident: Resident | None = None
) -> HandoutReceipt:
    """Record that a household (or, per person, a resident) received the package."""
    if household.neighbourhood_id != round.neighbourhood_id or (
        round.compound_id and household.building.compound_id != round.compound_id
    ):
        raise ValidationError({"household": ["该住户不在本轮发放范围内"]})
    if round.unit == HandoutUnit.PERSON:
        if resident is None or resident.household_id != household.pk:
            raise ValidationError({"resident": ["按人发放:请选择本户的居民"]})
    else:
        resident = None
    dup = HandoutReceipt.objects.filter(round=round, household=household, resident=resident)
    if dup.exists():
        raise ValidationError("已经登记领取")
    try:
        with transaction.atomic():
            receipt = HandoutReceipt.objects.create(
                neighbourhood_id=round.neighbourhood_id,
                round=round,
                household=household,
                building_id=household.building_id,
                resident=resident,
                recorded_by=_user(actor),
            )
    except IntegrityError as exc:
        raise ValidationError("已经登记领取") from exc
    audit_record(
        actor=actor,
        action="supplies.handout_receive",
        obj=round,
        changes={"household": household.pk, "resident": resident.pk if resident else None},
    )
    return receipt


@transaction.atomic
def handout_unmark_received(
    *, actor, round: HandoutRound, household: Household, resident: Resident | None = None
) -> None:
    """Undo a tick made by mistake: the receipt goes, the audit keeps both the tick and the undo."""
    if round.unit != HandoutUnit.PERSON:
        resident = None
    receipt = (
        HandoutReceipt.objects.select_for_update().filter(round=round, household=household, resident=resident).first()
    )
    if receipt is None:
        raise ValidationError("还没有登记领取,无需撤销")
    received_at = receipt.received_at
    receipt.delete()
    audit_record(
        actor=actor,
        action="supplies.handout_undo",
        obj=round,
        changes={
            "household": household.pk,
            "resident": resident.pk if resident else None,
            "received_at": received_at.isoformat(),
        },
    )
