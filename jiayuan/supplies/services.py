"""Writes for supplies. Every rule and state transition lives here; each one is audited.

``actor`` is a user, or for a household acting through its link a label such as
``household-link:12`` (see ``link_actor``). Errors are ``ValidationError`` with Chinese,
field-level messages; running out of a limited quantity is ``SoldOutError`` (a
``ValidationError``; the API answers it with 409).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, ProgrammingError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from jiayuan.control.selectors import household_may_go_out
from jiayuan.core import context, rawsql
from jiayuan.core.audit import audit_record
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can
from jiayuan.people.choices import Tag
from jiayuan.people.models import Resident
from jiayuan.people.normalize import normalize_phone
from jiayuan.places.models import Building, Household, Neighbourhood
from jiayuan.supplies.choices import (
    BookingMode,
    Category,
    DeliveryMode,
    DocumentKind,
    GroupBuyStatus,
    HandoutUnit,
    IssueKind,
    LeaderStatus,
    MovementKind,
    OrderStatus,
    SelectionMode,
)
from jiayuan.supplies.models import (
    ALLOWED_DOCUMENT_TYPES,
    MAX_DOCUMENT_BYTES,
    AppointmentCampaign,
    AppointmentWindow,
    Booking,
    BuildingDelivery,
    Donation,
    GroupBuy,
    GroupBuyIssue,
    GroupBuyItem,
    GroupBuyLeader,
    HandoutReceipt,
    HandoutRound,
    LeaderDocument,
    Order,
    OrderLine,
    StockItem,
    StockMovement,
    SuppliesSettings,
    Vote,
)

S = GroupBuyStatus
# States in which a group buy counts against the per-category daily limit.
LIVE_STATES = (S.OPEN, S.CLOSED, S.ARRIVED, S.DISINFECTED, S.SORTED, S.DELIVERED)


# Bounds on numbers from outside, so a huge id or quantity is a field error, not a database
# overflow (SQLite refuses ints over 2**63; PostgreSQL's integer columns stop at 2**31).
MAX_ID = 2**53
MAX_QUANTITY = 10_000


def clean_idempotency_key(key: str | None, *, field: str = "idempotency_key") -> str:
    """A client's idempotency key: printable text up to 200 characters (PostgreSQL refuses NUL)."""
    key = (key or "").strip()
    if len(key) > 200 or any(not ch.isprintable() for ch in key):
        raise ValidationError({field: ["幂等键只能是200个字符以内的可打印字符"]})
    return key


class SoldOutError(ValidationError):
    """An order or booking asked for more than is left (HTTP 409 in the API)."""


def link_actor(link) -> str:
    """The audit label of a household acting through its link."""
    return f"household-link:{link.pk}"


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def require_may_go_out(household: Household, *, field: str) -> None:
    """Refuse a "come and pick up" for a household that may not go out (sealed building, home
    quarantine, a case at home): control's ``household_may_go_out`` decides, for every flow."""
    may, reason = household_may_go_out(household)
    if not may:
        raise ValidationError({field: [reason]})


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


# Leaders -----------------------------------------------------------------------------------


def document_check(*, filename: str, data: bytes) -> str:
    """The content type of an uploaded permit/licence scan; JPEG, PNG or PDF up to 5 MB."""
    if not data:
        raise ValidationError("文件为空")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationError(f"文件过大(最大 {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB)")
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    raise ValidationError("只接受 JPG、PNG 图片或 PDF 文件")


def _document_create(*, leader: GroupBuyLeader, doc: dict[str, Any], field: str) -> LeaderDocument:
    kind = doc.get("kind")
    if kind not in DocumentKind.values:
        raise ValidationError({field: ["证件类型不正确"]})
    expires_on = doc.get("expires_on")
    if not isinstance(expires_on, dt.date):
        raise ValidationError({f"{field}_expires_on": ["请填写有效期"]})
    data = doc.get("data") or b""
    try:
        content_type = document_check(filename=doc.get("filename", ""), data=data)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc
    filename = (doc.get("filename") or f"{kind}{ALLOWED_DOCUMENT_TYPES[content_type]}")[-200:]
    return LeaderDocument.objects.create(
        neighbourhood_id=leader.neighbourhood_id,
        leader=leader,
        kind=kind,
        number=(doc.get("number") or "")[:64],
        expires_on=expires_on,
        filename=filename,
        content_type=content_type,
        size=len(data),
        data=data,
    )


