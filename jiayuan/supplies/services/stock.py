"""Donations into stock and stock issued, with low-stock thresholds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.places.models import Household, Neighbourhood
from jiayuan.supplies.choices import (
    MovementKind,
)
from jiayuan.supplies.models import (
    Donation,
    StockItem,
    StockMovement,
)
from jiayuan.supplies.services._shared import SoldOutError, _positive_int

# Donations and stock -----------------------------------------------------------------------


@transaction.atomic
def donation_record(
    *, actor, neighbourhood: Neighbourhood, donor: str, lines: Iterable[dict[str, Any]], note: str = ""
) -> Donation:
    """A donation (donor, items, quantities) goes into stock, one ledger row per item."""
    if not (donor or "").strip():
        raise ValidationError({"donor": ["请填写捐赠方"]})
    clean = []
    for raw in lines:
        name = str(raw.get("name") or "").strip()
        if not name:
            continue
        clean.append((name[:100], str(raw.get("unit") or "个")[:16], _positive_int(raw.get("quantity"), "quantity")))
    if not clean:
        raise ValidationError({"lines": ["至少填写一种物资和数量"]})
    donation = Donation.objects.create(
        neighbourhood=neighbourhood, donor=donor.strip()[:100], note=(note or "")[:200], recorded_by=_user(actor)
    )
    for name, unit, qty in sorted(clean):
        StockItem.objects.get_or_create(neighbourhood=neighbourhood, name=name, defaults={"unit": unit})
        item = StockItem.objects.select_for_update().get(neighbourhood=neighbourhood, name=name)
        item.quantity += qty
        item.save(update_fields=["quantity"])
        StockMovement.objects.create(
            neighbourhood=neighbourhood,
            stock_item=item,
            kind=MovementKind.DONATION,
            delta=qty,
            balance=item.quantity,
            donation=donation,
            recipient=donation.donor,
            actor=_user(actor),
        )
    audit_record(
        actor=actor,
        action="supplies.donation_record",
        obj=donation,
        changes={"lines": [{"name": n, "quantity": q} for n, _u, q in clean]},
    )
    return donation


@transaction.atomic
def stock_issue(
    *,
    actor,
    stock_item: StockItem,
    quantity: int,
    to_household: Household | None = None,
    to_user=None,
    recipient: str = "",
) -> StockMovement:
    """Issue stock to a volunteer or a household; the stock never goes below zero."""
    qty = _positive_int(quantity, "quantity")
    if to_household is None and to_user is None and not (recipient or "").strip():
        raise ValidationError({"recipient": ["请填写领取人或住户"]})
    if to_household is not None and to_household.neighbourhood_id != stock_item.neighbourhood_id:
        raise ValidationError({"to_household": ["住户不属于该居民区"]})
    item = StockItem.objects.select_for_update().get(pk=stock_item.pk)
    if item.quantity < qty:
        raise SoldOutError({"quantity": [f"库存不足:{item.name}只剩{item.quantity}{item.unit}"]})
    item.quantity -= qty
    item.save(update_fields=["quantity"])
    movement = StockMovement.objects.create(
        neighbourhood_id=item.neighbourhood_id,
        stock_item=item,
        kind=MovementKind.ISSUE,
        delta=-qty,
        balance=item.quantity,
        to_household=to_household,
        to_user=to_user,
        recipient=(recipient or "").strip()[:100] or (str(to_household) if to_household else str(to_user or "")),
        actor=_user(actor),
    )
    audit_record(
        actor=actor,
        action="supplies.stock_issue",
        obj=item,
        changes={"quantity": qty, "household": to_household.pk if to_household else None, "balance": item.quantity},
    )
    return movement


@transaction.atomic
def stock_set_threshold(*, actor, stock_item: StockItem, low_threshold: int) -> StockItem:
    try:
        value = int(low_threshold)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"low_threshold": ["应为整数"]}) from exc
    if value < 0:
        raise ValidationError({"low_threshold": ["不能为负"]})
    item = StockItem.objects.select_for_update().get(pk=stock_item.pk)
    before = item.low_threshold
    item.low_threshold = value
    item.save(update_fields=["low_threshold"])
    audit_record(actor=actor, action="supplies.stock_threshold", obj=item, changes={"low_threshold": [before, value]})
    return item
