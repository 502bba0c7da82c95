"""Group buys from proposal to delivery: bidding and votes, opening, closing, arrival,
disinfection, sorting, delivery to buildings, issues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.people.normalize import normalize_phone
from jiayuan.places.models import Building, Household
from jiayuan.supplies.choices import (
    Category,
    IssueKind,
    OrderStatus,
    SelectionMode,
)
from jiayuan.supplies.models import (
    BuildingDelivery,
    GroupBuy,
    GroupBuyIssue,
    GroupBuyItem,
    GroupBuyLeader,
    Order,
    Vote,
)
from jiayuan.supplies.services._shared import LIVE_STATES, S
from jiayuan.supplies.services.config import settings_for
from jiayuan.supplies.services.leaders import _require_active_leader


def _clean_items(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    clean, errors = [], []
    for n, raw in enumerate(items, start=1):
        name = str(raw.get("name") or "").strip()
        if not name:
            continue
        try:
            price = Decimal(str(raw.get("unit_price"))).quantize(Decimal("0.01"))
        except (InvalidOperation, TypeError, ValueError):
            errors.append(f"第{n}项:单价不是数字")
            continue
        if price <= 0:
            errors.append(f"第{n}项:单价应大于0")
            continue
        limit = raw.get("per_household_limit") or None
        total = raw.get("total_quantity") or None
        try:
            limit = int(limit) if limit is not None else None
            total = int(total) if total is not None else None
        except (TypeError, ValueError):
            errors.append(f"第{n}项:限购和总量应为整数")
            continue
        if (limit is not None and limit < 1) or (total is not None and total < 1):
            errors.append(f"第{n}项:限购和总量应大于0")
            continue
        clean.append(
            {
                "name": name[:100],
                "spec": str(raw.get("spec") or "")[:100],
                "unit": str(raw.get("unit") or "份")[:16],
                "unit_price": price,
                "per_household_limit": limit,
                "total_quantity": total,
            }
        )
    if errors:
        raise ValidationError({"items": errors})
    if not clean:
        raise ValidationError({"items": ["至少填写一项商品"]})
    return clean


@transaction.atomic
def group_buy_propose(
    *,
    actor,
    leader: GroupBuyLeader,
    title: str,
    category: str,
    supplier: str,
    delivery_date: dt.date,
    items: Iterable[dict[str, Any]],
    brand: str = "",
    description: str = "",
    min_households: int = 0,
) -> GroupBuy:
    """An approved leader proposes a group buy for their compound; it enters bidding."""
    _require_active_leader(leader)
    errors: dict[str, list[str]] = {}
    if not (title or "").strip():
        errors["title"] = ["请填写名称"]
    if category not in Category.values:
        errors["category"] = ["请选择品类"]
    if not (supplier or "").strip():
        errors["supplier"] = ["请填写供应商"]
    if not isinstance(delivery_date, dt.date) or delivery_date < timezone.localdate():
        errors["delivery_date"] = ["送达日期不能早于今天"]
    if errors:
        raise ValidationError(errors)
    clean = _clean_items(items)
    household = leader.household
    gb = GroupBuy.objects.create(
        neighbourhood_id=leader.neighbourhood_id,
        compound_id=household.building.compound_id,
        leader=leader,
        title=title.strip()[:100],
        category=category,
        supplier=supplier.strip()[:200],
        brand=(brand or "").strip()[:100],
        description=description or "",
        min_households=int(min_households or 0),
        delivery_date=delivery_date,
        created_by=_user(actor),
    )
    GroupBuyItem.objects.bulk_create(
        [GroupBuyItem(neighbourhood_id=gb.neighbourhood_id, group_buy=gb, **row) for row in clean]
    )
    audit_record(
        actor=actor,
        action="supplies.group_buy_propose",
        obj=gb,
        changes={
            "leader": leader.pk,
            "category": category,
            "delivery_date": delivery_date.isoformat(),
            "items": len(clean),
        },
    )
    return gb


def _locked(gb: GroupBuy) -> GroupBuy:
    """The group buy row, locked for a status change.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: an order's foreign key to the group buy is
    checked at its commit with ``FOR KEY SHARE`` on this row (Django's foreign keys are
    deferred), while the order holds its item rows. A close or cancel holding this row
    ``FOR UPDATE`` and waiting for those items would deadlock with it.
    """
    return GroupBuy.objects.select_for_update(no_key=True).get(pk=gb.pk)


def _transition(gb: GroupBuy, *, allowed: Iterable[str], message: str) -> None:
    if gb.status not in allowed:
        raise ValidationError(f"{message}(当前状态:{gb.get_status_display()})")


def _audit_status(actor, gb: GroupBuy, before: str, action: str, **extra) -> None:
    audit_record(
        actor=actor, action=f"supplies.group_buy_{action}", obj=gb, changes={"status": [before, gb.status], **extra}
    )


def bidding_group(gb: GroupBuy):
    """Proposals competing with ``gb``: same compound, category and delivery day."""
    return GroupBuy.objects.filter(
        compound_id=gb.compound_id, category=gb.category, delivery_date=gb.delivery_date
    ).order_by("id")


def _settle_bidding(*, actor, winner: GroupBuy, mode: str, votes: int = 0) -> GroupBuy:
    rivals = list(bidding_group(winner).select_for_update().filter(status=S.PROPOSED).exclude(pk=winner.pk))
    winner.status = S.SELECTED
    winner.selected_by = mode
    winner.votes_received = votes
    winner.save(update_fields=["status", "selected_by", "votes_received"])
    _audit_status(actor, winner, S.PROPOSED, "select", mode=mode, votes=votes)
    for rival in rivals:
        rival.status = S.NOT_SELECTED
        rival.status_reason = "同类比选未选中"
        rival.votes_received = Vote.objects.filter(group_buy=rival).count()
        rival.save(update_fields=["status", "status_reason", "votes_received"])
        _audit_status(actor, rival, S.PROPOSED, "not_selected", winner=winner.pk)
    return winner


@transaction.atomic
def group_buy_pick(*, actor, group_buy: GroupBuy) -> GroupBuy:
    """The committee picks one proposal of a bidding group (when the setting says so)."""
    settings = settings_for(group_buy.neighbourhood_id, lock=True)
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.PROPOSED], message="只能选定待比选的团购")
    if settings.selection_mode != SelectionMode.COMMITTEE:
        raise ValidationError("本居民区由居民投票选定,请使用“统计投票”")
    _require_active_leader(gb.leader)
    return _settle_bidding(actor=actor, winner=gb, mode=SelectionMode.COMMITTEE)


def vote_tally(group_buy: GroupBuy) -> dict[int, int]:
    counts = dict.fromkeys(bidding_group(group_buy).filter(status=S.PROPOSED).values_list("id", flat=True), 0)
    for gb_id in Vote.objects.filter(bidding_key=group_buy.bidding_key).values_list("group_buy_id", flat=True):
        if gb_id in counts:
            counts[gb_id] += 1
    return counts


@transaction.atomic
def bidding_close_vote(*, actor, group_buy: GroupBuy) -> GroupBuy:
    """Count the residents' votes of ``group_buy``'s bidding group; the most votes wins
    (a tie goes to the earlier proposal)."""
    settings = settings_for(group_buy.neighbourhood_id, lock=True)
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.PROPOSED], message="只能统计待比选团购的投票")
    if settings.selection_mode != SelectionMode.VOTE:
        raise ValidationError("本居民区由居委/业委会选定,不使用投票")
    counts = vote_tally(gb)
    if not any(counts.values()):
        raise ValidationError("还没有住户投票")
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    winner = GroupBuy.objects.select_for_update().get(pk=ranked[0][0])
    _require_active_leader(winner.leader)
    return _settle_bidding(actor=actor, winner=winner, mode=SelectionMode.VOTE, votes=ranked[0][1])


@transaction.atomic
def vote_cast(*, actor, household: Household, group_buy: GroupBuy) -> Vote:
    """One vote per household per bidding group."""
    gb = GroupBuy.objects.select_related("compound").get(pk=group_buy.pk)
    if gb.status != S.PROPOSED:
        raise ValidationError("该团购已不在比选中")
    if household.building.compound_id != gb.compound_id:
        raise ValidationError("只能为本小区的团购投票")
    if settings_for(gb.neighbourhood_id).selection_mode != SelectionMode.VOTE:
        raise ValidationError("本居民区由居委/业委会选定,不需要投票")
    if Vote.objects.filter(household=household, bidding_key=gb.bidding_key).exists():
        raise ValidationError("本户已经投过票")
    try:
        with transaction.atomic():
            vote = Vote.objects.create(
                neighbourhood_id=gb.neighbourhood_id,
                household=household,
                building_id=household.building_id,
                group_buy=gb,
                bidding_key=gb.bidding_key,
            )
    except IntegrityError as exc:
        raise ValidationError("本户已经投过票") from exc
    audit_record(actor=actor, action="supplies.vote_cast", obj=gb, changes={"household": household.pk})
    return vote


@transaction.atomic
def group_buy_reject(*, actor, group_buy: GroupBuy, reason: str) -> GroupBuy:
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.PROPOSED, S.SELECTED], message="只能驳回尚未开团的团购")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请填写驳回原因"]})
    before = gb.status
    gb.status, gb.status_reason = S.REJECTED, reason.strip()
    gb.save(update_fields=["status", "status_reason"])
    _audit_status(actor, gb, before, "reject", reason=gb.status_reason)
    return gb


@transaction.atomic
def group_buy_cancel(*, actor, group_buy: GroupBuy, reason: str) -> GroupBuy:
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.PROPOSED, S.SELECTED, S.OPEN, S.CLOSED], message="到货后不能取消")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请填写取消原因"]})
    # Lock the items like an order does, so no order slips in while we cancel.
    list(GroupBuyItem.objects.select_for_update().filter(group_buy=gb).order_by("id"))
    before = gb.status
    gb.status, gb.status_reason = S.CANCELLED, reason.strip()
    gb.save(update_fields=["status", "status_reason"])
    _audit_status(actor, gb, before, "cancel", reason=gb.status_reason)
    return gb


@transaction.atomic
def group_buy_open(*, actor, group_buy: GroupBuy) -> GroupBuy:
    """Open a selected group buy for orders (接龙), within the per-category daily limit."""
    settings = settings_for(group_buy.neighbourhood_id, lock=True)  # serialises concurrent openings
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.SELECTED], message="只有已选定的团购才能开团")
    _require_active_leader(gb.leader)
    live = (
        GroupBuy.objects.filter(
            compound_id=gb.compound_id, category=gb.category, delivery_date=gb.delivery_date, status__in=LIVE_STATES
        )
        .exclude(pk=gb.pk)
        .count()
    )
    if live >= settings.daily_limit_per_category:
        raise ValidationError(
            f"本小区{gb.delivery_date:%m月%d日}的{gb.get_category_display()}团购已达上限"
            f"({settings.daily_limit_per_category}个)"
        )
    gb.status, gb.opened_at = S.OPEN, timezone.now()
    gb.save(update_fields=["status", "opened_at"])
    _audit_status(actor, gb, S.SELECTED, "open")
    return gb


@transaction.atomic
def group_buy_close(*, actor, group_buy: GroupBuy) -> GroupBuy:
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.OPEN], message="只有接龙中的团购才能截单")
    list(GroupBuyItem.objects.select_for_update().filter(group_buy=gb).order_by("id"))
    gb.status, gb.closed_at = S.CLOSED, timezone.now()
    gb.save(update_fields=["status", "closed_at"])
    _audit_status(actor, gb, S.OPEN, "close")
    return gb


@transaction.atomic
def group_buy_arrive(
    *,
    actor,
    group_buy: GroupBuy,
    vehicle_plate: str,
    driver_name: str,
    driver_phone: str = "",
    arrival_note: str = "",
    arrived_at: dt.datetime | None = None,
) -> GroupBuy:
    """The gate declares the arrival (vehicle, driver, quantities, time) and admits the goods."""
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.CLOSED], message="只有已截单的团购才能登记到货")
    errors: dict[str, list[str]] = {}
    if not (vehicle_plate or "").strip():
        errors["vehicle_plate"] = ["请填写车牌"]
    if not (driver_name or "").strip():
        errors["driver_name"] = ["请填写司机姓名"]
    try:
        driver_phone = normalize_phone(driver_phone)
    except ValidationError as exc:
        errors["driver_phone"] = exc.messages
    arrived_at = arrived_at or timezone.now()
    if arrived_at > timezone.now() + dt.timedelta(minutes=5):
        errors["arrived_at"] = ["到货时间不能晚于现在"]
    if errors:
        raise ValidationError(errors)
    gb.vehicle_plate = vehicle_plate.strip().upper()[:20]
    gb.driver_name = driver_name.strip()[:64]
    gb.driver_phone = driver_phone
    gb.arrival_note = arrival_note or ""
    gb.arrived_at = arrived_at
    gb.admitted_by = _user(actor)
    gb.status = S.ARRIVED
    gb.save()
    _audit_status(actor, gb, S.CLOSED, "arrive", vehicle=gb.vehicle_plate, arrived_at=arrived_at.isoformat())
    return gb


# A disinfection entered with a time further back than this shortens the rest still to come:
# it needs the gate's explicit confirmation (``confirm_backdated``).
BACKDATE_TOLERANCE = dt.timedelta(minutes=10)


def _hm(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


@transaction.atomic
def group_buy_disinfect(
    *, actor, group_buy: GroupBuy, disinfected_at: dt.datetime | None = None, confirm_backdated: bool = False
) -> GroupBuy:
    """Goods disinfected at the gate; they rest for the neighbourhood's rest time before sorting.

    Refused: a time before the arrival (to the minute: the form has no seconds) or in the future.
    A time more than ``BACKDATE_TOLERANCE`` ago makes the rest end sooner than the gate may
    expect (or at once): refused unless ``confirm_backdated``, and audited as confirmed.
    """
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.ARRIVED], message="只有已到货的团购才能登记消杀")
    now = timezone.now()
    disinfected_at = disinfected_at or now
    if gb.arrived_at and disinfected_at < gb.arrived_at.replace(second=0, microsecond=0):
        arrived = timezone.localtime(gb.arrived_at).strftime("%m-%d %H:%M")
        raise ValidationError({"disinfected_at": [f"消杀时间不能早于到货时间(到货 {arrived})"]})
    if disinfected_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"disinfected_at": ["消杀时间不能晚于现在"]})
    rest = settings_for(gb.neighbourhood_id).rest_minutes
    ready_at = disinfected_at + dt.timedelta(minutes=rest)
    backdated = now - disinfected_at > BACKDATE_TOLERANCE
    if backdated and not confirm_backdated:
        ago = int((now - disinfected_at).total_seconds() // 60)
        if ready_at <= now:
            text = (
                f"消杀时间早于现在{ago}分钟:按此时间,{rest}分钟的静置已在 {_hm(ready_at)} 结束,"
                "物资可以立即分拣。如消杀确实在这个时间完成,请勾选“确认消杀时间属实”后再提交。"
            )
        else:
            text = (
                f"消杀时间早于现在{ago}分钟:静置将在 {_hm(ready_at)} 结束,只剩"
                f"{int((ready_at - now).total_seconds() // 60) + 1}分钟。"
                "如消杀确实在这个时间完成,请勾选“确认消杀时间属实”后再提交。"
            )
        raise ValidationError({"disinfected_at": [text]})
    gb.disinfected_at = disinfected_at
    gb.disinfected_by = _user(actor)
    gb.ready_at = ready_at
    gb.status = S.DISINFECTED
    gb.save()
    extra = {"backdated_confirmed": True} if backdated else {}
    _audit_status(actor, gb, S.ARRIVED, "disinfect", ready_at=gb.ready_at.isoformat(), rest_minutes=rest, **extra)
    return gb


def _require_ready(gb: GroupBuy) -> None:
    """Release for sorting and delivery only after the full rest: refused, with no override (the
    rest is the disinfectant's contact time; shortening it is the committee's setting, for the
    disinfections that follow)."""
    if gb.ready_at is None or timezone.now() < gb.ready_at:
        if gb.ready_at is None:
            raise ValidationError("物资还在静置,消杀后才能分拣和送货")
        left = int((gb.ready_at - timezone.now()).total_seconds() // 60) + 1
        raise ValidationError(f"物资还在静置,{_hm(gb.ready_at)} 之后才能分拣和送货(还需约{left}分钟)")


@transaction.atomic
def group_buy_sort(*, actor, group_buy: GroupBuy) -> GroupBuy:
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.DISINFECTED], message="只有消杀后的团购才能分拣")
    _require_ready(gb)
    gb.status, gb.sorted_at = S.SORTED, timezone.now()
    gb.save(update_fields=["status", "sorted_at"])
    _audit_status(actor, gb, S.DISINFECTED, "sort")
    return gb


@transaction.atomic
def building_deliver(
    *, actor, group_buy: GroupBuy, building: Building, bags: int = 0, note: str = ""
) -> BuildingDelivery:
    """A volunteer signs off a building's bags as delivered to every door."""
    gb = _locked(group_buy)
    _transition(gb, allowed=[S.DISINFECTED, S.SORTED], message="物资尚未消杀分拣,不能送货")
    _require_ready(gb)
    if building.compound_id != gb.compound_id:
        raise ValidationError({"building": ["不是本团购小区的楼栋"]})
    if not Order.objects.filter(group_buy=gb, building=building, status=OrderStatus.ACTIVE).exists():
        raise ValidationError({"building": ["该楼栋没有订单"]})
    if BuildingDelivery.objects.filter(group_buy=gb, building=building).exists():
        raise ValidationError({"building": ["该楼栋已经签收"]})
    try:
        bags = int(bags or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"bags": ["袋数应为整数"]}) from exc
    if bags < 0:
        raise ValidationError({"bags": ["袋数不能为负"]})
    delivery = BuildingDelivery.objects.create(
        neighbourhood_id=gb.neighbourhood_id,
        group_buy=gb,
        building=building,
        bags=bags,
        note=(note or "")[:200],
        delivered_by=actor,
    )
    audit_record(
        actor=actor, action="supplies.building_deliver", obj=gb, changes={"building": building.pk, "bags": bags}
    )
    ordered = set(
        Order.objects.filter(group_buy=gb, status=OrderStatus.ACTIVE).values_list("building_id", flat=True).distinct()
    )
    signed = set(BuildingDelivery.objects.filter(group_buy=gb).values_list("building_id", flat=True))
    if ordered <= signed:
        before = gb.status
        gb.status, gb.delivered_at = S.DELIVERED, timezone.now()
        gb.save(update_fields=["status", "delivered_at"])
        _audit_status(actor, gb, before, "deliver")
    return delivery


