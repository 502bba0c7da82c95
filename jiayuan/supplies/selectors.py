"""Reads for supplies, always through the acting user's scope (or a household's own link)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from jiayuan.control.selectors import zone_levels
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.people.choices import Tag
from jiayuan.people.models import Resident
from jiayuan.places.models import Building, Household
from jiayuan.supplies.choices import READY, DeliveryMode, GroupBuyStatus, HandoutUnit, OrderStatus
from jiayuan.supplies.models import (
    AppointmentCampaign,
    AppointmentWindow,
    Booking,
    BuildingDelivery,
    GroupBuy,
    GroupBuyLeader,
    HandoutReceipt,
    HandoutRound,
    LeaderDocument,
    Order,
    StockItem,
    Vote,
)

S = GroupBuyStatus


def leader_list(*, user, status: str = "") -> QuerySet[GroupBuyLeader]:
    qs = restrict(
        GroupBuyLeader.objects.select_related("household__building__compound").prefetch_related(
            Prefetch("documents", queryset=LeaderDocument.objects.defer("data"))
        ),
        user,
        Action.VIEW_SUPPLIES,
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("status", "-created_at")


def leader_get(*, user, leader_id: int, action: str = Action.VIEW_SUPPLIES) -> GroupBuyLeader:
    qs = GroupBuyLeader.objects.select_related("household__building__compound").prefetch_related(
        Prefetch("documents", queryset=LeaderDocument.objects.defer("data"))
    )
    return get_scoped_or_404(qs, user, action, pk=leader_id)


def document_get(*, user, document_id: int) -> LeaderDocument:
    return get_scoped_or_404(LeaderDocument.objects.all(), user, Action.VIEW_SUPPLIES, pk=document_id)


def _gb_base() -> QuerySet[GroupBuy]:
    return GroupBuy.objects.select_related("leader", "compound").prefetch_related(
        "items", Prefetch("leader__documents", queryset=LeaderDocument.objects.defer("data"))
    )


def group_buy_list(*, user, status: str = "", action: str = Action.VIEW_SUPPLIES) -> QuerySet[GroupBuy]:
    qs = restrict(_gb_base(), user, action)
    if status == READY:
        qs = qs.filter(status=S.DISINFECTED, ready_at__lte=timezone.now())
    elif status == S.DISINFECTED:
        qs = qs.filter(status=S.DISINFECTED, ready_at__gt=timezone.now())
    elif status:
        qs = qs.filter(status=status)
    return qs.annotate(order_count=Count("orders", filter=Q(orders__status=OrderStatus.ACTIVE))).order_by(
        "-delivery_date", "-id"
    )


def group_buy_get(*, user, group_buy_id: int, action: str = Action.VIEW_SUPPLIES) -> GroupBuy:
    return get_scoped_or_404(_gb_base(), user, action, pk=group_buy_id)


def bidding_groups(*, user=None, compound_id: int | None = None) -> list[dict]:
    """Proposals still in bidding, grouped by (compound, category, delivery day), for the
    side-by-side comparison."""
    qs = _gb_base().filter(status=S.PROPOSED)
    qs = restrict(qs, user, Action.VIEW_SUPPLIES) if user is not None else qs
    if compound_id is not None:
        qs = qs.filter(compound_id=compound_id)
    votes = defaultdict(int)
    for gb_id, n in (
        Vote.objects.filter(group_buy__in=qs.values("id"))
        .values_list("group_buy_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        votes[gb_id] = n
    groups: dict[str, dict] = {}
    for gb in qs.order_by("delivery_date", "category", "id"):
        groups.setdefault(
            gb.bidding_key,
            {
                "key": gb.bidding_key,
                "compound": gb.compound,
                "category": gb.get_category_display(),
                "delivery_date": gb.delivery_date,
                "proposals": [],
            },
        )
        gb.vote_count = votes[gb.pk]
        gb.documents_valid_until = gb.leader.documents_valid_until()
        groups[gb.bidding_key]["proposals"].append(gb)
    return list(groups.values())


def household_votes(*, household: Household, bidding_keys: Iterable[str]) -> dict[str, int]:
    """Bidding key → the group buy this household voted for, in one query for the whole page."""
    return dict(
        Vote.objects.filter(household=household, bidding_key__in=list(bidding_keys)).values_list(
            "bidding_key", "group_buy_id"
        )
    )


def household_group_buys(*, household: Household) -> QuerySet[GroupBuy]:
    """What a household sees through its link: its compound's open and recent group buys."""
    return (
        _gb_base()
        .filter(compound_id=household.building.compound_id)
        .exclude(status__in=[S.REJECTED, S.CANCELLED, S.NOT_SELECTED, S.PROPOSED, S.SELECTED])
        .order_by("-delivery_date", "-id")
    )