@transaction.atomic
def leader_apply(
    *,
    actor,
    household: Household,
    name: str,
    phone: str = "",
    channel: str,
    note: str = "",
    documents: Iterable[dict[str, Any]] = (),
) -> GroupBuyLeader:
    """A resident applies to be a group-buy leader (through the household link, or staff
    register the application). ``documents``: dicts with kind, number, expires_on, filename, data.
    """
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    channel = (channel or "").strip()
    if not name:
        errors["name"] = ["请填写姓名"]
    if not channel:
        errors["channel"] = ["请填写渠道或供应商"]
    try:
        phone = normalize_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    docs = list(documents)
    kinds = {d.get("kind") for d in docs}
    for kind in DocumentKind.values:
        if kind not in kinds:
            errors[f"{kind}_file"] = [f"请上传{DocumentKind(kind).label}"]
    if errors:
        raise ValidationError(errors)
    # One live application per household: a resubmitted form (or a second tap) does not pile
    # up applications for the committee to review. The household row is the lock.
    Household.objects.select_for_update().filter(pk=household.pk).first()
    if GroupBuyLeader.objects.filter(
        household=household, status__in=[LeaderStatus.PENDING, LeaderStatus.APPROVED]
    ).exists():
        raise ValidationError("本户已有待审核或已通过的团长申请,不能重复申请")
    leader = GroupBuyLeader.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        household=household,
        name=name[:64],
        phone=phone,
        channel=channel[:200],
        note=note,
    )
    for doc in docs:
        _document_create(leader=leader, doc=doc, field=f"{doc.get('kind')}_file")
    audit_record(
        actor=actor,
        action="supplies.leader_apply",
        obj=leader,
        changes={"household": household.pk, "documents": sorted(kinds)},
    )
    return leader


@transaction.atomic
def leader_document_add(
    *, actor, leader: GroupBuyLeader, kind: str, number: str, expires_on, filename: str, data: bytes
):
    """A renewed permit or licence. A suspended leader goes back to review."""
    doc = _document_create(
        leader=leader,
        doc={"kind": kind, "number": number, "expires_on": expires_on, "filename": filename, "data": data},
        field="file",
    )
    leader = GroupBuyLeader.objects.select_for_update().get(pk=leader.pk)
    if leader.status == LeaderStatus.SUSPENDED:
        leader.status = LeaderStatus.PENDING
        leader.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="supplies.leader_document_add",
        obj=leader,
        changes={"kind": kind, "expires_on": expires_on.isoformat(), "document": doc.pk},
    )
    return doc


@transaction.atomic
def leader_document_open(*, actor, document: LeaderDocument) -> LeaderDocument:
    """Record that a staff member opened a leader's uploaded document (the caller has scoped it)."""
    audit_record(
        actor=actor,
        action="supplies.leader_document_view",
        obj=document.leader,
        neighbourhood_id=document.neighbourhood_id,
        changes={"document": document.pk, "kind": document.kind},
    )
    return document


@transaction.atomic
def export_record(*, actor, kind: str, households: int, group_buy: GroupBuy | None = None) -> None:
    """Audit a spreadsheet export (sorting sheet or delivery checklist): what, and how many households."""
    audit_record(
        actor=actor,
        action=f"supplies.{kind}_export",
        obj=group_buy,
        object_type="" if group_buy else "supplies.checklist",
        object_repr="" if group_buy else f"送货清单 {households} 户",
        changes={"households": households},
    )


@transaction.atomic
def leader_review(*, actor, leader: GroupBuyLeader, approve: bool, reason: str = "") -> GroupBuyLeader:
    """The committee or the owners' committee approves or rejects an application."""
    leader = GroupBuyLeader.objects.select_for_update().get(pk=leader.pk)
    reason = (reason or "").strip()
    if leader.status == LeaderStatus.APPROVED and approve:
        raise ValidationError("该团长已经通过审核")
    if approve:
        until = leader.documents_valid_until()
        if until is None:
            raise ValidationError("证件不全:需要防疫物资许可/保供证明和食品经营许可证")
        if until < timezone.localdate():
            raise ValidationError("证件已过期,不能通过审核")
    elif not reason:
        raise ValidationError({"reason": ["驳回时请填写原因"]})
    before = leader.status
    leader.status = LeaderStatus.APPROVED if approve else LeaderStatus.REJECTED
    leader.review_reason = reason
    leader.reviewed_by = _user(actor)
    leader.reviewed_at = timezone.now()
    leader.suspended_at = None
    leader.save()
    audit_record(
        actor=actor,
        action="supplies.leader_approve" if approve else "supplies.leader_reject",
        obj=leader,
        changes={"status": [before, leader.status], "reason": reason},
    )
    return leader


