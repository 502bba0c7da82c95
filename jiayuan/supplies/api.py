"""Supplies endpoints: group buys, orders (household link token or staff), sorting, appointments.

Orders and appointments accept either a staff login (bearer token or session; the household is
named by id and must be in the caller's scope) or a household's link token in the body (the
token itself authenticates; the household is the link's). A retried order with the same
``idempotency_key`` is stored once and answered with the first attempt's order (the order's own
unique key); a retried booking replays its first answer (``run_idempotent``).
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.pagination import paginate
from pydantic import Field

from jiayuan.accounts.services import household_link_resolve
from jiayuan.core.api import API_AUTH, Id, Pagination, answers
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.masking import mask_name
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.places.models import Household
from jiayuan.supplies import selectors, services
from jiayuan.supplies.choices import READY, BookingMode, DeliveryMode, GroupBuyStatus
from jiayuan.supplies.models import AppointmentWindow, GroupBuy

router = Router(tags=["supplies"])


class ItemOut(Schema):
    id: int
    name: str
    spec: str
    unit: str
    unit_price: Decimal
    per_household_limit: int | None
    total_quantity: int | None
    remaining: int | None


class GroupBuyOut(Schema):
    id: int
    title: str
    category: str
    status: str = Field(description="状态;消杀后静置完成时为 ready")
    status_label: str
    compound_id: int
    compound: str
    leader: str
    supplier: str
    brand: str
    delivery_date: dt.date
    ready_at: dt.datetime | None
    orders: int
    items: list[ItemOut]

    @staticmethod
    def resolve_status(obj):
        return obj.effective_status

    @staticmethod
    def resolve_status_label(obj):
        return obj.effective_status_label

    @staticmethod
    def resolve_compound(obj):
        return obj.compound.name

    @staticmethod
    def resolve_leader(obj):
        return mask_name(obj.leader.name)

    @staticmethod
    def resolve_orders(obj):
        return getattr(obj, "order_count", 0)

    @staticmethod
    def resolve_items(obj):
        return list(obj.items.all())


class GroupBuyFilters(Schema):
    status: str | None = Field(None, description="proposed/selected/open/closed/arrived/disinfected/ready/sorted/…")


@router.get("/group-buys", response=answers(list[GroupBuyOut]), summary="团购列表")
@paginate(Pagination)
def group_buys_list(request, filters: Query[GroupBuyFilters]):
    status = filters.status or ""
    allowed = (*GroupBuyStatus.values, READY)
    if status and status not in allowed:
        raise ValidationError({"status": ["不是可选值之一: " + ", ".join(allowed)]})
    return selectors.group_buy_list(user=request.auth, status=status)


class OrderItemIn(Schema):
    item: int = Field(ge=1, le=services.MAX_ID)
    quantity: int = Field(ge=1, le=services.MAX_QUANTITY)


class OrderIn(Schema):
    household: Id | None = Field(None, description="住户 id(工作人员代下单)")
    token: str | None = Field(None, max_length=500, description="住户链接令牌(住户自己下单)")
    resident: Id | None = Field(None, description="代谁下单(楼组长代无智能手机的居民)")
    items: list[OrderItemIn] = Field(min_length=1, max_length=50)
    delivery_mode: DeliveryMode = DeliveryMode.DOOR
    idempotency_key: str = Field("", max_length=200)


class OrderLineOut(Schema):
    item: int
    name: str
    quantity: int
    unit_price: Decimal


class OrderOut(Schema):
    id: int
    group_buy: int
    household: int
    building_id: int
    is_proxy: bool
    delivery_mode: str
    total_amount: str
    paid: bool
    lines: list[OrderLineOut]


def _staff_user(request):
    """The caller's user from a bearer token or the session, or None (this endpoint has auth=None)."""
    for auth in API_AUTH:
        user = auth(request)
        if user:
            return user
    return None


def _caller(request, *, token: str | None, household_id: int | None, actions: tuple[str, ...]):
    """``(user or None, household, actor)`` from a link token or a staff login."""
    if token:
        link = household_link_resolve(token)
        if link is None:
            raise AuthenticationError
        return None, link.household, services.link_actor(link)
    user = _staff_user(request)
    if user is None:
        raise AuthenticationError
    if household_id is None:
        raise ValidationError({"household": ["请指定住户"]})
    q = Q()
    for action in actions:
        q |= Q(pk__in=restrict(Household.objects.all(), user, action).values("pk"))
    household = get_scoped_or_404(
        Household.objects.filter(q).select_related("building"), user, Action.VIEW_SUPPLIES, pk=household_id
    )
    return user, household, user


def _order_body(order) -> dict:
    return {
        "id": order.pk,
        "group_buy": order.group_buy_id,
        "household": order.household_id,
        "building_id": order.building_id,
        "is_proxy": order.is_proxy,
        "delivery_mode": order.delivery_mode,
        "total_amount": str(order.total_amount),
        "paid": order.paid,
        "lines": [
            {"item": ln.item_id, "name": ln.item.name, "quantity": ln.quantity, "unit_price": str(ln.unit_price)}
            for ln in sorted(order.lines.all(), key=lambda ln: ln.item_id)
        ],
    }