@transaction.atomic
def issue_record(
    *,
    actor,
    group_buy: GroupBuy,
    kind: str,
    text: str,
    household: Household | None = None,
    refund_amount: Decimal | None = None,
) -> GroupBuyIssue:
    """A complaint or a refund noted against a group buy that has arrived."""
    group_buy = GroupBuy.objects.get(pk=group_buy.pk)
    if group_buy.status not in (S.ARRIVED, S.DISINFECTED, S.SORTED, S.DELIVERED, S.CLOSED):
        raise ValidationError("只能对已截单或到货的团购登记投诉/退款")
    errors: dict[str, list[str]] = {}
    if kind not in IssueKind.values:
        errors["kind"] = ["不是可选值之一"]
    if not (text or "").strip():
        errors["text"] = ["请填写内容"]
    if kind == IssueKind.REFUND and (refund_amount is None or refund_amount <= 0):
        errors["refund_amount"] = ["请填写退款金额"]
    if household is not None and household.building.compound_id != group_buy.compound_id:
        errors["household"] = ["不是本小区的住户"]
    if errors:
        raise ValidationError(errors)
    issue = GroupBuyIssue.objects.create(
        neighbourhood_id=group_buy.neighbourhood_id,
        group_buy=group_buy,
        compound_id=group_buy.compound_id,
        household=household,
        kind=kind,
        text=text.strip(),
        refund_amount=refund_amount if kind == IssueKind.REFUND else None,
        recorded_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action=f"supplies.{kind}",
        obj=group_buy,
        changes={
            "issue": issue.pk,
            "household": household.pk if household else None,
            "refund": str(refund_amount or ""),
        },
    )
    return issue