@transaction.atomic
def leaders_suspend_expired(*, actor, on: dt.date | None = None) -> list[int]:
    """Record the suspension of every approved leader whose documents have expired."""
    on = on or timezone.localdate()
    suspended = []
    qs = GroupBuyLeader.objects.select_for_update().filter(status=LeaderStatus.APPROVED)
    for leader in qs.prefetch_related("documents"):
        if leader.effective_status(on) == LeaderStatus.SUSPENDED:
            leader.status = LeaderStatus.SUSPENDED
            leader.suspended_at = timezone.now()
            leader.save(update_fields=["status", "suspended_at"])
            audit_record(
                actor=actor,
                action="supplies.leader_suspend",
                obj=leader,
                changes={"documents_valid_until": str(leader.documents_valid_until())},
            )
            suspended.append(leader.pk)
    return suspended


def _require_active_leader(leader: GroupBuyLeader) -> None:
    leader = GroupBuyLeader.objects.prefetch_related("documents").get(pk=leader.pk)
    status = leader.effective_status()
    if status != LeaderStatus.APPROVED:
        if status == LeaderStatus.SUSPENDED:
            raise ValidationError({"leader": ["团长证件已过期,已暂停开团"]})
        raise ValidationError({"leader": ["团长尚未通过资质审核"]})


# Group buys --------------------------------------------------------------------------------


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


# Orders ------------------------------------------------------------------------------------


def _clean_quantities(quantities: dict[Any, Any]) -> dict[int, int]:
    clean: dict[int, int] = {}
    errors = []
    for raw_item, raw_qty in (quantities or {}).items():
        try:
            item_id, qty = int(raw_item), int(raw_qty or 0)
        except (TypeError, ValueError):
            errors.append("数量应为整数")
            continue
        if not 0 < item_id <= MAX_ID:
            errors.append("商品不属于该团购")
            continue
        if qty < 0:
            errors.append("数量不能为负")
            continue
        if qty > MAX_QUANTITY:
            errors.append(f"每项数量不能超过{MAX_QUANTITY}")
            continue
        if qty:
            clean[item_id] = clean.get(item_id, 0) + qty
    if errors:
        raise ValidationError({"items": sorted(set(errors))})
    if not clean:
        raise ValidationError({"items": ["请至少选择一件商品"]})
    return clean


def order_place(
    *,
    actor,
    group_buy: GroupBuy,
    household: Household,
    quantities: dict[Any, Any],
    delivery_mode: str = DeliveryMode.DOOR,
    is_proxy: bool = False,
    proxy_for: Resident | None = None,
    idempotency_key: str = "",
    note: str = "",
) -> tuple[Order, bool]:
    """Place an order; returns ``(order, created)``. A retry with the same idempotency key
    returns the first order and changes nothing.

    No oversell: the ordered item rows are locked (in id order, so two orders cannot deadlock)
    before the remaining quantity and the household's limit are checked; the check constraint
    on ``GroupBuyItem`` backs it up.

    This is the hot path of a popular group buy (every order locks the same item rows), so it
    is written to few statements: no look-up of the key before writing (the unique constraint
    on ``(group_buy, household, idempotency_key)`` catches a retry, and only then is the first
    order fetched), one ``UPDATE`` for all the counters, and the item locks taken last so they
    are held for the check and the counter update only.
    """
    clean = _clean_quantities(quantities)
    key = clean_idempotency_key(idempotency_key)
    if delivery_mode not in DeliveryMode.values:
        raise ValidationError({"delivery_mode": ["不是可选值之一"]})
    if household.building.compound_id != group_buy.compound_id:
        raise ValidationError({"household": ["只能订本小区的团购"]})
    if delivery_mode == DeliveryMode.PICKUP:
        require_may_go_out(household, field="delivery_mode")
    try:
        # A savepoint when called inside a transaction (the API's idempotency record), so a
        # refused order leaves the caller's transaction usable for the look-up below.
        with transaction.atomic():
            return _order_write(
                actor=actor,
                group_buy=group_buy,
                household=household,
                clean=clean,
                delivery_mode=delivery_mode,
                is_proxy=is_proxy,
                proxy_for=proxy_for,
                key=key,
                note=note,
            )
    except (IntegrityError, ValidationError):
        # A retry (or a concurrent retry that committed first) answers with the first order,
        # even if the group buy has closed or sold out since.
        if key:
            existing = (
                Order.objects.filter(group_buy=group_buy, household=household, idempotency_key=key)
                .prefetch_related("lines__item")
                .first()
            )
            if existing is not None:
                return existing, False
        raise