@router.post(
    "/group-buys/{group_buy_id}/orders",
    auth=None,
    response=answers({201: OrderOut}, 403, 404, 409),
    summary="下单(住户链接令牌或工作人员代下单)",
)
def order_create(request, group_buy_id: int, payload: OrderIn):
    user, household, actor = _caller(
        request,
        token=payload.token,
        household_id=payload.household,
        actions=(Action.PROXY_ORDER, Action.MANAGE_GROUP_BUYS),
    )
    quantities: dict[int, int] = {}
    for row in payload.items:
        quantities[row.item] = quantities.get(row.item, 0) + row.quantity
    if user is None:
        # The household's own order in one statement (ADR 0019); sold out is a 409 and a replayed
        # key the first order at once; anything else unusual (a closed or unknown group buy, a
        # limited item, pickup) takes the path below, which gives the exact answer.
        try:
            order = services.order_place_fast(
                actor=actor,
                group_buy_id=group_buy_id,
                household=household,
                quantities=quantities,
                delivery_mode=payload.delivery_mode,
                idempotency_key=payload.idempotency_key,
            )
        except services.SoldOutError as exc:
            raise HttpError(409, "库存不足:" + ";".join(exc.messages)) from exc
        if order is not None:
            return Status(201, _order_body(order))
        gb = (
            GroupBuy.objects.filter(pk=group_buy_id, compound_id=household.building.compound_id)
            .only("id", "neighbourhood_id", "compound_id", "status")
            .first()
        )
        if gb is None:
            raise Http404
    else:
        gb = selectors.group_buy_get(user=user, group_buy_id=group_buy_id)
    # Idempotency is the order's own: (group buy, household, key) is unique, and a retry is
    # answered with the order the first attempt stored. This replaces core's run_idempotent
    # here, which would store the same fact a second time, in the same transaction, while the
    # item rows are locked (two more statements on the hottest path).
    key = services.clean_idempotency_key(payload.idempotency_key)
    try:
        if user is None:
            order, _created = services.order_place(
                actor=actor,
                group_buy=gb,
                household=household,
                quantities=quantities,
                delivery_mode=payload.delivery_mode,
                idempotency_key=key,
            )
        else:
            resident = None
            if payload.resident is not None:
                resident = household.residents.filter(pk=payload.resident).first()
                if resident is None:
                    raise ValidationError({"resident": ["该居民不属于此住户"]})
            order, _created = services.order_place_by_staff(
                actor=user,
                group_buy=gb,
                household=household,
                resident=resident,
                quantities=quantities,
                delivery_mode=payload.delivery_mode,
                idempotency_key=key,
            )
    except services.SoldOutError as exc:
        raise HttpError(409, "库存不足:" + ";".join(exc.messages)) from exc
    return Status(201, _order_body(order))


class SortingItemOut(Schema):
    item: int
    name: str
    unit: str
    quantity: int


class SortingBuildingOut(Schema):
    building_id: int
    building: str
    zone: str
    door_delivery_only: bool
    households: int
    orders: int
    amount: str
    totals: list[SortingItemOut]
    delivered: bool


class SortingOut(Schema):
    group_buy: int
    status: str
    buildings: list[SortingBuildingOut]
    totals: list[SortingItemOut]


def _totals(cells) -> list[dict]:
    return [{"item": i.pk, "name": i.name, "unit": i.unit, "quantity": q} for i, q in cells]


@router.get("/group-buys/{group_buy_id}/sorting", response=answers(SortingOut, 404), summary="分拣单(按楼栋汇总)")
def sorting(request, group_buy_id: int):
    gb = selectors.group_buy_get(user=request.auth, group_buy_id=group_buy_id)
    sheet = selectors.sorting_sheet(user=request.auth, group_buy=gb)
    return {
        "group_buy": gb.pk,
        "status": gb.effective_status,
        "buildings": [
            {
                "building_id": b["building"].pk,
                "building": b["building"].name,
                "zone": b["zone"],
                "door_delivery_only": b["sealed"],
                "households": b["households"],
                "orders": b["orders"],
                "amount": str(b["amount"]),
                "totals": _totals(b["cells"]),
                "delivered": b["delivery"] is not None,
            }
            for b in sheet["buildings"]
        ],
        "totals": _totals(sheet["total_cells"]),
    }


class BookingIn(Schema):
    window: Id
    household: Id | None = None
    token: str | None = Field(None, max_length=500)
    quantity: int = Field(ge=1, le=1000)
    mode: BookingMode = BookingMode.PICKUP
    idempotency_key: str = Field("", max_length=200)


class BookingOut(Schema):
    id: int
    voucher: str
    window: int
    household: int
    quantity: int
    mode: str


@router.post(
    "/appointments",
    auth=None,
    response=answers({201: BookingOut}, 403, 404, 409),
    summary="稀缺物资预约(住户链接令牌或工作人员代约)",
)
def appointment_create(request, payload: BookingIn):
    _user, household, actor = _caller(
        request,
        token=payload.token,
        household_id=payload.household,
        actions=(Action.MANAGE_APPOINTMENTS, Action.PROXY_ORDER),
    )
    window = AppointmentWindow.objects.filter(pk=payload.window, neighbourhood_id=household.neighbourhood_id).first()
    if window is None:
        raise Http404

    def book():
        try:
            booking = services.booking_create(
                actor=actor, window=window, household=household, quantity=payload.quantity, mode=payload.mode
            )
        except services.SoldOutError as exc:
            raise HttpError(409, ";".join(exc.messages)) from exc
        body = {
            "id": booking.pk,
            "voucher": booking.voucher,
            "window": window.pk,
            "household": household.pk,
            "quantity": booking.quantity,
            "mode": booking.mode,
        }
        return 201, body

    key = services.clean_idempotency_key(payload.idempotency_key)
    status, body = run_idempotent(scope=f"supplies.booking:{household.pk}", key=key, fn=book)
    return Status(status, body)