def household_orders(*, household: Household, group_buy: GroupBuy | None = None) -> QuerySet[Order]:
    qs = Order.objects.filter(household=household).select_related("group_buy").prefetch_related("lines__item")
    if group_buy is not None:
        qs = qs.filter(group_buy=group_buy)
    return qs.order_by("-created_at")


def household_leader(*, household: Household) -> GroupBuyLeader | None:
    return (
        GroupBuyLeader.objects.filter(household=household)
        .prefetch_related(Prefetch("documents", queryset=LeaderDocument.objects.defer("data")))
        .order_by("-created_at")
        .first()
    )


def order_list(*, user, group_buy: GroupBuy, building_id: int | None = None) -> QuerySet[Order]:
    qs = restrict(
        Order.objects.filter(group_buy=group_buy).select_related("household__building", "placed_by", "proxy_for"),
        user,
        Action.VIEW_SUPPLIES,
    ).prefetch_related("lines__item")
    if building_id:
        qs = qs.filter(building_id=building_id)
    return qs.order_by("building__sort_key", "household__unit", "household__floor", "household__room", "id")


def sorting_sheet(*, user, group_buy: GroupBuy, building_id: int | None = None) -> dict:
    """Per building: one row per household with the quantity of every item, and the building's
    totals; plus grand totals. Sealed buildings (control's zone levels) are door delivery only."""
    items = list(group_buy.items.all().order_by("id"))
    orders = restrict(
        Order.objects.filter(group_buy=group_buy, status=OrderStatus.ACTIVE).select_related("household__building"),
        user,
        Action.VIEW_SUPPLIES,
    ).prefetch_related("lines")
    if building_id:
        orders = orders.filter(building_id=building_id)
    index = {item.pk: n for n, item in enumerate(items)}
    buildings: dict[int, dict] = {}
    for order in orders:
        b = order.household.building
        block = buildings.setdefault(
            b.pk, {"building": b, "rows": {}, "totals": [0] * len(items), "amount": Decimal("0"), "orders": 0}
        )
        row = block["rows"].setdefault(
            order.household_id,
            {
                "household": order.household,
                "quantities": [0] * len(items),
                "amount": Decimal("0"),
                "paid": True,
                "mode": order.delivery_mode,
                "proxy": False,
            },
        )
        for line in order.lines.all():
            n = index[line.item_id]
            row["quantities"][n] += line.quantity
            block["totals"][n] += line.quantity
        row["amount"] += order.total_amount
        row["paid"] = row["paid"] and order.paid
        row["proxy"] = row["proxy"] or order.is_proxy
        if order.delivery_mode == DeliveryMode.DOOR:
            row["mode"] = DeliveryMode.DOOR
        block["amount"] += order.total_amount
        block["orders"] += 1
    levels = zone_levels(building_ids=list(buildings))
    signed = {
        d.building_id: d for d in BuildingDelivery.objects.filter(group_buy=group_buy, building_id__in=list(buildings))
    }
    blocks = sorted(buildings.values(), key=lambda blk: (blk["building"].sort_key, blk["building"].number))
    grand = [0] * len(items)
    for blk in blocks:
        blk["zone"] = levels.get(blk["building"].pk, "")
        blk["sealed"] = blk["zone"] == "sealed"
        rows = sorted(
            blk["rows"].values(),
            key=lambda r: (r["household"].unit, r["household"].floor or 0, r["household"].room),
        )
        for r in rows:
            if blk["sealed"]:
                r["mode"] = DeliveryMode.DOOR
            r["mode_label"] = DeliveryMode(r["mode"]).label
            r["cells"] = list(zip(items, r["quantities"], strict=True))
        blk["rows"] = rows
        blk["households"] = len(rows)
        blk["cells"] = list(zip(items, blk["totals"], strict=True))
        blk["delivery"] = signed.get(blk["building"].pk)
        for n, q in enumerate(blk["totals"]):
            grand[n] += q
    return {
        "group_buy": group_buy,
        "items": items,
        "buildings": blocks,
        "totals": grand,
        "total_cells": list(zip(items, grand, strict=True)),
        "amount": sum((b["amount"] for b in blocks), Decimal("0")),
        "households": sum(b["households"] for b in blocks),
    }


