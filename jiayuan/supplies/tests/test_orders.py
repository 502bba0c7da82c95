"""Orders: limits, stock, closing, proxy orders, idempotency, sealed buildings, sorting totals,
and no oversell under concurrent orders (PostgreSQL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places
from jiayuan.supplies import selectors, services
from jiayuan.supplies.choices import OrderStatus
from jiayuan.supplies.models import GroupBuyItem, Order
from jiayuan.supplies.tests.conftest import item_ids

pytestmark = pytest.mark.django_db


def test_order_records_lines_amount_and_counts_stock(open_buy, household):
    veg, eggs = item_ids(open_buy)
    order, created = services.order_place(
        actor="h", group_buy=open_buy, household=household, quantities={veg: 2, eggs: 1}
    )
    assert created
    assert order.total_amount == Decimal("161.50")
    assert not order.paid and not order.is_proxy
    assert GroupBuyItem.objects.get(pk=veg).ordered_quantity == 2
    assert AuditEvent.objects.filter(action="supplies.order_place", object_id=str(order.pk)).exists()


def test_per_household_limit_counts_earlier_orders(open_buy, household):
    veg, _eggs = item_ids(open_buy)
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 1})
    with pytest.raises(ValidationError, match="每户限购2"):
        services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 2})


def test_remaining_stock_is_enforced(make_group_buy, leader, head, committee_mode, household, household2):
    gb = make_group_buy(leader, items=[{"name": "大米", "unit_price": "80", "total_quantity": 3}])
    services.group_buy_pick(actor=head, group_buy=gb)
    services.group_buy_open(actor=head, group_buy=gb)
    (rice,) = item_ids(gb)
    services.order_place(actor="h", group_buy=gb, household=household, quantities={rice: 2})
    with pytest.raises(services.SoldOutError, match="只剩1"):
        services.order_place(actor="h", group_buy=gb, household=household2, quantities={rice: 2})
    services.order_place(actor="h", group_buy=gb, household=household2, quantities={rice: 1})
    assert GroupBuyItem.objects.get(pk=rice).remaining == 0


def test_bad_quantities_are_field_errors(open_buy, household):
    veg, _ = item_ids(open_buy)
    for bad in ({}, {veg: 0}, {veg: "x"}, {veg: -1}, {999999: 1}):
        with pytest.raises(ValidationError) as exc:
            services.order_place(actor="h", group_buy=open_buy, household=household, quantities=bad)
        assert "items" in exc.value.message_dict


def test_no_orders_after_closing(open_buy, household, head):
    services.group_buy_close(actor=head, group_buy=open_buy)
    with pytest.raises(ValidationError, match="已截单"):
        services.order_place(actor="h", group_buy=open_buy, household=household, quantities={item_ids(open_buy)[0]: 1})


def test_order_from_another_compound_is_refused(open_buy, neighbourhood):
    other = places.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")
    b = places.building_create(actor=None, compound=other, number="9")
    h = places.household_create(actor=None, building=b, room="101")
    with pytest.raises(ValidationError):
        services.order_place(actor="h", group_buy=open_buy, household=h, quantities={item_ids(open_buy)[0]: 1})


def test_same_idempotency_key_is_stored_once(open_buy, household):
    veg, _ = item_ids(open_buy)
    first, created = services.order_place(
        actor="h", group_buy=open_buy, household=household, quantities={veg: 1}, idempotency_key="k-1"
    )
    again, created_again = services.order_place(
        actor="h", group_buy=open_buy, household=household, quantities={veg: 1}, idempotency_key="k-1"
    )
    assert created and not created_again and first.pk == again.pk
    assert Order.objects.count() == 1
    assert GroupBuyItem.objects.get(pk=veg).ordered_quantity == 1


def test_sealed_building_gets_door_delivery_only(open_buy, household, monkeypatch):
    from jiayuan.control import selectors as control_selectors

    monkeypatch.setattr(control_selectors, "zone_levels", lambda building_ids: dict.fromkeys(building_ids, "sealed"))
    monkeypatch.setattr(selectors, "zone_levels", lambda building_ids: dict.fromkeys(building_ids, "sealed"))
    veg, _ = item_ids(open_buy)
    with pytest.raises(ValidationError) as exc:
        services.order_place(
            actor="h", group_buy=open_buy, household=household, quantities={veg: 1}, delivery_mode="pickup"
        )
    assert "封控" in exc.value.message_dict["delivery_mode"][0]
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 1}, delivery_mode="door")
    sheet = selectors.sorting_sheet(user=open_buy.created_by, group_buy=open_buy)
    assert sheet["buildings"][0]["sealed"]
    assert sheet["buildings"][0]["rows"][0]["mode"] == "door"


def test_pickup_allowed_outside_sealed_buildings(open_buy, household):
    order, _ = services.order_place(
        actor="h",
        group_buy=open_buy,
        household=household,
        quantities={item_ids(open_buy)[0]: 1},
        delivery_mode="pickup",
    )
    assert order.delivery_mode == "pickup"


def test_building_leader_orders_for_a_resident_without_smartphone(
    open_buy, household, building, make_user, make_resident
):
    grandma = make_resident(household, name="王阿婆", tags=["no_smartphone"])
    young = make_resident(household, name="王小明")
    leader_user = make_user(Role.BUILDING_LEADER, building)
    veg, _ = item_ids(open_buy)
    with pytest.raises(ValidationError, match="无智能手机"):
        services.order_place_by_staff(
            actor=leader_user, group_buy=open_buy, household=household, resident=young, quantities={veg: 1}
        )
    with pytest.raises(ValidationError):
        services.order_place_by_staff(actor=leader_user, group_buy=open_buy, household=household, quantities={veg: 1})
    order, _ = services.order_place_by_staff(
        actor=leader_user, group_buy=open_buy, household=household, resident=grandma, quantities={veg: 1}
    )
    assert order.is_proxy and order.placed_by == leader_user and order.proxy_for == grandma
    assert AuditEvent.objects.filter(action="supplies.order_proxy", actor=leader_user).exists()


def test_building_leader_cannot_proxy_order_in_another_building(
    open_buy, household2, building, make_user, make_resident
):
    grandpa = make_resident(household2, name="赵老伯", tags=["no_smartphone"])
    leader_user = make_user(Role.BUILDING_LEADER, building)
    with pytest.raises(ValidationError, match="无权"):
        services.order_place_by_staff(
            actor=leader_user,
            group_buy=open_buy,
            household=household2,
            resident=grandpa,
            quantities={item_ids(open_buy)[0]: 1},
        )


def test_paid_toggle_and_cancel_return_quantities(open_buy, household, head):
    veg, _ = item_ids(open_buy)
    order, _ = services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 2})
    assert services.order_set_paid(actor=head, order=order, paid=True).paid
    services.order_cancel(actor=head, order=order)
    assert GroupBuyItem.objects.get(pk=veg).ordered_quantity == 0
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_sorting_totals_equal_order_totals(open_buy, building, building2, head):
    veg, eggs = item_ids(open_buy)
    households = [
        places.household_create(actor=None, building=b, unit="1", room=f"{n}0{n}")
        for b in (building, building2)
        for n in range(1, 6)
    ]
    for n, h in enumerate(households):
        services.order_place(actor="h", group_buy=open_buy, household=h, quantities={veg: 1 + n % 2, eggs: n % 4})
    # The same household twice: one row, summed.
    services.order_place(actor="h", group_buy=open_buy, household=households[0], quantities={eggs: 1})
    sheet = selectors.sorting_sheet(user=head, group_buy=open_buy)
    totals = selectors.order_totals(group_buy=open_buy)
    assert dict(zip([i.pk for i in sheet["items"]], sheet["totals"], strict=True)) == {
        veg: totals[veg],
        eggs: totals[eggs],
    }
    for block in sheet["buildings"]:
        assert block["totals"] == [sum(r["quantities"][n] for r in block["rows"]) for n in range(2)]
    assert sum(b["households"] for b in sheet["buildings"]) == 10
    assert sheet["amount"] == sum(o.total_amount for o in Order.objects.all())


def test_sorting_sheet_of_a_building_leader_shows_only_their_building(
    open_buy, household, household2, building, make_user
):
    veg, _ = item_ids(open_buy)
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 1})
    services.order_place(actor="h", group_buy=open_buy, household=household2, quantities={veg: 2})
    sheet = selectors.sorting_sheet(user=make_user(Role.BUILDING_LEADER, building), group_buy=open_buy)
    assert [b["building"].pk for b in sheet["buildings"]] == [building.pk]
    assert sheet["totals"] == [1, 0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_never_oversell(make_group_buy, make_leader, head, neighbourhood, building):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    settings = services.settings_for(neighbourhood.pk)
    settings.selection_mode = "committee"
    settings.save()
    households = [
        places.household_create(actor=None, building=building, unit="2", room=str(100 + n)) for n in range(40)
    ]
    leader = make_leader(households[0])
    gb = make_group_buy(
        leader,
        items=[
            {"name": "口罩", "unit_price": "1", "total_quantity": 25, "per_household_limit": 3},
            {"name": "米", "unit_price": "50", "total_quantity": 30},
        ],
    )
    services.group_buy_pick(actor=head, group_buy=gb)
    services.group_buy_open(actor=head, group_buy=gb)
    mask, rice = item_ids(gb)
    barrier = threading.Barrier(len(households))
    outcomes: list[str] = []

    def order(h, n):
        try:
            barrier.wait()
            # Items in both orders, so lock ordering matters (no deadlock).
            qty = {rice: 1, mask: 1 + n % 3} if n % 2 else {mask: 1 + n % 3, rice: 1}
            services.order_place(actor="h", group_buy=gb, household=h, quantities=qty)
            outcomes.append("ok")
        except services.SoldOutError:
            outcomes.append("sold_out")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=order, args=(h, n)) for n, h in enumerate(households)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == len(households)
    totals = selectors.order_totals(group_buy=gb)
    assert totals[mask] <= 25 and totals[rice] <= 30
    assert GroupBuyItem.objects.get(pk=mask).ordered_quantity == totals[mask]
    assert outcomes.count("ok") == Order.objects.filter(group_buy=gb).count()
    assert "sold_out" in outcomes  # the limit was actually reached


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_store_one_order(open_buy_tx, household):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    gb = open_buy_tx
    veg, _ = item_ids(gb)
    barrier = threading.Barrier(6)

    def retry():
        try:
            barrier.wait()
            services.order_place(
                actor="h", group_buy=gb, household=household, quantities={veg: 1}, idempotency_key="same"
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Order.objects.filter(group_buy=gb).count() == 1
    assert GroupBuyItem.objects.get(pk=veg).ordered_quantity == 1


@pytest.fixture
def open_buy_tx(make_group_buy, leader, head, neighbourhood):
    settings = services.settings_for(neighbourhood.pk)
    settings.selection_mode = "committee"
    settings.save()
    gb = make_group_buy(leader)
    services.group_buy_pick(actor=head, group_buy=gb)
    return services.group_buy_open(actor=head, group_buy=gb)