def _order_write(
    *,
    actor,
    group_buy: GroupBuy,
    household: Household,
    clean: dict[int, int],
    delivery_mode: str,
    is_proxy: bool,
    proxy_for: Resident | None,
    key: str,
    note: str,
) -> tuple[Order, bool]:
    items = list(
        GroupBuyItem.objects.filter(group_buy_id=group_buy.pk, pk__in=list(clean))
        .order_by("id")
        .only("id", "name", "unit", "unit_price", "per_household_limit", "total_quantity")
    )
    if len(items) != len(clean):
        raise ValidationError({"items": ["商品不属于该团购"]})
    over = [
        f"{i.name}每户限购{i.per_household_limit}{i.unit}"
        for i in items
        if i.per_household_limit is not None and clean[i.pk] > i.per_household_limit
    ]
    if over:
        raise ValidationError({"items": over})
    order = Order.objects.create(
        neighbourhood_id=group_buy.neighbourhood_id,
        group_buy_id=group_buy.pk,
        household=household,
        building_id=household.building_id,
        delivery_mode=delivery_mode,
        is_proxy=is_proxy,
        placed_by=_user(actor) if is_proxy else None,
        proxy_for=proxy_for,
        total_amount=sum((i.unit_price * clean[i.pk] for i in items), Decimal("0")),
        idempotency_key=key,
        note=(note or "")[:200],
    )
    lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                neighbourhood_id=group_buy.neighbourhood_id,
                order=order,
                item=item,
                quantity=clean[item.pk],
                unit_price=item.unit_price,
            )
            for item in items
        ]
    )
    audit_record(
        actor=actor,
        action="supplies.order_proxy" if is_proxy else "supplies.order_place",
        obj=order,
        changes={
            "group_buy": group_buy.pk,
            "items": {str(k): v for k, v in clean.items()},
            "proxy_for": proxy_for.pk if proxy_for else None,
        },
    )
    # The guard, last so the hot rows are locked as briefly as possible: one conditional UPDATE
    # per item, in id order (two orders cannot deadlock). Each locks its row, re-reads the
    # latest counter and adds the quantity only if it still fits; the check constraint on
    # GroupBuyItem backs it up.
    for item in items:
        qty = clean[item.pk]
        fits = GroupBuyItem.objects.filter(pk=item.pk).filter(
            Q(total_quantity__isnull=True) | Q(ordered_quantity__lte=F("total_quantity") - qty)
        )
        if not fits.update(ordered_quantity=F("ordered_quantity") + qty):
            raise _sold_out_error(clean, item.name)
    # Read after the row locks, in its own statement (so its snapshot is taken after any wait):
    # closing and cancelling lock the items too, so one that committed meanwhile is seen here,
    # and one that comes later waits for this order. (Reading the status earlier under a
    # shared lock on the group buy row would let a stream of orders starve the close.)
    status = GroupBuy.objects.filter(pk=group_buy.pk).order_by().values_list("status", flat=True).get()
    if status != S.OPEN:
        raise ValidationError(f"该团购{GroupBuyStatus(status).label},不能下单")
    # The household's limit counts its earlier orders; read after the row locks above, so a
    # concurrent order of the same household that committed first is counted.
    limited = [i for i in items if i.per_household_limit is not None]
    if limited:
        had = dict(
            OrderLine.objects.filter(
                order__household=household, order__status=OrderStatus.ACTIVE, item__in=[i.pk for i in limited]
            )
            .exclude(order=order)
            .values_list("item_id")
            .annotate(n=Sum("quantity"))
            .order_by()
        )
        over = [
            f"{i.name}每户限购{i.per_household_limit}{i.unit}"
            for i in limited
            if had.get(i.pk, 0) + clean[i.pk] > i.per_household_limit
        ]
        if over:
            raise ValidationError({"items": over})
    order._prefetched_objects_cache = {"lines": lines}
    return order, True