def order_totals(*, group_buy: GroupBuy) -> dict[int, int]:
    """Item id → total ordered in active orders (what sorting totals must equal)."""
    from jiayuan.supplies.models import OrderLine

    return dict(
        OrderLine.objects.filter(order__group_buy=group_buy, order__status=OrderStatus.ACTIVE)
        .values_list("item_id")
        .annotate(n=Sum("quantity"))
        .order_by()
    )


def delivery_checklist(*, user) -> list[dict]:
    """For a volunteer: the buildings they deliver to, with each group buy that is ready
    (disinfected and rested, or sorted) and still to be signed off there."""
    buildings = restrict(Building.objects.select_related("compound"), user, Action.DELIVER_GOODS)
    building_ids = list(buildings.values_list("id", flat=True))
    if not building_ids:
        return []
    # Delivered group buys are done: leaving them out keeps the page (one sorting sheet per
    # group buy) bounded by the work in hand, not by every group buy of the lockdown.
    gbs = GroupBuy.objects.filter(
        status__in=[S.DISINFECTED, S.SORTED], compound_id__in=buildings.values("compound_id")
    ).prefetch_related("items")
    result = []
    for gb in gbs.order_by("delivery_date", "id"):
        sheet = sorting_sheet(user=user, group_buy=gb)
        blocks = [b for b in sheet["buildings"] if b["building"].pk in building_ids]
        if blocks:
            result.append({"group_buy": gb, "items": sheet["items"], "buildings": blocks})
    return result


def resident_choices_for_proxy(*, user, building_id: int | None = None) -> QuerySet[Resident]:
    """Residents tagged 无智能手机 the user may place proxy orders for."""
    qs = restrict(
        Resident.objects.filter(tag_rows__tag=Tag.NO_SMARTPHONE, household__isnull=False).select_related(
            "household__building"
        ),
        user,
        Action.PROXY_ORDER,
    )
    if building_id:
        qs = qs.filter(household__building_id=building_id)
    return qs.order_by("household__building__sort_key", "household__room", "id")


def sorting_buildings(*, user, group_buy: GroupBuy) -> list[dict]:
    """Buildings with orders the user can see, with household and order counts."""
    qs = restrict(Order.objects.filter(group_buy=group_buy, status=OrderStatus.ACTIVE), user, Action.VIEW_SUPPLIES)
    counts = dict(qs.values_list("building_id").annotate(n=Count("household_id", distinct=True)).order_by())
    buildings = Building.objects.filter(pk__in=list(counts)).order_by("sort_key", "number")
    return [{"building": b, "households": counts[b.pk]} for b in buildings]


# Handouts ----------------------------------------------------------------------------------