def _sold_out_error(clean: dict[int, int], name: str = "") -> SoldOutError:
    """409's message: what is left of each item asked for more than is left (read, not locked)."""
    rows = (
        GroupBuyItem.objects.filter(pk__in=list(clean))
        .order_by("id")
        .values_list("pk", "name", "unit", "total_quantity", F("total_quantity") - F("ordered_quantity"))
    )
    messages = [
        f"{item_name}只剩{max(left, 0)}{unit}"
        for pk, item_name, unit, total, left in rows
        if total is not None and left is not None and clean[pk] > left
    ]
    return SoldOutError({"items": messages or [f"{name or '商品'}已订完"]})


# A tiny transaction that writes WAL (a transactional logical message: no table, any wal_level)
# and commits synchronously: when it returns, every commit before it is on disk, including an
# asynchronously committed order of this connection. Nobody is told "ordered" before that.
WAIT_FOR_FLUSH = "SELECT pg_logical_emit_message(true, 'jiayuan', 'flush')"
# The PostgreSQL types of ``order_place_fast``'s parameters, in order (its PREPAREd form).
ORDER_PARAM_TYPES = (
    "bigint[]",
    "int[]",
    "bigint",
    "bigint",
    "text",
    "bigint",
    "bigint",
    "text",
    "text",
    "text",
    "timestamptz",
    "bigint",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
)


def order_place_fast(
    *,
    actor: str,
    group_buy_id: int,
    household: Household,
    quantities: dict[Any, Any],
    delivery_mode: str = DeliveryMode.DOOR,
    idempotency_key: str = "",
) -> Order | None:
    """A household's own order in ONE statement, in autocommit (PostgreSQL; ADR 0019), or ``None``
    when the caller must take ``order_place``, which gives the exact answer.

    ``order_place`` holds the hot item rows from its counter ``UPDATE`` to its ``COMMIT``: three
    round trips during which every other order of the same group buy waits, and on a busy machine
    the process holding them may be descheduled in between. Here the locks live only while
    PostgreSQL runs one statement of data-modifying CTEs:

    - ``g``: the group buy, open and in the household's compound, ``FOR SHARE``: a close or cancel
      (``FOR NO KEY UPDATE`` on it) waits for the orders under way, and an order that waited for a
      close re-reads the row and finds it closed (no row: nothing is written);
    - ``it``: the ordered items of that group buy, read without a lock; an item with a
      per-household limit is not taken here (its check needs the household's earlier orders read
      after the lock: ``order_place`` does it); unless every item asked for is there, nothing is
      written;
    - ``lk`` (run last): the item rows, locked in id order (two orders cannot deadlock), so they
      are held only from the counter update to the end of the statement;
    - ``u``: the counters, unguarded: an order that would oversell breaks the check constraint
      ``sup_item_no_oversell`` and the whole statement is undone: ``SoldOutError`` (409), with
      what is left;
    - ``o``, ``l``, ``a``: the order, its lines and its audit event (as ``audit_record`` writes
      it); a replayed idempotency key breaks ``sup_order_idempotency`` and the whole statement is
      undone: the first order is returned.

    Durability without a queue at the disk: the statement commits with ``synchronous_commit``
    off (``SET LOCAL``, this transaction only, so PgBouncer's transaction mode is fine), which
    releases the item rows without waiting for the WAL flush; the answer is given only after
    ``WAIT_FOR_FLUSH``, sent in the same round trip, committed synchronously, i.e. once the
    order is on disk. A crash in between loses an order nobody was told about (with its counters
    and audit event: one transaction); the client's retry with its key places it again.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block or delivery_mode != DeliveryMode.DOOR:
        return None
    if not 0 < group_buy_id <= MAX_ID or connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        return None  # (several statements in one query need psycopg's client-side binding, Django's default)
    try:
        clean = _clean_quantities(quantities)
        key = clean_idempotency_key(idempotency_key)
    except ValidationError:
        return None
    building = household.building
    ctx = context.current()
    now = timezone.now()
    ids = sorted(clean)
    qn = connection.ops.quote_name
    items_t, order_t = qn(GroupBuyItem._meta.db_table), qn(Order._meta.db_table)
    sql = (
        "WITH r (item_id, qty) AS (SELECT * FROM unnest(%s::bigint[], %s::int[])), "  # noqa: S608
        f"g AS (SELECT id, neighbourhood_id FROM {qn(GroupBuy._meta.db_table)} "
        "WHERE id = %s AND compound_id = %s AND status = %s FOR SHARE), "
        # The items as asked, read without a lock (as order_place reads them).
        f"it AS (SELECT i.id, i.name, i.unit_price, r.qty FROM {items_t} i JOIN r ON r.item_id = i.id "
        "WHERE i.group_buy_id = (SELECT id FROM g) AND i.per_household_limit IS NULL), "
        f"o AS (INSERT INTO {order_t} (neighbourhood_id, group_buy_id, household_id, building_id, status, "
        "delivery_mode, is_proxy, placed_by_id, proxy_for_id, total_amount, paid, idempotency_key, note, created_at) "
        "SELECT g.neighbourhood_id, g.id, %s, %s, %s, %s, false, NULL, NULL, "
        "(SELECT sum(it.unit_price * it.qty) FROM it), false, %s, '', %s FROM g "
        "WHERE (SELECT count(*) FROM it) = %s RETURNING id, total_amount), "
        f"l AS (INSERT INTO {qn(OrderLine._meta.db_table)} (neighbourhood_id, order_id, item_id, quantity, unit_price) "
        "SELECT g.neighbourhood_id, o.id, it.id, it.qty, it.unit_price FROM o, g, it ORDER BY it.id), "
        f"a AS (INSERT INTO {qn(AuditEvent._meta.db_table)} (created_at, actor_id, actor_label, action, object_type, "
        "object_id, object_repr, neighbourhood_id, changes, ip, user_agent, channel) "
        "SELECT %s, NULL, %s, 'supplies.order_place', %s, o.id::text, left('#' || o.id || %s, 200), "
        "g.neighbourhood_id, %s::jsonb, %s, %s, %s FROM o, g), "
        # Last (u is read by nobody, so it runs after the query above): the hot rows, locked in id
        # order (no deadlock), held from here to the end of the statement only.
        f"lk AS (SELECT i.id, it.qty FROM {items_t} i JOIN it ON it.id = i.id WHERE EXISTS (SELECT 1 FROM o) "
        "ORDER BY i.id FOR UPDATE OF i), "
        f"u AS (UPDATE {items_t} i SET ordered_quantity = i.ordered_quantity + lk.qty FROM lk WHERE i.id = lk.id) "
        "SELECT o.id, o.total_amount, it.id, it.name, it.qty, it.unit_price FROM o, it ORDER BY it.id"
    )
    params = [
        ids,
        [clean[i] for i in ids],
        group_buy_id,
        building.compound_id,
        S.OPEN,
        household.pk,
        household.building_id,
        OrderStatus.ACTIVE,
        delivery_mode,
        key,
        now,
        len(ids),
        now,
        str(actor)[:150],
        Order._meta.label_lower,
        f" {building.name} {household.label}",
        json.dumps({"group_buy": group_buy_id, "items": {str(k): v for k, v in clean.items()}, "proxy_for": None}),
        ctx.ip,
        ctx.user_agent,
        ctx.channel,
    ]
    try:
        # Planned once per session (ADR 0023): EXECUTE of the statement PREPAREd with its types;
        # behind PgBouncer (nothing kept on a session) the statement itself, planned each time.
        name = rawsql.session_prepared(connection, "jy_order", ORDER_PARAM_TYPES, sql)
        statement = f"EXECUTE {name}({', '.join(['%s'] * len(params))})" if name else sql
        with connection.cursor() as cur:
            # One round trip, two implicit transactions (a COMMIT inside a multi-statement query
            # ends the first): the order's commit does not wait for the WAL to reach the disk, so
            # the item rows are free as soon as its statement ends; the second waits for the flush
            # without holding any lock, so concurrent orders share one flush (group commit)
            # instead of queueing one disk flush each. An error skips the rest and rolls back.
            cur.execute(f"SET LOCAL synchronous_commit TO OFF; {statement}; COMMIT; {WAIT_FOR_FLUSH}", params)
            cur.nextset()
            rows = cur.fetchall()
    except ProgrammingError:
        rawsql.session_prepared_forget(connection)  # the session lost it: prepared anew next time
        return None
    except IntegrityError as exc:
        # The whole statement was undone. A replayed key is answered with the first order (even
        # if the group buy has sold out or closed since); an order that does not fit is a 409 at
        # once (no transaction holding the item rows to find it out again).
        if key:
            existing = (
                Order.objects.filter(group_buy_id=group_buy_id, household=household, idempotency_key=key)
                .prefetch_related("lines__item")
                .first()
            )
            if existing is not None:
                return existing
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") == "sup_item_no_oversell":
            raise _sold_out_error(clean) from exc
        return None
    except DataError:
        return None  # an amount out of range: order_place answers it as it always has
    if not rows:
        return None
    order = Order(
        id=rows[0][0],
        neighbourhood_id=household.neighbourhood_id,
        group_buy_id=group_buy_id,
        household=household,
        building_id=household.building_id,
        status=OrderStatus.ACTIVE,
        delivery_mode=delivery_mode,
        total_amount=rows[0][1],
        idempotency_key=key,
        created_at=now,
    )
    order._state.adding = False
    order._prefetched_objects_cache = {
        "lines": [
            OrderLine(
                order=order,
                item=GroupBuyItem(id=item_id, group_buy_id=group_buy_id, name=name, unit_price=price),
                quantity=qty,
                unit_price=price,
            )
            for _o, _t, item_id, name, qty, price in rows
        ]
    }
    return order


def order_place_by_staff(
    *,
    actor,
    group_buy: GroupBuy,
    household: Household,
    quantities: dict[Any, Any],
    resident: Resident | None = None,
    delivery_mode: str = DeliveryMode.DOOR,
    idempotency_key: str = "",
    note: str = "",
) -> tuple[Order, bool]:
    """A proxy order. Building leaders (PROXY_ORDER) order for residents tagged 无智能手机 in
    their buildings; group-buy managers may order for any household in their scope."""
    manages = can(actor, Action.MANAGE_GROUP_BUYS, household)
    if not manages:
        if not can(actor, Action.PROXY_ORDER, household):
            raise ValidationError({"household": ["无权为该住户代下单"]})
        if resident is None:
            raise ValidationError({"resident": ["请选择代谁下单(无智能手机的居民)"]})
    if resident is not None:
        if resident.household_id != household.pk:
            raise ValidationError({"resident": ["该居民不属于此住户"]})
        if not manages and not resident.tag_rows.filter(tag=Tag.NO_SMARTPHONE).exists():
            raise ValidationError({"resident": ["只能为标记为“无智能手机”的居民代下单"]})
    return order_place(
        actor=actor,
        group_buy=group_buy,
        household=household,
        quantities=quantities,
        delivery_mode=delivery_mode,
        is_proxy=True,
        proxy_for=resident,
        idempotency_key=idempotency_key,
        note=note,
    )


@transaction.atomic
def order_cancel(*, actor, order: Order) -> Order:
    """Cancel an order while the group buy is still open; its quantities go back."""
    lines = list(order.lines.all())
    items = list(GroupBuyItem.objects.select_for_update().filter(pk__in=[ln.item_id for ln in lines]).order_by("id"))
    order = Order.objects.select_for_update().select_related("group_buy").get(pk=order.pk)
    if order.status != OrderStatus.ACTIVE:
        raise ValidationError("订单已经取消")
    if order.group_buy.status != S.OPEN:
        raise ValidationError("已截单,不能取消订单;如需退款请登记退款")
    for line in lines:
        GroupBuyItem.objects.filter(pk=line.item_id).update(ordered_quantity=F("ordered_quantity") - line.quantity)
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    audit_record(actor=actor, action="supplies.order_cancel", obj=order, changes={"items": len(items)})
    return order


@transaction.atomic
def order_set_paid(*, actor, order: Order, paid: bool) -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.paid != paid:
        order.paid = paid
        order.save(update_fields=["paid"])
        audit_record(actor=actor, action="supplies.order_paid" if paid else "supplies.order_unpaid", obj=order)
    return order


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


# Donations and stock -----------------------------------------------------------------------


def _positive_int(value, field: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: ["应为正整数"]}) from exc
    if n <= 0:
        raise ValidationError({field: ["应为正整数"]})
    return n


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


# Appointments ------------------------------------------------------------------------------


@transaction.atomic
def campaign_create(
    *,
    actor,
    neighbourhood: Neighbourhood,
    title: str,
    item_name: str,
    quota_per_household: int,
    voucher_prefix: str = "KZ",
) -> AppointmentCampaign:
    if not (title or "").strip():
        raise ValidationError({"title": ["请填写名称"]})
    if not (item_name or "").strip():
        raise ValidationError({"item_name": ["请填写物资"]})
    quota = _positive_int(quota_per_household, "quota_per_household")
    prefix = "".join(ch for ch in (voucher_prefix or "KZ").upper() if ch.isalnum())[:8] or "KZ"
    campaign = AppointmentCampaign.objects.create(
        neighbourhood=neighbourhood,
        title=title.strip()[:100],
        item_name=item_name.strip()[:100],
        quota_per_household=quota,
        voucher_prefix=prefix,
        created_by=_user(actor),
    )
    audit_record(actor=actor, action="supplies.campaign_create", obj=campaign, changes={"quota": quota})
    return campaign


@transaction.atomic
def window_create(
    *, actor, campaign: AppointmentCampaign, place: str, starts_at: dt.datetime, ends_at: dt.datetime, capacity: int
) -> AppointmentWindow:
    if not (place or "").strip():
        raise ValidationError({"place": ["请填写领取地点"]})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["结束时间应晚于开始时间"]})
    cap = _positive_int(capacity, "capacity")
    window = AppointmentWindow.objects.create(
        neighbourhood_id=campaign.neighbourhood_id,
        campaign=campaign,
        place=place.strip()[:100],
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=cap,
    )
    audit_record(
        actor=actor, action="supplies.window_create", obj=campaign, changes={"window": window.pk, "capacity": cap}
    )
    return window


def booking_create(
    *,
    actor,
    window: AppointmentWindow,
    household: Household,
    quantity: int,
    mode: str = BookingMode.PICKUP,
) -> Booking:
    """Book a scarce item in a window. One booking per household per campaign, within the
    quota; the window row is locked while its capacity is checked and its voucher numbered."""
    qty = _positive_int(quantity, "quantity")
    if mode not in BookingMode.values:
        raise ValidationError({"mode": ["不是可选值之一"]})
    with transaction.atomic():
        w = AppointmentWindow.objects.select_for_update().select_related("campaign").get(pk=window.pk)
        campaign = w.campaign
        if household.neighbourhood_id != w.neighbourhood_id:
            raise ValidationError({"household": ["住户不属于该居民区"]})
        if qty > campaign.quota_per_household:
            raise ValidationError({"quantity": [f"每户限约{campaign.quota_per_household}"]})
        if w.ends_at <= timezone.now():
            raise ValidationError({"window": ["该时段已结束"]})
        if Booking.objects.filter(campaign=campaign, household=household).exists():
            raise ValidationError({"household": ["本户已经预约过,不能重复预约"]})
        if mode == BookingMode.PICKUP:
            require_may_go_out(household, field="mode")
        if w.booked >= w.capacity:
            raise SoldOutError({"window": ["该时段已约满"]})
        w.booked += 1
        w.save(update_fields=["booked"])
        voucher = f"{campaign.voucher_prefix}{timezone.localtime(w.starts_at):%Y%m%d}-{w.pk:03d}-{w.booked:04d}"
        try:
            with transaction.atomic():
                booking = Booking.objects.create(
                    neighbourhood_id=w.neighbourhood_id,
                    campaign=campaign,
                    window=w,
                    household=household,
                    building_id=household.building_id,
                    quantity=qty,
                    voucher=voucher,
                    mode=mode,
                    booked_by=_user(actor),
                )
        except IntegrityError as exc:  # a concurrent booking of the same household won
            raise ValidationError({"household": ["本户已经预约过,不能重复预约"]}) from exc
        audit_record(
            actor=actor,
            action="supplies.booking_create",
            obj=booking,
            changes={"window": w.pk, "household": household.pk, "quantity": qty, "mode": mode},
        )
    return booking


@transaction.atomic
def booking_collect(*, actor, booking: Booking, by_proxy: bool = False) -> Booking:
    """The voucher is handed in and the item handed out. A booking made for the household to
    collect itself is refused if the household may no longer go out (its building was sealed
    since, a member is in home quarantine): a volunteer collects it for them (``by_proxy``),
    which turns the booking into a proxy one."""
    booking = Booking.objects.select_for_update().select_related("household").get(pk=booking.pk)
    if booking.collected_at is not None:
        raise ValidationError("该凭证已经领取")
    before = booking.mode
    if by_proxy:
        booking.mode = BookingMode.PROXY
    elif booking.mode == BookingMode.PICKUP:
        may, reason = household_may_go_out(booking.household)
        if not may:
            raise ValidationError({"mode": [f"{reason}(请由志愿者代领,点“代领”登记)"]})
    booking.collected_at = timezone.now()
    booking.save(update_fields=["collected_at", "mode"])
    audit_record(
        actor=actor,
        action="supplies.booking_collect",
        obj=booking,
        changes={"mode": [before, booking.mode]} if before != booking.mode else {},
    )
    return booking