def handout_round_list(*, user) -> QuerySet[HandoutRound]:
    return (
        restrict(HandoutRound.objects.select_related("compound"), user, Action.VIEW_SUPPLIES)
        .annotate(received=Count("receipts"))
        .order_by("-created_at", "-id")
    )


def handout_round_get(*, user, round_id: int, action: str = Action.VIEW_SUPPLIES) -> HandoutRound:
    return get_scoped_or_404(HandoutRound.objects.select_related("compound"), user, action, pk=round_id)


def handout_progress(*, user, round: HandoutRound, building_id: int | None = None) -> list[dict]:
    """Per building in the round's scope (and the user's): expected, received, who is still
    missing (households, or residents present when the round is per person), and ``rows``: every
    entry in room order with ``received`` set, so a tick can be undone where it was made."""
    households = restrict(
        Household.objects.filter(neighbourhood_id=round.neighbourhood_id).select_related("building"),
        user,
        Action.VIEW_SUPPLIES,
    )
    if round.compound_id:
        households = households.filter(building__compound_id=round.compound_id)
    if building_id:
        households = households.filter(building_id=building_id)
    receipts = HandoutReceipt.objects.filter(round=round)
    per_person = round.unit == HandoutUnit.PERSON
    got_households = set(receipts.filter(resident__isnull=True).values_list("household_id", flat=True))
    got_people = set(receipts.filter(resident__isnull=False).values_list("resident_id", flat=True))
    people: dict[int, list[Resident]] = defaultdict(list)
    if per_person:
        from jiayuan.people.choices import Presence

        for r in Resident.objects.filter(household__in=households, presence=Presence.PRESENT).order_by("id"):
            people[r.household_id].append(r)
    blocks: dict[int, dict] = {}
    for h in households.order_by("building__sort_key", "building__number", "unit", "floor", "room"):
        blk = blocks.setdefault(
            h.building_id, {"building": h.building, "expected": 0, "received": 0, "missing": [], "rows": []}
        )
        entries = (
            [(r, r.pk in got_people) for r in people.get(h.pk, [])] if per_person else [(None, h.pk in got_households)]
        )
        for resident, received in entries:
            row = {"household": h, "resident": resident, "received": received}
            blk["expected"] += 1
            blk["rows"].append(row)
            if received:
                blk["received"] += 1
            else:
                blk["missing"].append(row)
    return list(blocks.values())


# Stock and appointments --------------------------------------------------------------------


def stock_list(*, user) -> QuerySet[StockItem]:
    return restrict(StockItem.objects.all(), user, Action.VIEW_SUPPLIES).order_by("name")


def stock_get(*, user, stock_id: int, action: str = Action.MANAGE_HANDOUTS) -> StockItem:
    return get_scoped_or_404(StockItem.objects.all(), user, action, pk=stock_id)


def campaign_list(*, user) -> QuerySet[AppointmentCampaign]:
    return restrict(AppointmentCampaign.objects.prefetch_related("windows"), user, Action.VIEW_SUPPLIES)


def campaign_get(*, user, campaign_id: int, action: str = Action.VIEW_SUPPLIES) -> AppointmentCampaign:
    return get_scoped_or_404(AppointmentCampaign.objects.all(), user, action, pk=campaign_id)


def booking_list(*, user, campaign: AppointmentCampaign) -> QuerySet[Booking]:
    return restrict(
        Booking.objects.filter(campaign=campaign).select_related("window", "household__building"),
        user,
        Action.VIEW_SUPPLIES,
    ).order_by("window__starts_at", "voucher")


def household_windows(*, household: Household) -> QuerySet[AppointmentWindow]:
    return (
        AppointmentWindow.objects.filter(neighbourhood_id=household.neighbourhood_id, ends_at__gt=timezone.now())
        .select_related("campaign")
        .order_by("starts_at")
    )


def household_bookings(*, household: Household) -> QuerySet[Booking]:
    return Booking.objects.filter(household=household).select_related("window", "campaign").order_by("-created_at")
